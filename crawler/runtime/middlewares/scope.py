"""Crawl scope: every request, and every redirect target, must be on a host of its source.

A host is a host name and a port: `http://x/` and `https://x/` (each on its scheme's default port)
are the same site, `http://x:8080/` is another server and is out of scope unless a start URL, feed
or sitemap of the source names that port (`allowed_domains` and `mobile_hosts` are host names: the
default ports).

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

from core.config import Source
from crawler.runtime.middlewares import OffsiteRequest
from crawler.runtime.tally import PREFIX, source_of

logger = logging.getLogger(__name__)
DROPPED_STAT = f"{PREFIX}/offsite_dropped"


DEFAULT_PORTS = {"http": 80, "https": 443}

# (host name, port): the port None for a scheme's default port (80 for http, 443 for https).
Origin = tuple[str, int | None]


def url_origin(url: str) -> Origin | None:
    """The host and (non-default) port of an URL; None without a host or with a bad port."""
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    if port is not None and DEFAULT_PORTS.get(parts.scheme.lower()) == port:
        port = None
    return parts.hostname.lower().rstrip("."), port


def source_origins(source: Source) -> frozenset[Origin]:
    """Every host:port the source may be crawled on."""
    origins = {url_origin(u) for u in [*source.start_urls, *source.feeds, *source.sitemaps]}
    origins |= {(h.lower().rstrip("."), None) for h in [*source.allowed_domains, *source.mobile_hosts]}
    return frozenset(o for o in origins if o is not None)


class SourceScope:
    """The hosts (host name and port) each source may be crawled on."""

    def __init__(self, sources: Iterable[Source]) -> None:
        self._origins: dict[str, frozenset[Origin]] = {}
        self._subdomains: dict[str, bool] = {}
        for source in sources:
            self._origins[source.name] = source_origins(source)
            self._subdomains[source.name] = source.include_subdomains
        self._all = frozenset().union(*self._origins.values()) if self._origins else frozenset()

    def allows(self, source: str | None, host: str | None, port: int | None = None) -> bool:
        """Whether `host` on `port` (None: the default) belongs to `source` (any source if None)."""
        if not host:
            return False
        origin = (host.lower().rstrip("."), port)
        if source is None:
            return origin in self._all or any(
                self.allows(name, host, port) for name in self._origins if self._subdomains[name]
            )
        origins = self._origins.get(source)
        if origins is None:
            return False
        if origin in origins:
            return True
        return self._subdomains[source] and any(
            origin[0].endswith("." + h) and origin[1] == p for h, p in origins
        )

    def allows_url(self, source: str | None, url: str) -> bool:
        """Whether `url` is on a host:port of `source`."""
        origin = url_origin(url)
        return origin is not None and self.allows(source, *origin)


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
                "ScopeMiddleware needs a spider with a `scope` (crawler.runtime.spiders.lists.ListSpider)"
            )
        return scope

    def process_request(self, request: Request) -> None:
        if self._scope().allows_url(source_of(request), request.url):
            return
        assert self.stats is not None
        self.stats.inc_value(DROPPED_STAT)
        via = request.meta.get("redirect_urls")
        what = f"redirect from {via[0]} to" if via else "request to"
        logger.warning("off-domain %s %s dropped", what, request.url)
        raise OffsiteRequest(f"off-domain {what} {request.url}")
