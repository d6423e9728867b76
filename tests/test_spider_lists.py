"""ListSpider navigation: what it fetches from list pages, feeds and known pages, and what it counts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.http import HtmlResponse, Response, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.misc import is_generator_with_return_value
from twisted.python.failure import Failure

from core.config import Config, Source
from crawler.runtime.items import CheckedItem, GoneItem, PageItem
from crawler.runtime.middlewares import OffsiteRequest
from crawler.runtime.runner import scrapy_settings
from crawler.runtime.spiders.lists import ListSpider, Remembered
from crawler.runtime.tally import META_REMEMBERED, read_source_stats
from storage.repository import KnownPage
from tests.crawl_support import ZHENPING, make_crawler

LISTS = Path(__file__).parent / "fixtures" / "lists"
NOW = datetime(2024, 5, 1, tzinfo=UTC)
COLUMN = "http://jyj.zhenping.gov.cn/col/col1003/index.html"
FIRST = "http://jyj.zhenping.gov.cn/art/2024/4/19/art_1003_88121.html"
SECOND = "http://jyj.zhenping.gov.cn/art/2024/4/17/art_1003_88075.html"
UNLISTED = "http://jyj.zhenping.gov.cn/art/2023/1/5/art_1003_80000.html"


def known(url: str, next_check_at: datetime | None, status: str = "active") -> KnownPage:
    return KnownPage(url, NOW - timedelta(days=9), NOW - timedelta(days=2), next_check_at, "h", status, 0)


def spider(source: Source = ZHENPING, **known_pages: Any) -> ListSpider:
    crawler = make_crawler([source], known={source.name: known_pages.get("pages", {})}, now=NOW)
    assert isinstance(crawler.spider, ListSpider)
    return crawler.spider


def list_response(s: ListSpider, page: int = 1, url: str = COLUMN) -> HtmlResponse:
    request = s.make_request(ZHENPING, url, "list", s.parse_list, cw_page=page)
    return HtmlResponse(url=url, body=(LISTS / "hanweb" / "index.html").read_bytes(), request=request)


def counters(s: ListSpider) -> dict[str, Any]:
    return read_source_stats(s.stats.get_stats(), "zhenping").to_json()


def test_list_page_yields_articles_with_list_dates_then_the_next_page() -> None:
    s = spider()
    out = list(s.parse_list(list_response(s)))
    articles = [r for r in out if r.meta["cw_kind"] == "article"]
    lists = [r for r in out if r.meta["cw_kind"] == "list"]
    assert len(articles) == 5
    assert (articles[0].url, articles[0].meta["cw_list_date"], articles[0].meta["cw_known"]) == (
        FIRST,
        "2024-04-19",
        False,
    )
    assert all(r.errback == s.on_error and r.meta["cw_source"] == "zhenping" for r in out)
    assert [(r.url, r.meta["cw_page"]) for r in lists] == [(COLUMN + "?uid=4521&pageNum=2", 2)]
    assert counters(s)["list_pages"] == 1 and counters(s)["links_found"] == 5


def test_known_articles_are_fetched_only_when_due() -> None:
    pages = {FIRST: known(FIRST, NOW + timedelta(hours=3)), SECOND: known(SECOND, NOW - timedelta(hours=1))}
    s = spider(pages=pages)
    urls = {
        r.url: r.meta.get("cw_known")
        for r in s.parse_list(list_response(s))
        if r.meta["cw_kind"] == "article"
    }
    assert FIRST not in urls
    assert urls[SECOND] is True
    assert counters(s)["skipped_known"] == 1


def test_pagination_stops_at_max_pages() -> None:
    s = spider()
    out = list(s.parse_list(list_response(s, page=ZHENPING.max_pages)))
    assert [r for r in out if r.meta["cw_kind"] == "list"] == []


def test_an_unchanged_page_is_not_paged_past() -> None:
    s = spider()
    response = list_response(s)
    response.flags.append("cached")  # HttpCacheMiddleware: the server answered 304
    out = list(s.parse_list(response))
    assert [r for r in out if r.meta["cw_kind"] == "list"] == []
    assert len([r for r in out if r.meta["cw_kind"] == "article"]) == 5
    assert counters(s)["list_unchanged"] == 1


def test_each_article_is_requested_once_per_run() -> None:
    s = spider()
    first = [r for r in s.parse_list(list_response(s)) if r.meta["cw_kind"] == "article"]
    again = [r for r in s.parse_list(list_response(s)) if r.meta["cw_kind"] == "article"]
    assert len(first) == 5 and again == []


def test_start_requests_lists_feeds_and_due_unlisted_articles() -> None:
    source = Source(
        name="zhenping",
        start_urls=[COLUMN],
        feeds=["http://jyj.zhenping.gov.cn/rss.xml"],
        sitemaps=["http://jyj.zhenping.gov.cn/sitemap.xml"],
    )
    pages = {UNLISTED: known(UNLISTED, NOW - timedelta(minutes=5)), FIRST: known(FIRST, None)}
    s = spider(source, pages=pages)

    async def collect() -> list[Request]:
        return [r async for r in s.start()]

    got = [(r.url, r.meta["cw_kind"]) for r in asyncio.run(collect())]
    assert got == [
        (COLUMN, "list"),
        ("http://jyj.zhenping.gov.cn/rss.xml", "feed"),
        ("http://jyj.zhenping.gov.cn/sitemap.xml", "sitemap"),
        (UNLISTED, "article"),  # due for a re-check though no list links it any more
    ]


def article_response(s: ListSpider, url: str, *, known: bool, flags: list[str] | None = None) -> Response:
    request = s.make_request(
        ZHENPING, url, "article", s.parse_article, cw_known=known, cw_list_date="2024-04-19"
    )
    return HtmlResponse(
        url=url,
        body="<html>正文</html>".encode("gbk"),
        headers={"Content-Type": "text/html; charset=GBK"},
        request=request,
        flags=flags,
    )


def test_article_page_becomes_a_page_item() -> None:
    s = spider()
    (item,) = list(s.parse_article(article_response(s, FIRST, known=False)))
    assert isinstance(item, PageItem)
    assert (item.url, item.list_date, item.known) == (FIRST, "2024-04-19", False)
    assert item.http_charset == "gb18030"  # w3lib names GBK by its superset


def test_not_modified_recheck_is_only_marked_checked() -> None:
    s = spider()
    (item,) = list(s.parse_article(article_response(s, FIRST, known=True, flags=["cached"])))
    assert item == CheckedItem(source="zhenping", url=FIRST)
    assert counters(s)["not_modified"] == 1 and counters(s)["articles_fetched"] == 0
    # a cached copy of a page storage does not know is extracted again
    (again,) = list(s.parse_article(article_response(s, SECOND, known=False, flags=["cached"])))
    assert isinstance(again, PageItem)


def test_not_modified_recheck_of_a_withdrawn_article_is_extracted_again() -> None:
    # The cached copy may be the "deleted" notice that withdrew it: a 304 must not reactivate it.
    s = spider(pages={FIRST: known(FIRST, NOW - timedelta(hours=1), status="withdrawn")})
    (item,) = list(s.parse_article(article_response(s, FIRST, known=True, flags=["cached"])))
    assert isinstance(item, PageItem) and item.known
    assert counters(s)["not_modified"] == 0 and counters(s)["articles_fetched"] == 1


def failure_for(s: ListSpider, url: str, exc: Exception, *, known: bool) -> Failure:
    request = s.make_request(ZHENPING, url, "article", s.parse_article, cw_known=known)
    failure = Failure(exc)
    failure.request = request  # type: ignore[attr-defined]
    return failure


def http_error(s: ListSpider, url: str, status: int, *, known: bool) -> Failure:
    request = s.make_request(ZHENPING, url, "article", s.parse_article, cw_known=known)
    error = HttpError(
        HtmlResponse(url=url, status=status, body=b"", request=request), "Ignoring non-200 response"
    )
    return failure_for(s, url, error, known=known)


def test_vanished_known_article_is_gone() -> None:
    s = spider()
    out = list(s.on_error(http_error(s, FIRST, 410, known=True)))
    assert out == [GoneItem(source="zhenping", url=FIRST, status=410)]
    assert counters(s)["gone"] == 1 and counters(s)["errors"] == {}


def test_failures_are_counted_by_kind() -> None:
    s = spider()
    assert list(s.on_error(http_error(s, FIRST, 404, known=False))) == []
    list(s.on_error(http_error(s, FIRST, 503, known=True)))
    list(s.on_error(http_error(s, FIRST, 412, known=True)))
    list(s.on_error(failure_for(s, FIRST, OffsiteRequest("off-domain"), known=False)))
    assert counters(s)["errors"] == {"http_4xx": 1, "http_5xx": 1, "blocked": 1, "offsite": 1}


def test_feed_entries_outside_the_source_are_counted_offsite() -> None:
    s = spider()
    body = (
        b"<rss><channel>"
        b"<item><link>http://jyj.zhenping.gov.cn/art/2024/5/1/art_1003_90001.html</link></item>"
        b"<item><link>http://127.0.0.99/landing.html</link></item>"
        b"</channel></rss>"
    )
    url = "http://jyj.zhenping.gov.cn/rss.xml"
    request = s.make_request(ZHENPING, url, "feed", s.parse_feed)
    out = list(s.parse_feed(XmlResponse(url=url, body=body, request=request)))
    assert [r.url for r in out] == ["http://jyj.zhenping.gov.cn/art/2024/5/1/art_1003_90001.html"]
    assert counters(s)["errors"] == {"offsite": 1}


def _page_with(
    s: ListSpider, html: str, headers: dict[str, str] | None = None, encoding: str = "utf-8"
) -> HtmlResponse:
    request = s.make_request(ZHENPING, COLUMN, "list", s.parse_list, cw_page=1)
    return HtmlResponse(url=COLUMN, body=html.encode(encoding), headers=headers, request=request)


GBK_LIST = (
    '<html><head><meta charset="utf-8"><title>通知公告</title></head><body><ul>'
    '<li><a href="/art/2024/4/19/art_1003_88121.html">关于洺州学校招生范围的公告</a>'
    "<span>2024-04-19</span></li>"
    '</ul><a href="/col/col1003/more.jsp?pages=2">下一页</a></body></html>'
)


def test_gbk_list_declaring_utf8_keeps_its_next_link() -> None:
    s = spider()
    response = _page_with(s, GBK_LIST, {"Content-Type": "text/html; charset=UTF-8"}, encoding="gbk")
    out = list(s.parse_list(response))
    assert [(r.url, r.meta["cw_kind"]) for r in out] == [
        (FIRST, "article"),
        ("http://jyj.zhenping.gov.cn/col/col1003/more.jsp?pages=2", "list"),
    ]


def test_advertised_feeds_are_fetched_in_scope_and_counted_once_offsite() -> None:
    s = spider()
    head = (
        '<link rel="alternate" type="application/rss+xml" href="/col/col1003/rss.xml">'
        '<link rel="alternate" type="application/atom+xml" href="http://127.0.0.99/feed.atom">'
        '<link rel="stylesheet" type="text/css" href="/style.css">'
    )
    html = f"<html><head>{head}</head><body><p>通知公告</p></body></html>"
    first = list(s.parse_list(_page_with(s, html)))
    again = list(s.parse_list(_page_with(s, html)))
    feed = "http://jyj.zhenping.gov.cn/col/col1003/rss.xml"
    assert [(r.url, r.meta["cw_kind"]) for r in first] == [(feed, "feed")]
    assert again == []
    assert counters(s)["errors"] == {"offsite": 1}


def test_an_advertised_feed_that_is_configured_is_left_to_the_start_requests() -> None:
    feed = "http://jyj.zhenping.gov.cn/col/col1003/rss.xml"
    source = ZHENPING.model_copy(update={"feeds": [feed]})
    crawler = make_crawler([source], known={source.name: {}}, now=NOW)
    s = crawler.spider
    assert isinstance(s, ListSpider)
    link = f'<link rel="alternate" type="application/rss+xml" href="{feed}">'
    html = f"<html><head>{link}</head><body></body></html>"
    request = s.make_request(source, COLUMN, "list", s.parse_list, cw_page=1)
    response = HtmlResponse(url=COLUMN, body=html.encode(), request=request)
    assert list(s.parse_list(response)) == []


def validated(
    url: str, first_seen: datetime, next_check_at: datetime | None, status: str = "active"
) -> KnownPage:
    """A stored page whose last full answer carried an ETag and a Last-Modified."""
    return KnownPage(
        url,
        first_seen,
        NOW - timedelta(hours=2),
        next_check_at,
        "h",
        status,
        0,
        etag='"5f1e-abc"',
        last_modified="Tue, 30 Apr 2024 08:00:00 GMT",
    )


def test_recent_articles_are_asked_every_cycle_with_their_validators() -> None:
    later = NOW + timedelta(hours=20)  # not due by the decaying schedule
    pages = {
        FIRST: validated(FIRST, NOW - timedelta(days=1), later),  # recent, validators: asked
        SECOND: known(SECOND, later),  # no validators: waits for its schedule
        UNLISTED: validated(UNLISTED, NOW - timedelta(days=9), later),  # older: waits
    }
    s = spider(pages=pages)
    requests = {r.url: r for r in s.parse_list(list_response(s)) if r.meta["cw_kind"] == "article"}
    assert FIRST in requests and SECOND not in requests
    early = requests[FIRST]
    assert early.headers[b"If-None-Match"] == b'"5f1e-abc"'
    assert early.headers[b"If-Modified-Since"] == b"Tue, 30 Apr 2024 08:00:00 GMT"
    assert early.meta["handle_httpstatus_list"] == [304] and early.meta["cw_early"] is True
    assert counters(s)["skipped_known"] == 1  # SECOND; UNLISTED is not on the list page


def test_a_recent_article_is_not_asked_again_within_its_interval() -> None:
    later = NOW + timedelta(hours=20)  # not due by the decaying schedule
    page = validated(FIRST, NOW - timedelta(days=1), later)
    just_checked = replace(page, last_checked=NOW - timedelta(minutes=10))
    s = spider(pages={FIRST: just_checked})
    assert [r for r in s.parse_list(list_response(s)) if r.url == FIRST] == []
    assert counters(s)["skipped_known"] >= 1
    # once its last check is an interval (COUNTYWATCH_RECHECK_RECENT_EVERY, 1 h) old, it is asked
    s = spider(pages={FIRST: replace(page, last_checked=NOW - timedelta(hours=1))})
    (request,) = [r for r in s.parse_list(list_response(s)) if r.url == FIRST]
    assert request.meta["cw_early"] is True and b"If-None-Match" in request.headers
    # an interval of 0 asks every cycle, however close together
    crawler = make_crawler(
        [ZHENPING],
        {"COUNTYWATCH_RECHECK_RECENT_EVERY": 0.0},
        known={"zhenping": {FIRST: just_checked}},
        now=NOW,
    )
    every_cycle = crawler.spider
    assert isinstance(every_cycle, ListSpider)
    out = every_cycle.parse_list(list_response(every_cycle))
    assert [r.meta["cw_early"] for r in out if r.url == FIRST] == [True]


def test_old_notices_first_seen_today_are_not_asked_every_cycle() -> None:
    # A site's first crawl finds last year's notices: first seen now, but published long ago.
    page = validated(FIRST, NOW - timedelta(hours=2), NOW + timedelta(hours=22))
    pages = {FIRST: replace(page, published_at="2023-04-19"), SECOND: replace(page, url=SECOND)}
    s = spider(pages=pages)
    urls = [r.url for r in s.parse_list(list_response(s)) if r.meta["cw_kind"] == "article"]
    assert FIRST not in urls and SECOND in urls  # SECOND: no date known, first seen two hours ago


def test_unlisted_recent_articles_are_asked_from_the_start() -> None:
    source = Source(name="zhenping", start_urls=[COLUMN])
    pages = {UNLISTED: validated(UNLISTED, NOW - timedelta(hours=6), NOW + timedelta(hours=18))}
    s = spider(source, pages=pages)

    async def collect() -> list[Request]:
        return [r async for r in s.start()]

    articles = [r for r in asyncio.run(collect()) if r.meta["cw_kind"] == "article"]
    assert [r.url for r in articles] == [UNLISTED]
    assert b"If-None-Match" in articles[0].headers


def test_recent_window_of_zero_turns_early_checks_off() -> None:
    crawler = make_crawler(
        [ZHENPING],
        {"COUNTYWATCH_RECHECK_RECENT": 0.0},
        known={"zhenping": {FIRST: validated(FIRST, NOW - timedelta(hours=1), NOW + timedelta(hours=23))}},
        now=NOW,
    )
    s = crawler.spider
    assert isinstance(s, ListSpider)
    assert [r for r in s.parse_list(list_response(s)) if r.url == FIRST] == []


def test_due_article_with_validators_is_asked_conditionally_too() -> None:
    pages = {SECOND: validated(SECOND, NOW - timedelta(days=9), NOW - timedelta(hours=1))}
    s = spider(pages=pages)
    (request,) = [r for r in s.parse_list(list_response(s)) if r.url == SECOND]
    assert request.meta["cw_early"] is False and b"If-None-Match" in request.headers


def test_withdrawn_article_is_never_asked_conditionally() -> None:
    pages = {SECOND: validated(SECOND, NOW - timedelta(hours=5), NOW - timedelta(hours=1), "withdrawn")}
    s = spider(pages=pages)
    (request,) = [r for r in s.parse_list(list_response(s)) if r.url == SECOND]
    assert b"If-None-Match" not in request.headers and "handle_httpstatus_list" not in request.meta


def not_modified(s: ListSpider, url: str, *, early: bool) -> Response:
    request = s.make_request(ZHENPING, url, "article", s.parse_article, cw_known=True, cw_early=early)
    return HtmlResponse(url=url, status=304, body=b"", request=request)


def test_304_to_an_early_check_is_only_noted_and_to_a_due_one_reschedules() -> None:
    s = spider()
    assert list(s.parse_article(not_modified(s, FIRST + "?from=list", early=True))) == []
    # noted by its canonical URL, for the runner to record the time of the check in one statement
    assert s.early_unchanged == {"zhenping": [FIRST]}
    assert list(s.parse_article(not_modified(s, SECOND, early=False))) == [
        CheckedItem(source="zhenping", url=SECOND)
    ]
    assert counters(s)["not_modified"] == 2 and counters(s)["articles_fetched"] == 0


def test_page_item_carries_the_answer_validators() -> None:
    s = spider()
    request = s.make_request(ZHENPING, FIRST, "article", s.parse_article, cw_known=False)
    response = HtmlResponse(
        url=FIRST,
        body="<html>正文</html>".encode(),
        headers={"ETag": 'W/"77-1"', "Last-Modified": "Wed, 01 May 2024 00:00:00 GMT"},
        request=request,
    )
    (item,) = list(s.parse_article(response))
    assert isinstance(item, PageItem)
    assert (item.etag, item.last_modified) == ('W/"77-1"', "Wed, 01 May 2024 00:00:00 GMT")


def test_no_callback_is_a_generator_returning_a_value() -> None:
    # Scrapy's run-time lint for this is off (WARN_ON_GENERATOR_RETURN_VALUE: it parsed a callback's
    # source for every response); the same check runs here, once, over every callback.
    callbacks = [
        getattr(ListSpider, name)
        for name in ("parse_list", "parse_feed", "parse_sitemap", "parse_article", "on_error", "start")
    ]
    assert [c.__name__ for c in callbacks if is_generator_with_return_value(c)] == []
    assert scrapy_settings(Config()).getbool("WARN_ON_GENERATOR_RETURN_VALUE") is False


# --- unchanged (304) pages: answered from what reading them gave, not parsed again ---------------

FEED = "http://jyj.zhenping.gov.cn/rss.xml"
SITEMAP = "http://jyj.zhenping.gov.cn/sitemap.xml"


def cached(s: ListSpider, url: str, kind: str, reading: dict[str, Any] | None) -> HtmlResponse:
    """A 304 answered from the cache: its body is beside the point (not even HTML here)."""
    callback = {"list": s.parse_list, "feed": s.parse_feed, "sitemap": s.parse_sitemap}[kind]
    request = s.make_request(ZHENPING, url, kind, callback, cw_page=1)
    if reading is not None:
        request.meta[META_REMEMBERED] = {"key": s.reading_key(ZHENPING.name), **reading}
    return HtmlResponse(url=url, body=b"\x00 not a page", request=request, flags=["cached"])


def test_parsing_a_list_page_leaves_its_reading_for_the_cache() -> None:
    s = spider()
    response = list_response(s)
    out = list(s.parse_list(response))
    reading = Remembered.from_meta(response.meta[META_REMEMBERED], s.reading_key(ZHENPING.name))
    assert reading is not None
    articles = [r for r in out if r.meta["cw_kind"] == "article"]
    assert [url for url, _, _ in reading.links] == [r.url for r in articles]
    assert (FIRST, "2024-04-19", None) in reading.links
    assert reading.leads == []


def test_an_unchanged_list_page_is_answered_from_its_reading_without_parsing() -> None:
    reading = {
        "links": [(FIRST, "2024-04-19", None), (SECOND, "2024-04-17", None)],
        "leads": [("feed", FEED)],
    }
    s = spider(pages={SECOND: known(SECOND, NOW + timedelta(days=1))})
    out = list(s.parse_list(cached(s, COLUMN, "list", reading)))
    # the same decisions as a fresh reading: the new link asked (with its list date), the known
    # one not due skipped, the advertised feed asked; no next page after an unchanged one
    assert [(r.url, r.meta["cw_kind"]) for r in out] == [(FIRST, "article"), (FEED, "feed")]
    assert out[0].meta["cw_list_date"] == "2024-04-19"
    stats = counters(s)
    assert stats["links_found"] == 2 and stats["skipped_known"] == 1
    assert stats["list_pages"] == stats["list_unchanged"] == 1 and stats["errors"] == {}


def test_an_unchanged_page_without_a_reading_is_parsed() -> None:
    s = spider()
    response = list_response(s)
    response.flags.append("cached")
    articles = [r for r in s.parse_list(response) if r.meta["cw_kind"] == "article"]
    assert len(articles) == 5 and META_REMEMBERED in response.meta


def test_a_changed_page_is_parsed_afresh_whatever_reading_its_entry_held() -> None:
    s = spider()
    response = list_response(s)
    response.meta[META_REMEMBERED] = {
        "links": [("http://jyj.zhenping.gov.cn/old.html", None, None)],
        "leads": [],
    }
    urls = [r.url for r in s.parse_list(response) if r.meta["cw_kind"] == "article"]
    assert len(urls) == 5 and "http://jyj.zhenping.gov.cn/old.html" not in urls
    reading = Remembered.from_meta(response.meta[META_REMEMBERED], s.reading_key(ZHENPING.name))
    assert reading is not None and [u for u, _, _ in reading.links] == urls


def test_unchanged_feeds_and_sitemaps_are_answered_from_their_readings() -> None:
    s = spider()
    feed = list(s.parse_feed(cached(s, FEED, "feed", {"links": [(FIRST, "2024-04-19", None)], "leads": []})))
    assert [(r.url, r.meta["cw_list_date"]) for r in feed] == [(FIRST, "2024-04-19")]
    child = "http://jyj.zhenping.gov.cn/sitemap-2024.xml"
    s = spider(pages={SECOND: known(SECOND, NOW + timedelta(days=1))})
    lastmod = (NOW - timedelta(days=1)).isoformat()  # changed after its last check (2 days ago)
    reading = {"links": [(SECOND, None, lastmod)], "leads": [("sitemap", child)]}
    out = list(s.parse_sitemap(cached(s, SITEMAP, "sitemap", reading)))
    assert [(r.url, r.meta["cw_kind"]) for r in out] == [(child, "sitemap"), (SECOND, "article")]


def test_a_reading_made_under_another_configuration_of_the_source_is_not_used() -> None:
    s = spider()
    response = list_response(s)
    list(s.parse_list(response))
    reading = response.meta[META_REMEMBERED]
    changed = ZHENPING.model_copy(update={"deny": [r"/art/2024/4/19/"]})
    other = make_crawler([changed], known={changed.name: {}}, now=NOW).spider
    assert isinstance(other, ListSpider)
    assert other.reading_key(changed.name) != s.reading_key(ZHENPING.name)
    request = other.make_request(changed, COLUMN, "list", other.parse_list, cw_page=1, cw_remembered=reading)
    body = (LISTS / "hanweb" / "index.html").read_bytes()
    stale = HtmlResponse(url=COLUMN, body=body, request=request, flags=["cached"])
    urls = [r.url for r in other.parse_list(stale) if r.meta["cw_kind"] == "article"]
    assert FIRST not in urls and len(urls) == 4  # parsed under the new rules


def test_a_posted_list_query_keeps_a_retry_even_with_retries_off() -> None:
    # Twisted re-sends a GET by itself when its kept-alive connection turns out closed, not a POST.
    form = (("columnid", "1003"), ("unitid", "27745"))
    for configured, expected in ((0, 1), (3, 3)):
        spider = make_crawler([ZHENPING], {"RETRY_TIMES": configured}).spider
        assert isinstance(spider, ListSpider)
        posted = spider._list_request(ZHENPING, COLUMN + "?startrecord=1", "list", form=form)
        assert posted is not None and posted.method == "POST"
        assert posted.meta["max_retry_times"] == expected
        got = spider._list_request(ZHENPING, COLUMN, "list")
        assert got is not None and got.method == "GET" and "max_retry_times" not in got.meta
