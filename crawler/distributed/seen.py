"""The shared seen-URL filter: a Redis sorted set of fingerprints scored by when they expire.

scrapy-redis's RFPDupeFilter is a plain set: a URL seen once is never fetched again. Here an entry
lasts `ttl` (config.distributed.seen_ttl), so a changed page is re-checked once its entry expires.
The check-and-add is one Lua script, atomic across workers, timed by the Redis server's clock so
workers on machines with skewed clocks agree; expired entries are trimmed by `trim`, which each
worker calls periodically.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any, Self

from redis import Redis
from scrapy import Request, Spider
from scrapy.dupefilters import BaseDupeFilter
from scrapy_redis.connection import get_redis_from_settings

logger = logging.getLogger(__name__)

# Returns 1 when the fingerprint is present and not expired, else records it and returns 0.
_SEEN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expires = redis.call('ZSCORE', KEYS[1], ARGV[1])
if expires and tonumber(expires) > now then
    return 1
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 0
"""
_TRIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
"""


def fingerprint(key: str) -> bytes:
    """A 16-byte digest of a seen-filter key (a canonical URL): compact in Redis."""
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest()


class ExpiringSeenFilter:
    """Fingerprints remembered for `ttl` in the sorted set `key`."""

    def __init__(self, server: Redis, key: str, ttl: timedelta) -> None:
        if ttl.total_seconds() <= 0:
            raise ValueError("the seen-URL filter needs a positive ttl")
        self.server = server
        self.key = key
        self.ttl_ms = int(ttl.total_seconds() * 1000)
        self._seen = server.register_script(_SEEN)
        self._trim = server.register_script(_TRIM)

    def seen(self, key: str) -> bool:
        """Whether `key` was seen within the ttl; if not, it is recorded as seen now."""
        return bool(self._seen(keys=[self.key], args=[fingerprint(key), self.ttl_ms]))

    def trim(self) -> int:
        """Drop expired entries; returns how many."""
        return int(self._trim(keys=[self.key]))

    def __len__(self) -> int:
        return int(self.server.zcard(self.key))

    def clear(self) -> None:
        """Forget everything (tests and operators only: workers never call this)."""
        self.server.delete(self.key)


class ExpiringDupeFilter(BaseDupeFilter):
    """A Scrapy dupefilter over ExpiringSeenFilter; the spider names what identifies a request.

    The key of a request is `spider.seen_key(request)` when the spider has one (the distributed
    spider uses the canonical URL of an article), else the request URL. The filter survives the
    spider: closing it keeps the entries (they are shared with the other workers).
    """

    def __init__(self, seen: ExpiringSeenFilter, spider: Spider | None = None) -> None:
        self.seen = seen
        self.spider = spider

    @classmethod
    def from_spider(cls, spider: Spider) -> Self:
        settings = spider.crawler.settings
        server = get_redis_from_settings(settings)
        key = settings.get("COUNTYWATCH_SEEN_KEY")
        ttl = timedelta(seconds=settings.getfloat("COUNTYWATCH_SEEN_TTL"))
        return cls(ExpiringSeenFilter(server, key, ttl), spider)

    def request_seen(self, request: Request) -> bool:
        key_of = getattr(self.spider, "seen_key", None)
        key = key_of(request) if callable(key_of) else request.url
        return self.seen.seen(str(key))

    def close(self, reason: str = "") -> Any:
        return None

    def clear(self) -> None:
        """Not emptied on flush: the filter is shared by every worker."""

    def log(self, request: Request, spider: Spider) -> None:
        logger.debug("already seen within the ttl: %s", request.url)
