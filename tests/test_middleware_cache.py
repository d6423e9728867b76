"""Conditional GET: list pages (and articles if configured) always revalidated; robots.txt kept a day."""

from __future__ import annotations

import os
import time
from email.utils import formatdate
from pathlib import Path
from unittest.mock import patch

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.httpcache import HttpCacheMiddleware
from scrapy.http import HtmlResponse

from tests.crawl_support import ZHENPING, make_crawler, request, response

LIST = "http://jyj.zhenping.gov.cn/col/col1003/index.html"
VALIDATORS = {
    "ETag": '"v1"',
    "Last-Modified": "Fri, 19 Apr 2024 00:00:00 GMT",
    "Cache-Control": "max-age=86400",
}


def make_cache(tmp_path: Path, cache_articles: bool = False) -> HttpCacheMiddleware:
    crawler = make_crawler(
        [ZHENPING],
        {
            "HTTPCACHE_ENABLED": True,
            "HTTPCACHE_DIR": str(tmp_path / "httpcache"),
            "HTTPCACHE_POLICY": "crawler.runtime.middlewares.cache.RevalidatingPolicy",
            "HTTPCACHE_STORAGE": "crawler.runtime.middlewares.cache.RevalidatedFilesystemStorage",
            "COUNTYWATCH_CACHE_ARTICLES": cache_articles,
        },
    )
    middleware = HttpCacheMiddleware.from_crawler(crawler)
    assert crawler.spider is not None
    middleware.spider_opened(crawler.spider)
    return middleware


@pytest.fixture
def cache(tmp_path: Path) -> HttpCacheMiddleware:
    return make_cache(tmp_path)


def first_fetch(cache: HttpCacheMiddleware, kind: str = "list") -> None:
    req = request(LIST, kind=kind)
    assert cache.process_request(req) is None
    cache.process_response(req, response(req, b"<html>list v1</html>", headers=VALIDATORS))


def test_list_page_is_revalidated_even_when_fresh(cache: HttpCacheMiddleware) -> None:
    first_fetch(cache)
    again = request(LIST, kind="list")
    # max-age says fresh for a day, but a new announcement must not wait: ask the server.
    assert cache.process_request(again) is None
    assert again.headers.get("If-None-Match") == b'"v1"'
    assert again.headers.get("If-Modified-Since") == b"Fri, 19 Apr 2024 00:00:00 GMT"
    served = cache.process_response(again, response(again, b"", status=304))
    assert isinstance(served, HtmlResponse)
    assert served.status == 200
    assert served.body == b"<html>list v1</html>"
    assert "cached" in served.flags


def test_an_entry_is_four_files_and_a_304_rewrites_only_its_headers(
    cache: HttpCacheMiddleware, tmp_path: Path
) -> None:
    first_fetch(cache)
    entry = next(path.parent for path in (tmp_path / "httpcache").rglob("response_body"))
    before = {path.name: path.stat().st_mtime_ns for path in entry.iterdir()}
    # Only what a read needs is written (Scrapy's storage also writes meta and the request).
    assert set(before) == {"response_body", "response_headers", "response_data", "pickled_meta"}
    for path in entry.iterdir():  # a store that rewrote a file would give it a new mtime
        os.utime(path, ns=(1, 1))
    again = request(LIST, kind="list")
    cache.process_request(again)
    cache.process_response(
        again, response(again, b"", status=304, headers={"Date": "Sat, 20 Apr 2024 00:00:00 GMT"})
    )
    rewritten = {path.name for path in entry.iterdir() if path.stat().st_mtime_ns != 1}
    assert rewritten == {"response_headers"}
    assert set(before) == {path.name for path in entry.iterdir()}
    third = request(LIST, kind="list")
    cache.process_request(third)
    cached = third.meta["cached_response"]
    assert cached.body == b"<html>list v1</html>"
    assert cached.headers.get("Date") == b"Sat, 20 Apr 2024 00:00:00 GMT"  # freshened by the 304
    assert third.headers.get("If-None-Match") == b'"v1"'


def test_changed_list_page_replaces_the_cached_copy(cache: HttpCacheMiddleware) -> None:
    first_fetch(cache)
    again = request(LIST, kind="list")
    cache.process_request(again)
    fresh = response(again, b"<html>list v2</html>", headers={"ETag": '"v2"'})
    assert cache.process_response(again, fresh) is fresh
    third = request(LIST, kind="list")
    cache.process_request(third)
    assert third.headers.get("If-None-Match") == b'"v2"'


def test_server_error_is_not_hidden_by_the_cache(cache: HttpCacheMiddleware) -> None:
    first_fetch(cache)
    again = request(LIST, kind="list")
    cache.process_request(again)
    error = response(again, b"oops", status=503)
    assert cache.process_response(again, error) is error


def test_article_pages_are_not_cached_by_default(cache: HttpCacheMiddleware) -> None:
    first_fetch(cache, kind="article")
    again = request(LIST, kind="article")
    assert cache.process_request(again) is None
    assert again.headers.get("If-None-Match") is None


def test_article_recheck_is_a_conditional_get_when_articles_are_cached(tmp_path: Path) -> None:
    cache = make_cache(tmp_path, cache_articles=True)
    first_fetch(cache, kind="article")
    again = request(LIST, kind="article")
    assert cache.process_request(again) is None
    assert again.headers.get("If-None-Match") == b'"v1"'


def robots_request() -> Request:
    return Request("http://jyj.zhenping.gov.cn/robots.txt", meta={"dont_obey_robotstxt": True})


def test_robots_txt_is_reused_while_fresh_for_at_most_a_day(cache: HttpCacheMiddleware) -> None:
    first = robots_request()
    assert cache.process_request(first) is None
    # Last-Modified long ago: RFC 2616 heuristic freshness would be months; a day is the cap.
    old = {"Last-Modified": "Fri, 19 Apr 2024 00:00:00 GMT", "Date": formatdate(usegmt=True)}
    cache.process_response(first, response(first, b"User-agent: *\nDisallow: /nbgl/", headers=old))
    cached = cache.process_request(robots_request())
    assert isinstance(cached, HtmlResponse) and b"Disallow: /nbgl/" in cached.body
    later = robots_request()
    with patch("scrapy.extensions.httpcache.time", return_value=time.time() + 25 * 3600):
        assert cache.process_request(later) is None  # stale after a day: asked again
    assert later.headers.get("If-Modified-Since") == b"Fri, 19 Apr 2024 00:00:00 GMT"


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (404, b"<html>Not Found</html>", {}),  # no robots.txt at all: everything allowed
        (200, b"User-agent: *\nDisallow: /nbgl/", {}),  # a file that says nothing of its freshness
    ],
)
def test_robots_txt_without_freshness_or_missing_is_kept_a_day(
    cache: HttpCacheMiddleware, status: int, body: bytes, headers: dict[str, str]
) -> None:
    first = robots_request()
    assert cache.process_request(first) is None
    cache.process_response(first, response(first, body, status=status, headers=headers))
    cached = cache.process_request(robots_request())
    assert isinstance(cached, HtmlResponse) and (cached.status, cached.body) == (status, body)
    with patch("scrapy.extensions.httpcache.time", return_value=time.time() + 25 * 3600):
        assert cache.process_request(robots_request()) is None  # a day later: asked again


def test_robots_txt_that_may_not_be_stored_is_not(cache: HttpCacheMiddleware) -> None:
    first = robots_request()
    cache.process_request(first)
    cache.process_response(first, response(first, b"User-agent: *", headers={"Cache-Control": "no-store"}))
    assert cache.process_request(robots_request()) is None
    short = robots_request()
    # An explicit max-age is obeyed even when short.
    cache.process_request(short)
    cache.process_response(short, response(short, b"User-agent: *", headers={"Cache-Control": "max-age=60"}))
    assert isinstance(cache.process_request(robots_request()), HtmlResponse)
    with patch("scrapy.extensions.httpcache.time", return_value=time.time() + 120):
        assert cache.process_request(robots_request()) is None


def test_other_untagged_requests_are_not_cached(cache: HttpCacheMiddleware) -> None:
    req = request("http://jyj.zhenping.gov.cn/x.html", source=None, kind="other")
    cache.process_request(req)
    cache.process_response(req, response(req, b"<html>x</html>", headers=VALIDATORS))
    again = request("http://jyj.zhenping.gov.cn/x.html", source=None, kind="other")
    assert cache.process_request(again) is None
    assert again.headers.get("If-None-Match") is None
