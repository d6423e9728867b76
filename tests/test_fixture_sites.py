"""The CMS fixture sites (tests/fixtures/sites/) crawled end to end, and read page by page.

End to end: `countywatch crawl` as a subprocess over every fixture site served locally; every
article is stored with its title and date, nothing is counted as blocked, and the pages only a
CMS-specific strategy finds (Hanweb's dataproxy group, TRS's pages from createPageHTML, the
site-cluster script pager, DedeCMS's list_12_2.html, the GBK list's 下一页, the advertised feed)
were fetched, and the notices that give no date of their own are stored with the date their list
shows inside the link.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from sqlalchemy import select

from core.urls import canonicalize_url
from crawler.discovery import Form
from crawler.discovery.registry import list_page, read_list
from crawler.html.decoding import decode_html
from crawler.runtime.middlewares.blocked import looks_like_challenge
from replica.network import crawl_settings
from storage.db import make_engine, make_session_factory
from storage.models import Article
from tests.fixture_sites import SITES, FixtureSites, load_site

CRAWL = [sys.executable, "-c", "from countywatch.cli import main; main()", "crawl", "--json"]


def _page(family: str, path: str, form: Form = ()) -> tuple[str, str]:
    """The decoded page at `path` of a fixture site (POSTed `form` if given), and its URL on a.gov.cn."""
    site = load_site(SITES / family)
    served = site.find(path, "POST", urlencode(form)) if form else site.find(path)
    assert served is not None, path
    charset = served.content_type.partition("charset=")[2] or None
    return decode_html(served.body, http_charset=charset).text, "http://a.gov.cn" + path


PROXY = "http://a.gov.cn/module/web/jpage/dataproxy.jsp"
ZHENAN = "镇安县人民政府"


def jpage_form(column: str, unit: str) -> Form:
    """The form jpage POSTs for a column's groups."""
    return (
        ("col", "1"),
        ("appid", "1"),
        ("webid", "18"),
        ("path", "/"),
        ("columnid", column),
        ("sourceContentType", "1"),
        ("unitid", unit),
        ("webname", ZHENAN),
        ("permissiontype", "0"),
    )


def test_hanweb_records_and_the_dataproxy_group_as_a_post() -> None:
    html, url = _page("hanweb", "/col/col1234/index.html")
    reading = read_list(html, url)
    assert [link.url.rsplit("_", 1)[1] for link in reading.links] == [
        "901245.html",
        "901198.html",
        "900876.html",
    ]
    assert [link.date for link in reading.links] == ["2024-06-20", "2024-06-12", "2024-05-28"]
    # The paging in the query string, the column in the form, as jpage asks.
    assert reading.discovery.next_page == PROXY + "?startrecord=4&endrecord=6&perpage=1"
    assert reading.discovery.next_form == jpage_form("1234", "27745")
    assert "hanweb" in reading.discovery.recognised


def test_a_short_dataproxy_group_is_the_last() -> None:
    form = jpage_form("1234", "27745")
    html, url = _page("hanweb", "/module/web/jpage/dataproxy.jsp?startrecord=4&endrecord=6&perpage=1", form)
    reading = read_list(html, url, form=form)
    assert len(reading.links) == 2
    assert reading.discovery.next_page is None


def test_dataproxy_answers_posts_only() -> None:
    site = load_site(SITES / "hanweb")
    path = "/module/web/jpage/dataproxy.jsp?startrecord=4&endrecord=6&perpage=1"
    assert site.find(path) is None and site.routes(path)  # a GET: 405 from the fixture server
    assert site.find(path, "POST", urlencode(jpage_form("1234", "27745"))) is not None
    assert site.find(path, "POST", urlencode(jpage_form("1236", "27760"))) is None


def test_a_jpage_unit_without_records_posts_for_every_group() -> None:
    """Parameters only in the proxy's script tag and the jpage call: the first group is POSTed too."""
    html, url = _page("hanweb", "/col/col1236/index.html")
    reading = read_list(html, url)
    assert reading.links == [] and "hanweb" in reading.discovery.recognised
    form = jpage_form("1236", "27760")
    assert (reading.discovery.next_page, reading.discovery.next_form) == (
        PROXY + "?startrecord=1&endrecord=2&perpage=2",
        form,
    )
    html, url = _page("hanweb", "/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=2&perpage=2", form)
    reading = read_list(html, url, form=form)
    assert [link.date for link in reading.links] == ["2024-06-25", "2024-06-14"]
    # The next group is asked for the way this one was: the same form, the next records.
    assert (reading.discovery.next_page, reading.discovery.next_form) == (
        PROXY + "?startrecord=3&endrecord=4&perpage=2",
        form,
    )
    html, url = _page("hanweb", "/module/web/jpage/dataproxy.jsp?startrecord=3&endrecord=4&perpage=2", form)
    assert read_list(html, url, form=form).discovery.next_page is None


def test_numbered_pager_followed_from_a_first_page_without_the_parameter() -> None:
    html, url = _page("hanweb", "/col/col1235/index.html")
    assert (
        read_list(html, url).discovery.next_page
        == "http://a.gov.cn/col/col1235/index.html?uid=27801&pageNum=2"
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/xxgk/tzgg/index.html", "http://a.gov.cn/xxgk/tzgg/index_1.html"),
        ("/xxgk/tzgg/index_1.html", None),
        ("/jyzx/jydt/xlist.shtml", "http://a.gov.cn/jyzx/jydt/xlist_1.shtml"),
        ("/jyzx/jydt/xlist_1.shtml", None),
    ],
)
def test_trs_pagers_in_variables_and_page_div_form(path: str, expected: str | None) -> None:
    html, url = _page("trs", path)
    discovery = read_list(html, url).discovery
    assert discovery.next_page == expected
    assert ("trs" in discovery.recognised) == (expected is not None)


def test_site_cluster_script_pager_and_advertised_feeds() -> None:
    html, url = _page("site_cluster", "/zwgk/tzgg/index.html")
    discovery = read_list(html, url).discovery
    assert discovery.next_page == "http://a.gov.cn/zwgk/tzgg/index_2.html"
    assert discovery.feeds == ["http://a.gov.cn/zwgk/tzgg/rss.xml", "http://www.hunan.gov.cn/feed.atom"]
    html, url = _page("site_cluster", "/zwgk/tzgg/index_2.html")
    assert read_list(html, url).discovery.next_page is None


def test_dedecms_list_pages() -> None:
    html, url = _page("dedecms", "/a/tzgg/")
    reading = read_list(html, url)
    assert reading.discovery.next_page == "http://a.gov.cn/a/tzgg/list_12_2.html"
    assert len(reading.links) == 2


def test_gbk_list_declaring_utf8_keeps_its_next_link() -> None:
    html, url = _page("vsb", "/tzgg.htm")
    assert "下一页" in html
    reading = read_list(html, url)
    assert reading.discovery.next_page == "http://a.gov.cn/tzgg/1.htm"
    assert reading.links[0].text == "关于洺州学校2024年七年级新生招生范围的公告"


def test_dates_inside_links_are_read_and_kept_out_of_the_titles() -> None:
    html, url = _page(
        "phpcms", "/html/tzgg/"
    )  # <a><span class="title">…</span><span class="date">…</span></a>
    links = read_list(html, url).links
    assert [(link.text, link.date) for link in links] == [
        ("关于2023年义务教育阶段学校招生入学工作的通知", "2023-05-06"),
        ("旬阳市2023年公开招聘特岗教师拟聘人员公示", "2023-04-28"),
        ("关于开展2023年春季学校安全隐患大排查的通知", "2023-04-15"),
    ]
    html, url = _page("phpcms", "/html/jyxw/")  # <a>标题 (2023-04-20)</a>
    assert [(link.text, link.date) for link in read_list(html, url).links] == [
        ("市教体局召开2023年中考备考工作推进会", "2023-04-20"),
        ("旬阳市第二届中小学生艺术展演活动圆满落幕", "2023-04-12"),
    ]


@pytest.mark.parametrize(
    ("today", "years"),
    [(date(2023, 6, 1), [2023, 2023]), (date(2024, 1, 10), [2023, 2023]), (date(2023, 5, 10), [2022, 2022])],
)
def test_yearless_dates_in_links_get_the_latest_year_not_in_the_future(today: date, years: list[int]) -> None:
    html, url = _page("phpcms", "/index.php?m=content&c=index&a=lists&catid=14")  # <a title="…">…[05-12]</a>
    links = read_list(html, url, today=today).links
    assert [link.text for link in links] == [
        "城关小学开展“书香校园”读书节系列活动",
        "旬阳中学举行2023届高三学生成人礼暨百日誓师大会",
    ]
    assert [link.date for link in links] == [f"{years[0]}-05-12", f"{years[1]}-05-08"]


def test_article_declaring_gb2312_with_sethome_is_not_a_challenge() -> None:
    site = load_site(SITES / "vsb")
    served = site.find("/info/1011/4521.htm")
    assert served is not None and len(served.body) < 32 * 1024 and b"window.location" in served.body
    assert not looks_like_challenge(served.body)
    text = decode_html(served.body).text
    assert "关于洺州学校2024年七年级新生招生范围的公告" in text and "冀ICP备10021234号" in text


def test_every_family_has_a_strategy_that_recognises_it() -> None:
    recognised = {
        "hanweb": "/col/col1234/index.html",
        "trs": "/xxgk/tzgg/index.html",
        "site_cluster": "/zwgk/tzgg/index.html",
        "dedecms": "/a/tzgg/",
        "vsb": "/tzgg.htm",
    }
    names = {family: family for family in recognised} | {"vsb": "pager"}
    for family, path in recognised.items():
        html, url = _page(family, path)
        assert names[family] in read_list(html, url).discovery.recognised, family
    assert list_page("", "http://a.gov.cn/").root is None


def _stored(folder: Path) -> list[Article]:
    engine = make_engine(f"sqlite:///{folder / 'countywatch.db'}")
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(Article)))
    finally:
        engine.dispose()


def _source_report(report: dict[str, Any], family: str) -> list[dict[str, Any]]:
    return [source for source in report["sources"] if source["name"].startswith(family)]


@pytest.mark.e2e
def test_every_fixture_site_crawled_end_to_end(tmp_path: Path) -> None:
    with FixtureSites() as served:
        sites = served.sites
        config: dict[str, Any] = {
            "database": f"sqlite:///{tmp_path / 'countywatch.db'}",
            "data_dir": str(tmp_path / "data"),
            "sources": [site.source() for site in sites.values()],
            "crawl": {**crawl_settings(0), "extract_workers": 1},
        }
        path = tmp_path / "sources.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        done = subprocess.run([*CRAWL, "--config", str(path)], capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        report = json.loads(done.stdout)
        requested = {family: list(site.requests) for family, site in sites.items()}
        statuses = {family: list(site.statuses) for family, site in sites.items()}
        bases = {family: site.base_url for family, site in sites.items()}

    stored = {row.url: row for row in _stored(tmp_path)}
    for family, site in sites.items():
        for article in site.articles:
            url = canonicalize_url(bases[family] + article.path)  # the query sorted, as stored
            # On a miss, what the crawl said of the family's source and the end of its log.
            assert url in stored, (family, article.path, _source_report(report, family), done.stderr[-4000:])
            row = stored[url]
            assert row.title == article.title, (family, article.path)
            assert (row.published_at or "")[:10] == article.date, (family, article.path)
    assert len(stored) == sum(len(site.articles) for site in sites.values())
    for source in report["sources"]:
        assert "blocked" not in source["errors"], source
    # Pages only a CMS-specific strategy finds were read; the off-site advertised feed was not.
    # dataproxy.jsp is POSTed (a GET would get 405), each column's groups with its own form.
    posts = [p for p in requested["hanweb"] if p.startswith("/module/web/jpage/dataproxy.jsp?")]
    assert sorted(posts) == sorted(
        f"/module/web/jpage/dataproxy.jsp?startrecord={first}&endrecord={last}&perpage={per} POST "
        + urlencode(jpage_form(column, unit))
        for first, last, per, column, unit in (
            (4, 6, 1, "1234", "27745"),
            (1, 2, 2, "1236", "27760"),
            (3, 4, 2, "1236", "27760"),
        )
    )
    assert all(status != 405 for _, status in statuses["hanweb"])
    assert "/col/col1235/index.html?uid=27801&pageNum=2" in requested["hanweb"]
    assert {"/xxgk/tzgg/index_1.html", "/jyzx/jydt/xlist_1.shtml"} <= set(requested["trs"])
    assert {"/zwgk/tzgg/index_2.html", "/zwgk/tzgg/rss.xml"} <= set(requested["site_cluster"])
    assert "/a/tzgg/list_12_2.html" in requested["dedecms"]
    assert "/tzgg/1.htm" in requested["vsb"]
    by_name = {s["name"]: s for s in report["sources"]}
    assert by_name["site_cluster"]["errors"].get("offsite", 0) >= 1
