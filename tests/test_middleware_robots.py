"""CachedRobotsTxtMiddleware: a fresh cached robots.txt is read from the cache, with no request."""

from __future__ import annotations

import asyncio
import time
from email.utils import formatdate
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.httpcache import HttpCacheMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse

from crawler.runtime.middlewares.robots import FROM_CACHE_STAT, CachedRobotsTxtMiddleware
from tests.crawl_support import ZHENPING, make_crawler, request, response
from tests.test_middleware_cache import robots_request

SITE = "http://jyj.zhenping.gov.cn"
ROBOTS = b"User-agent: *\nDisallow: /nbgl/"


class _Engine:
    """What the middleware sees of the engine: the downloader's middlewares, and downloads counted."""

    def __init__(self, cache: HttpCacheMiddleware | None, answer: bytes) -> None:
        middlewares = SimpleNamespace(middlewares=[cache] if cache else [])
        self.downloader = SimpleNamespace(middleware=middlewares)
        self.downloads: list[Request] = []
        self.answer = answer

    async def download_async(self, req: Request) -> HtmlResponse:
        self.downloads.append(req)
        return response(req, self.answer)


def setup(
    tmp_path: Path, *, cached: bool, cache_on: bool = True
) -> tuple[CachedRobotsTxtMiddleware, _Engine, Any]:
    crawler = make_crawler(
        [ZHENPING],
        {
            "ROBOTSTXT_OBEY": True,
            "HTTPCACHE_ENABLED": True,
            "HTTPCACHE_DIR": str(tmp_path / "httpcache"),
            "HTTPCACHE_POLICY": "crawler.runtime.middlewares.cache.RevalidatingPolicy",
            "HTTPCACHE_STORAGE": "crawler.runtime.middlewares.cache.RevalidatedFilesystemStorage",
        },
    )
    cache = HttpCacheMiddleware.from_crawler(crawler)
    assert crawler.spider is not None
    cache.spider_opened(crawler.spider)
    if cached:
        first = robots_request()
        assert cache.process_request(first) is None
        headers = {"Last-Modified": "Fri, 19 Apr 2024 00:00:00 GMT", "Date": formatdate(usegmt=True)}
        cache.process_response(first, response(first, ROBOTS, headers=headers))
    engine = _Engine(cache if cache_on else None, answer=b"User-agent: *\nDisallow:")
    crawler.engine = engine  # type: ignore[assignment]
    return CachedRobotsTxtMiddleware.from_crawler(crawler), engine, crawler


def decide(middleware: CachedRobotsTxtMiddleware, path: str) -> bool:
    """Whether the middleware lets a request for `path` through."""
    try:
        asyncio.run(middleware.process_request(request(SITE + path, kind="article")))
    except IgnoreRequest:
        return False
    return True


def test_fresh_cached_robots_is_read_without_a_request(tmp_path: Path) -> None:
    middleware, engine, crawler = setup(tmp_path, cached=True)
    assert not decide(middleware, "/nbgl/art_1.html")  # the cached rules hold
    assert decide(middleware, "/col/col1003/index.html")
    assert engine.downloads == []
    assert crawler.stats.get_value(FROM_CACHE_STAT) == 1  # once per site, not per request


def test_stale_cached_robots_is_asked_for_through_the_engine(tmp_path: Path) -> None:
    middleware, engine, crawler = setup(tmp_path, cached=True)
    with patch("scrapy.extensions.httpcache.time", return_value=time.time() + 25 * 3600):
        assert decide(middleware, "/nbgl/art_1.html")  # the site's current answer allows everything
    assert [r.url for r in engine.downloads] == [SITE + "/robots.txt"]
    assert crawler.stats.get_value(FROM_CACHE_STAT) is None


@pytest.mark.parametrize("cache_on", [True, False])
def test_without_a_cached_copy_scrapy_asks_as_usual(tmp_path: Path, cache_on: bool) -> None:
    middleware, engine, _ = setup(tmp_path, cached=False, cache_on=cache_on)
    assert decide(middleware, "/nbgl/art_1.html")
    assert decide(middleware, "/nbgl/art_2.html")
    assert [r.url for r in engine.downloads] == [SITE + "/robots.txt"]
    assert engine.downloads[0].meta.get("dont_obey_robotstxt") is True
