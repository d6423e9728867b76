"""Scrapy's RobotsTxtMiddleware, reading a site's robots.txt straight from the HTTP cache while it is fresh.

Scrapy asks for robots.txt through the engine: a request that passes every downloader middleware,
waits for a slot of its site's downloader, and is answered by HttpCacheMiddleware from the cache when
the cached copy is fresh (crawler.runtime.middlewares.cache keeps robots.txt for up to a day). In a
cycle where nothing changed, that round trip through the engine was a quarter of the requests and
about 0.1 s of CPU per 100 sites (bench/crawl.py). Here the first request to a site looks the file up
in the same cache storage with the same policy first; only a file that is missing or stale goes the
way Scrapy sends it (and is revalidated or fetched, and cached, there). The parser, the
`robots_parsed` signal and the decisions are Scrapy's.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.downloadermiddlewares.httpcache import HttpCacheMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler.runtime.tally import PREFIX

FROM_CACHE_STAT = f"{PREFIX}/robots_from_cache"


class CachedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware that takes a fresh cached robots.txt without a request through the engine."""

    _cache: HttpCacheMiddleware | bool | None = False  # False: not looked for yet

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            cached = self._fresh_cached(request)
            if cached is not None:
                self._parsers[netloc] = Deferred()
                self._stats.inc_value(FROM_CACHE_STAT)
                await self._parse_robots(cached, netloc, request)
        return await super().robot_parser(request)

    def _fresh_cached(self, request: Request) -> Response | None:
        """The cached robots.txt of the request's site if the cache policy holds it fresh, else None."""
        cache = self._cache_middleware()
        spider = self.crawler.spider
        if cache is None or spider is None:
            return None
        url = urlparse_cached(request)
        # The request Scrapy would send (same URL and method, so the same cache entry).
        robots = Request(
            f"{url.scheme}://{url.netloc}/robots.txt",
            priority=self.DOWNLOAD_PRIORITY,
            meta={"dont_obey_robotstxt": True},
            callback=NO_CALLBACK,
        )
        if not cache.policy.should_cache_request(robots):
            return None
        cached = cache.storage.retrieve_response(spider, robots)
        if cached is None or not cache.policy.is_cached_response_fresh(cached, robots):
            return None
        return cached

    def _cache_middleware(self) -> HttpCacheMiddleware | None:
        if self._cache is False:
            engine = self.crawler.engine
            found = None
            if engine is not None:
                for middleware in engine.downloader.middleware.middlewares:
                    if isinstance(middleware, HttpCacheMiddleware):
                        found = middleware
            self._cache = found
        return self._cache if isinstance(self._cache, HttpCacheMiddleware) else None
