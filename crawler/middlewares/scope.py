"""Crawl scope: every request, and every redirect target, must be on a host of its source.

Scrapy's OffsiteMiddleware only knows one domain list per spider and lets `dont_filter` requests
through; here each request is checked against the hosts of the source it was made for, including
the new requests RedirectMiddleware makes (they pass through `process_request` again), so an
off-domain redirect is recorded and never followed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Self
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.utils.httpobj import urlparse_cached

from countywatch.config import Source
from crawler.middlewares import OffsiteRequest
from crawler.tally import PREFIX, source_of

logger = logging.getLogger(__name__)
DROPPED_STAT = f"{PREFIX}/offsite_dropped"


class SourceScope:
    """The hosts each source may be crawled on."""

    def __init__(self, sources: Iterable[Source]) -> None:
        self._hosts: dict[str, frozenset[str]] = {}
        self._subdomains: dict[str, bool] = {}
        for source in sources:
            self._hosts[source.name] = frozenset(source.domains)
            self._subdomains[source.name] = source.include_subdomains
        self._all = frozenset().union(*self._hosts.values()) if self._hosts else frozenset()

    def allows(self, source: str | None, host: str | None) -> bool:
        """Whether `host` belongs to `source` (to any source when `source` is None)."""
        if not host:
            return False
        host = host.lower().rstrip(".")
        if source is None:
            return host in self._all or any(
                self.allows(name, host) for name in self._hosts if self._subdomains[name]
            )
        hosts = self._hosts.get(source)
        if hosts is None:
            return False
        if host in hosts:
            return True
        return self._subdomains[source] and any(host.endswith("." + d) for d in hosts)

    def allows_url(self, source: str | None, url: str) -> bool:
        """Whether `url` is on a host of `source`."""
        return self.allows(source, urlsplit(url).hostname)


class ScopeMiddleware:
    """Drops (and counts) every request outside its source's hosts."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _scope(self) -> SourceScope:
        spider: Spider | None = self.crawler.spider
        scope = getattr(spider, "scope", None)
        if not isinstance(scope, SourceScope):
            raise RuntimeError(
                "ScopeMiddleware needs a spider with a `scope` (crawler.spiders.lists.ListSpider)"
            )
        return scope

    def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname
        if self._scope().allows(source_of(request), host):
            return
        assert self.stats is not None
        self.stats.inc_value(DROPPED_STAT)
        via = request.meta.get("redirect_urls")
        what = f"redirect from {via[0]} to" if via else "request to"
        logger.warning("off-domain %s %s dropped", what, request.url)
        raise OffsiteRequest(f"off-domain {what} {request.url}")
