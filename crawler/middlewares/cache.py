"""The HTTP cache policy: conditional GET for list pages, feeds and sitemaps (and, optionally, articles).

Scrapy's `RFC2616Policy`, with a cached response never taken as fresh without asking the server:
every request is revalidated (If-None-Match / If-Modified-Since), because the heuristic freshness
of RFC 2616 would hide a new announcement, or a changed one, for hours. An unchanged list page,
feed or sitemap then costs a 304. A 5xx is not papered over with the cached copy, so source health
sees it.

robots.txt is the exception: it is cached the RFC 2616 way (fresh while its headers say so), but
for at most a day, as Google treats it, so a crawl run does not begin each site with a round trip
for a file that rarely changes. An answer that says nothing of its freshness (no Cache-Control,
Expires or Last-Modified) and a 404/410 (the site has no robots.txt: everything allowed) are kept
for that day too; RFC 2616 would not cache them, and every crawl of such a site would fetch its
robots.txt again. Other untagged requests are not cached.

Cache writes run on the reactor thread, and on a loaded disk each file costs milliseconds, so
`RevalidatedFilesystemStorage` writes less than Scrapy's filesystem storage: a new entry is the four
files a read needs (the body, headers, other response data, and the metadata last, which makes the
entry visible), not seven (the human-readable `meta` and the request's headers and body are never
read); and a 304, after which Scrapy stores the revalidated response again to freshen its headers,
rewrites the headers file alone. On an unchanged cycle that write was the largest cost per list page.

Article pages are cached only with COUNTYWATCH_CACHE_ARTICLES: a due re-check of an unchanged
article then costs a 304 instead of a download and an extraction, but every first fetch pays for
writing the page to the cache (measured in bench/crawl.py: on this machine's filesystem that write
costs more than it saves in a first crawl, so it is off by default).
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path

from scrapy import Request, Spider
from scrapy.extensions.httpcache import FilesystemCacheStorage, RFC2616Policy
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.httpobj import urlparse_cached
from w3lib.http import headers_dict_to_raw

from crawler.tally import META_KIND

LIST_KINDS = frozenset({"list", "feed", "sitemap"})
ROBOTS_MAX_AGE = 24 * 3600.0
# robots.txt answers that stand for a day: the file, or none at all (crawl everything).
ROBOTS_KEPT_STATUSES = frozenset({200, 404, 410})


def is_robots_request(request: Request) -> bool:
    """A request RobotsTxtMiddleware made for a site's robots.txt."""
    return bool(request.meta.get("dont_obey_robotstxt")) and urlparse_cached(request).path == "/robots.txt"


class RevalidatingPolicy(RFC2616Policy):
    """RFC 2616 caching of list/feed/sitemap requests (and articles if configured), always revalidated."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.kinds = (
            LIST_KINDS | {"article"} if settings.getbool("COUNTYWATCH_CACHE_ARTICLES") else LIST_KINDS
        )

    def should_cache_request(self, request: Request) -> bool:
        wanted = request.meta.get(META_KIND) in self.kinds or is_robots_request(request)
        return wanted and super().should_cache_request(request)

    def should_cache_response(self, response: Response, request: Request) -> bool:
        if (
            is_robots_request(request)
            and response.status in ROBOTS_KEPT_STATUSES
            and b"no-store" not in self._parse_cachecontrol(response)
        ):
            return True
        return super().should_cache_response(response, request)

    def is_cached_response_fresh(self, cachedresponse: Response, request: Request) -> bool:
        if is_robots_request(request):
            return super().is_cached_response_fresh(cachedresponse, request)
        self._set_conditional_validators(request, cachedresponse)
        return False

    def _compute_freshness_lifetime(self, response: Response, request: Request, now: float) -> float:
        # Only robots.txt gets here (is_cached_response_fresh): never trusted for more than a day,
        # and a day when its headers say nothing about freshness.
        headers = response.headers
        silent = (
            b"max-age" not in self._parse_cachecontrol(response)
            and b"Expires" not in headers
            and b"Last-Modified" not in headers
        )
        if silent and response.status in ROBOTS_KEPT_STATUSES:
            return ROBOTS_MAX_AGE
        return min(super()._compute_freshness_lifetime(response, request, now), ROBOTS_MAX_AGE)

    def is_cached_response_valid(
        self, cachedresponse: Response, response: Response, request: Request
    ) -> bool:
        return response.status == 304


class RevalidatedFilesystemStorage(FilesystemCacheStorage):
    """Scrapy's filesystem cache, writing only the files it reads (see the module docstring)."""

    def store_response(self, spider: Spider, request: Request, response: Response) -> None:
        folder = Path(self._get_request_path(spider, request))
        if "cached" in response.flags and (folder / "response_body").exists():
            # The body, status and URL on disk are this response's already.
            with self._open(folder / "response_headers", "wb") as f:
                f.write(headers_dict_to_raw(response.headers))
            return
        folder.mkdir(parents=True, exist_ok=True)
        metadata = {
            "url": request.url,
            "method": request.method,
            "status": response.status,
            "response_url": response.url,
            "timestamp": time.time(),
        }
        data = {k: v for k, v in response.to_dict().items() if k not in {"url", "status", "headers", "body"}}
        with self._open(folder / "response_body", "wb") as f:
            f.write(response.body)
        with self._open(folder / "response_headers", "wb") as f:
            f.write(headers_dict_to_raw(response.headers))
        with self._open(folder / "response_data", "wb") as f:
            pickle.dump(data, f, protocol=4)
        with self._open(folder / "pickled_meta", "wb") as f:  # last: retrieve_response looks for it
            pickle.dump(metadata, f, protocol=4)
