"""The CMS fixture sites (tests/fixtures/sites/) crawled end to end, and read page by page.

End to end: `countywatch crawl` as a subprocess over every fixture site served locally; every
article is stored with its title and date, nothing is counted as blocked, and the pages only a
CMS-specific strategy finds (Hanweb's dataproxy group, TRS's pages from createPageHTML, the
site-cluster script pager, DedeCMS's list_12_2.html, the GBK list's 下一页, the advertised feed)
were fetched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from crawler.discovery.registry import list_page, read_list
from crawler.html.decoding import decode_html
from crawler.runtime.middlewares.blocked import looks_like_challenge
from replica.network import crawl_settings
from storage.db import make_engine, make_session_factory
from storage.models import Article
from tests.fixture_sites import SITES, FixtureSites, load_site

CRAWL = [sys.executable, "-c", "from countywatch.cli import main; main()", "crawl", "--json"]


def _page(family: str, path: str) -> tuple[str, str]:
    """The decoded page at `path` of a fixture site, and the URL it is served at (on a.gov.cn)."""
    site = load_site(SITES / family)
    served = site.find(path)
    assert served is not None, path
    charset = served.content_type.partition("charset=")[2] or None
    return decode_html(served.body, http_charset=charset).text, "http://a.gov.cn" + path


def test_hanweb_records_and_the_dataproxy_group() -> None:
    html, url = _page("hanweb", "/col/col1234/index.html")
    reading = read_list(html, url)
    assert [link.url.rsplit("_", 1)[1] for link in reading.links] == [
        "901245.html",
        "901198.html",
        "900876.html",
    ]
    assert [link.date for link in reading.links] == ["2024-06-20", "2024-06-12", "2024-05-28"]
    following = reading.discovery.next_page
    assert following is not None and following.startswith("http://a.gov.cn/module/web/jpage/dataproxy.jsp?")
    for param in ("startrecord=4", "endrecord=6", "perpage=1", "columnid=1234", "unitid=27745", "webid=18"):
        assert param in following
    assert "hanweb" in reading.discovery.recognised


def test_a_short_dataproxy_group_is_the_last() -> None:
    path = (
        "/module/web/jpage/dataproxy.jsp"
        "?startrecord=4&endrecord=6&perpage=1&columnid=1234&unitid=27745&webid=18"
    )
    html, url = _page("hanweb", path)
    reading = read_list(html, url)
    assert len(reading.links) == 2
    assert reading.discovery.next_page is None


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
        bases = {family: site.base_url for family, site in sites.items()}

    stored = {row.url: row for row in _stored(tmp_path)}
    for family, site in sites.items():
        for article in site.articles:
            url = bases[family] + article.path
            assert url in stored, (family, article.path, sorted(stored))
            row = stored[url]
            assert row.title == article.title, (family, article.path)
            assert (row.published_at or "")[:10] == article.date, (family, article.path)
    assert len(stored) == sum(len(site.articles) for site in sites.values())
    for source in report["sources"]:
        assert "blocked" not in source["errors"], source
    # Pages only a CMS-specific strategy finds were read; the off-site advertised feed was not.
    assert any(p.startswith("/module/web/jpage/dataproxy.jsp?startrecord=4&") for p in requested["hanweb"])
    assert "/col/col1235/index.html?uid=27801&pageNum=2" in requested["hanweb"]
    assert {"/xxgk/tzgg/index_1.html", "/jyzx/jydt/xlist_1.shtml"} <= set(requested["trs"])
    assert {"/zwgk/tzgg/index_2.html", "/zwgk/tzgg/rss.xml"} <= set(requested["site_cluster"])
    assert "/a/tzgg/list_12_2.html" in requested["dedecms"]
    assert "/tzgg/1.htm" in requested["vsb"]
    by_name = {s["name"]: s for s in report["sources"]}
    assert by_name["site_cluster"]["errors"].get("offsite", 0) >= 1
