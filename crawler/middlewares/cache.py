"""The HTTP cache policy: conditional GET for every page the spider asks for.

Scrapy's `RFC2616Policy`, with a cached response never taken as fresh without asking the server:
every request is revalidated (If-None-Match / If-Modified-Since), because the heuristic freshness
of RFC 2616 would hide a new announcement, or a changed one, for hours. An unchanged list page,
feed or sitemap then costs a 304, and so does a known article that is due for a re-check and has
not changed (storage only re-schedules it). A 5xx is not papered over with the cached copy, so
source health sees it. robots.txt and untagged requests are not cached.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.extensions.httpcache import RFC2616Policy
from scrapy.http import Response

from crawler.tally import META_KIND

CACHED_KINDS = frozenset({"list", "feed", "sitemap", "article"})


class RevalidatingPolicy(RFC2616Policy):
    """RFC 2616 caching of the spider's own requests, always revalidated."""

    def should_cache_request(self, request: Request) -> bool:
        return request.meta.get(META_KIND) in CACHED_KINDS and super().should_cache_request(request)

    def is_cached_response_fresh(self, cachedresponse: Response, request: Request) -> bool:
        self._set_conditional_validators(request, cachedresponse)
        return False

    def is_cached_response_valid(
        self, cachedresponse: Response, response: Response, request: Request
    ) -> bool:
        return response.status == 304
