"""Conditional GET: list pages (articles if configured) are cached and always revalidated."""

from __future__ import annotations

from pathlib import Path

import pytest
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
            "HTTPCACHE_POLICY": "crawler.middlewares.cache.RevalidatingPolicy",
            "HTTPCACHE_STORAGE": "scrapy.extensions.httpcache.FilesystemCacheStorage",
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


def test_untagged_requests_are_not_cached(cache: HttpCacheMiddleware) -> None:
    robots = request("http://jyj.zhenping.gov.cn/robots.txt", source=None, kind="robots")
    cache.process_request(robots)
    cache.process_response(robots, response(robots, b"User-agent: *", headers=VALIDATORS))
    again = request("http://jyj.zhenping.gov.cn/robots.txt", source=None, kind="robots")
    assert cache.process_request(again) is None
    assert again.headers.get("If-None-Match") is None
