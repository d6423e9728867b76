"""The replica network serves realistic county sites: charsets, metadata, lists, feeds, sitemaps, 304s."""

from __future__ import annotations

import html as html_lib
import re
import threading
from collections.abc import Iterator
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import urlsplit

import pytest
from lxml import etree

from countywatch.config import config_from_dict
from crawler.files.attachment_text import read_attachment
from replica import cms_lists, urls
from replica.catalog import load_catalog
from replica.core import bind_or_fallback
from replica.network import ReplicaNetwork
from replica.server import RequestLog, SiteServer, SiteState
from tests.replica_http import fetch, links


@pytest.fixture(scope="module")
def net() -> Iterator[ReplicaNetwork]:
    with ReplicaNetwork(slow_seconds=0.2) as network:
        yield network


def test_seven_sites_of_every_kind_on_distinct_loopback_hosts(net: ReplicaNetwork) -> None:
    assert len(net.sites) == 7
    kinds = {s.kind for s in net.sites.values()}
    assert kinds == {"government", "education_bureau", "newspaper", "mirror", "document_sharing"}
    assert len({s.base_url for s in net.sites.values()}) == 7
    # Linux routes all of 127.0.0.0/8 to lo, so each site gets its own host name here.
    assert len({s.host for s in net.sites.values()}) == 7
    assert all(s.host.startswith("127.") for s in net.sites.values())
    assert net.offsite_url.startswith("http://127.0.0.99:")


def test_sites_fall_back_to_127_0_0_1_where_their_address_cannot_be_bound() -> None:
    log, stopping = RequestLog(), threading.Event()

    def make(address: tuple[str, int]) -> SiteServer:
        return SiteServer(
            address, site="x", state=lambda: SiteState({}, {}), log=log, slow_seconds=0, stopping=stopping
        )

    server = bind_or_fallback(
        "192.0.2.1", make
    )  # TEST-NET-1: not an address of this machine, so bind() fails
    try:
        assert server.base_url.startswith("http://127.0.0.1:")
    finally:
        server.server_close()


def test_config_dict_is_a_valid_configuration_with_one_source_per_site(net: ReplicaNetwork) -> None:
    config = config_from_dict(net.config_dict("sqlite:///replica.db", data_dir="/tmp/cw"))
    assert [s.name for s in config.sources] == list(net.sites)
    bureau = config.source("ankang_jyj")
    assert bureau.kind == "education_bureau"
    assert bureau.region == "陕西省安康市"
    assert bureau.feeds == [net.sites["ankang_jyj"].base_url + "/rss.xml"]
    assert config.source("dongqu").sitemaps == [net.sites["dongqu"].base_url + "/sitemap.xml"]
    assert config.source("dongqu").domains == [net.sites["dongqu"].host]
    assert config.crawl.timeout > net.slow_seconds


def _declared_utf8_lists(net: ReplicaNetwork) -> set[str]:
    """The GBK list pages that declare UTF-8 (replica/data/cms_lists.yaml)."""
    return {
        net.sites[spec.name].base_url + urls.column_path(spec, column)
        for spec in load_catalog()
        for column in spec.columns
        if column.layout == "declared_utf8"
    }


def test_start_pages_answer_in_their_declared_charset(net: ReplicaNetwork) -> None:
    wrong = _declared_utf8_lists(net)
    assert wrong
    for site in net.sites.values():
        for url in site.start_urls:
            reply = fetch(url)
            assert reply.status == 200, url
            assert reply.charset == ("utf-8" if url in wrong else site.encoding)
            assert site.title in reply.text(site.encoding), url


def test_bureau_pages_are_gbk_with_government_meta_tags(net: ReplicaNetwork) -> None:
    article = net.expected.by_key("ak-conference")
    reply = fetch(article.url)
    assert reply.headers["Content-Type"] == "text/html; charset=gbk"
    with pytest.raises(UnicodeDecodeError):
        reply.body.decode("utf-8")
    html = reply.body.decode("gbk")
    assert 'charset=gbk"' in html
    for name, value in [
        ("ArticleTitle", "镇坪县召开教育高质量发展大会"),
        ("PubDate", "2023-09-08 11:11"),
        ("ContentSource", "镇坪县教体科技局"),
        ("SiteName", "安康市教育体育局"),
        ("SiteIDCode", "6109000012"),
        ("ColumnName", "县区传真"),
    ]:
        assert f'<meta name="{name}" content="{value}">' in html
    assert "您当前的位置:" in html and "新闻动态" in html and "正文内容" in html
    assert "9月7日、第39个教师节来临之际" in html and "立德树人优秀学校。" in html


def test_every_content_article_serves_its_title_and_body(net: ReplicaNetwork) -> None:
    for article in net.expected.served(1):
        reply = fetch(article.url)
        assert reply.status == 200, article.key
        html = reply.text(net.sites[article.site].encoding)  # whatever the page declares
        assert article.title in html, article.key


def test_government_footer_carries_sponsor_site_code_and_icp(net: ReplicaNetwork) -> None:
    html = fetch(net.expected.by_key("dq-teachers").url).text()
    assert "主办:中共攀枝花市东区委员会 攀枝花市东区人民政府" in html
    assert "网站标识码:5104020005" in html
    assert "蜀ICP备2021023010号" in html
    assert "时间:2023-06-20 来源:时尚东区 阅读次数:" in html
    assert "共有1页 当前第1页" in html


def test_conditional_get_answers_304_for_matching_validators(net: ReplicaNetwork) -> None:
    for url in [
        net.sites["zhenping"].start_urls[0],
        net.expected.by_key("ak-conference").url,
        net.sites["xiangtan_daily"].feeds[0],
    ]:
        first = fetch(url)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert etag and modified
        by_etag = fetch(url, {"If-None-Match": etag})
        assert (by_etag.status, by_etag.body) == (304, b"")
        assert by_etag.headers["ETag"] == etag
        assert fetch(url, {"If-Modified-Since": modified}).status == 304
        assert fetch(url, {"If-None-Match": '"stale"'}).status == 200
        earlier = parsedate_to_datetime(modified).timestamp() - 86400
        assert fetch(url, {"If-Modified-Since": _http_date(earlier)}).status == 200


def _http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)


def test_robots_txt_disallows_the_bureau_internal_path_which_is_linked(net: ReplicaNetwork) -> None:
    bureau = net.sites["ankang_jyj"]
    robots = fetch(bureau.base_url + "/robots.txt").text()
    assert "Disallow: /nbgl/" in robots
    assert net.expected.never_fetched == {"ankang_jyj": ("/nbgl/index.html",)}
    assert bureau.base_url + "/nbgl/index.html" in links(
        bureau.start_urls[0], fetch(bureau.start_urls[0]).text()
    )
    assert (
        "Sitemap: " + net.sites["dongqu"].sitemaps[0]
        in fetch(net.sites["dongqu"].base_url + "/robots.txt").text()
    )


def test_feeds_parse_and_list_newest_first(net: ReplicaNetwork) -> None:
    for name in ("zhenping", "ankang_jyj", "xiangtan_daily"):
        site = net.sites[name]
        reply = fetch(site.feeds[0])
        assert reply.headers.get_content_type() == "application/rss+xml"
        # lxml (libxml2) honours the GBK XML declaration of the bureau's feed; expat cannot.
        root = etree.fromstring(reply.body)
        items = root.findall("./channel/item")
        served = {a.url for a in net.expected.served(1) if a.site == name}
        feed_links = {i.findtext("link") for i in items}
        assert served <= feed_links
        assert all(link and link.startswith(site.base_url) for link in feed_links)
        dates = [parsedate_to_datetime(i.findtext("pubDate") or "") for i in items]
        assert dates == sorted(dates, reverse=True)
    assert b'encoding="gbk"' in fetch(net.sites["ankang_jyj"].feeds[0]).body[:60]


def test_sitemaps_parse_and_list_every_article(net: ReplicaNetwork) -> None:
    ns = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    for name in ("zhenping", "dongqu"):
        root = etree.fromstring(fetch(net.sites[name].sitemaps[0]).body)
        locs = {loc.text for loc in root.findall("sm:url/sm:loc", ns)}
        listed = {a.url for a in net.expected.articles if a.site == name and a.since == 1}
        assert listed <= locs
        assert set(net.sites[name].start_urls) <= locs


def _walk_column(start: str, next_url) -> list[str]:
    pages, url = [], start
    while url is not None:
        reply = fetch(url)
        assert reply.status == 200, url
        pages.append(reply.text())
        url = next_url(url, reply.text())
        assert len(pages) < 20
    return pages


def _next_by_link(url: str, html: str) -> str | None:
    match = re.search(r'<a href="([^"]+)"[^>]*>下一页</a>', html)
    return links(url, f'<a href="{match.group(1)}">')[0] if match else None


def _next_by_trs_pager(url: str, html: str) -> str | None:
    count, current = map(int, re.search(r'createPageHTML\((\d+), (\d+), "index", "html"\)', html).groups())
    return None if current + 1 >= count else url.rsplit("/", 1)[0] + f"/index_{current + 1}.html"


@pytest.mark.parametrize(
    ("site", "column", "pager"),
    [
        ("zhenping", 0, "link"),
        ("ankang_jyj", 1, "link"),
        ("xiangtan_daily", 0, "link"),
        ("songtao", 0, "link"),
        ("dongqu", 0, "trs"),
    ],
)
def test_list_pages_paginate_and_list_each_article_once_with_its_date(
    net: ReplicaNetwork, site: str, column: int, pager: str
) -> None:
    start = net.sites[site].start_urls[column]
    pages = _walk_column(start, _next_by_trs_pager if pager == "trs" else _next_by_link)
    assert len(pages) >= 2
    expected = [a for a in net.expected.articles if a.list_url == start and a.since == 1]
    linked = [u for html in pages for u in links(start, html)]
    assert sorted(u for u in linked if u in {a.url for a in net.expected.articles}) == sorted(
        a.url for a in expected
    )
    text = html_lib.unescape("".join(pages))
    for article in expected:
        assert text.count(f">{article.title}</a>") == 1, article.key
        assert article.published_at[:10] in text


def test_paper_uses_query_pagination_and_hanweb_pagenum(net: ReplicaNetwork) -> None:
    paper = fetch(net.sites["xiangtan_daily"].start_urls[0]).text()
    assert '<a href="/jy/?page=2" class="next">下一页</a>' in paper
    hanweb = fetch(net.sites["zhenping"].start_urls[0]).text()
    assert "index.html?uid=41234&amp;pageNum=2" in hanweb
    trs_last = fetch(net.sites["dongqu"].base_url + "/xxgk/tzgg/index_2.html")
    assert trs_last.status == 200 and 'createPageHTML(3, 2, "index", "html")' in trs_last.text()
    assert fetch(net.sites["dongqu"].base_url + "/xxgk/tzgg/index_3.html").status == 404


def test_recruitment_notice_has_a_table_and_a_pdf_attachment(net: ReplicaNetwork) -> None:
    article = net.expected.by_key("dq-recruitment")
    html = fetch(article.url).text()
    assert "<table" in html and "<td>小学数学</td>" in html
    assert 'href="P020240419512345678901.pdf"' in html and "附件:" in html
    pdf = fetch(article.url.rsplit("/", 1)[0] + "/P020240419512345678901.pdf")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.body.startswith(b"%PDF-1.") and pdf.body.rstrip().endswith(b"%%EOF")
    # the 岗位表 itself: words a reader finds only in the file, not on the page
    posts = read_attachment(pdf.body, "P020240419512345678901.pdf").text
    assert "笔试科目" in posts and "笔试科目" not in html


def test_same_story_is_served_by_portal_bureau_and_mirror(net: ReplicaNetwork) -> None:
    expected = net.expected
    copies = {a.site: a for a in expected.stories(1)["zhenping-conference"]}
    assert set(copies) == {"zhenping", "ankang_jyj", "huaxia_mirror"}
    assert "镇坪县召开2023年教育高质量发展大会" in fetch(copies["zhenping"].url).text()
    assert "鎮坪縣召開2023年教育高質量發展大會" in fetch(copies["huaxia_mirror"].url).text()
    yuetang = {a.site: a for a in expected.stories(1)["yuetang-interview"]}
    assert set(yuetang) == {"xiangtan_daily", "huaxia_mirror"}
    mirror = fetch(yuetang["huaxia_mirror"].url).text()
    assert "教育優(yōu)質(zhì)均衡" in mirror and "亚洲精品发布" in mirror
    paper = fetch(yuetang["xiangtan_daily"].url).text()
    assert "本报记者 鲁婷 肖中华" in paper and "责编:周冠成" in paper and "?" not in paper.split("<body>")[1]


def test_expected_alerts_only_for_official_education_stories(net: ReplicaNetwork) -> None:
    expected = net.expected
    alerts = expected.alert_stories(1)
    assert {
        "zhenping-enrolment",
        "dongqu-recruitment",
        "ankang-zhongkao",
        "yuetang-interview",
        "zhenping-conference",
        "songtao-teachers",
    } <= alerts
    assert "county-education-speech" not in alerts  # document-sharing only
    assert "xinhua-medicine" not in alerts  # not education
    assert "ankang-statistics" not in alerts and "ak-statistics" not in alerts  # never stored
    assert expected.alert_stories(2) == {"zhenping-summer-holiday", "dongqu-student-aid"}
    assert {a.key for a in expected.unstored} == {
        "zp-economy",
        "zp-rural",
        "dq-annual-report",
        "dq-city-notice",
        "ak-statistics",
        "ak-food-safety",
        "xt-zoning",
    }


def _every_list_page(net: ReplicaNetwork) -> list[str]:
    """Every page of every column, and each group of the Hanweb jpage columns from dataproxy.jsp.

    Script pagers (TRS createPageHTML, jpage) link their pages only through JavaScript.
    """
    out = []
    for spec in load_catalog():
        base = net.sites[spec.name].base_url
        for column in spec.columns:
            count = len([a for a in spec.articles if a.column == column.id and a.listed_in(1)])
            size = spec.per_page if column.layout is None else cms_lists.PAGE_SIZE
            if column.layout == "jpage":
                proxy = f"{base}{cms_lists.PROXY_PATH}?columnid={column.id}"
                out += [f"{proxy}&startrecord={n + 1}&endrecord={n + size}" for n in range(0, count, size)]
            else:
                out += [base + urls.column_path(spec, column, n) for n in range(-(-count // size))]
    return out


def test_every_same_site_link_answers_200_except_the_catalogued_hostile_pages(net: ReplicaNetwork) -> None:
    hosts = {urlsplit(s.base_url).netloc: s for s in net.sites.values()}
    calendars = set(net.expected.calendar_urls.values())
    todo = [url for s in net.sites.values() for url in (*s.start_urls, s.base_url + "/")]
    todo += _every_list_page(net)
    statuses: dict[str, int] = {}
    while todo:
        url = todo.pop()
        if url in statuses or urlsplit(url).netloc not in hosts or url in calendars:
            continue
        reply = fetch(url)
        statuses[url] = reply.status
        readable = reply.status == 200 and reply.headers.get_content_type() in ("text/html", "text/xml")
        if readable and len(reply.body) < 1_000_000 and not reply.body.startswith(b"\x89PNG"):
            encoding = hosts[urlsplit(url).netloc].encoding  # the site's real one, whatever is declared
            todo.extend(links(url, reply.body.decode(encoding)))
    failing = {url: status for url, status in statuses.items() if status != 200}
    hostile = {a.url: a.behaviour for a in net.expected.unstored}
    assert {url: hostile.get(url) for url in failing} == {
        net.expected.by_key("zp-economy").url: "error_500",
        net.expected.by_key("zp-rural").url: "redirect_loop",
        net.expected.by_key("dq-annual-report").url: "waf_412",
        net.expected.by_key("dq-city-notice").url: "offsite_redirect",
    }
    assert {a.url for a in net.expected.articles if a.since == 1} <= set(statuses)
