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

Article pages are cached only with COUNTYWATCH_CACHE_ARTICLES: a due re-check of an unchanged
article then costs a 304 instead of a download and an extraction, but every first fetch pays for
writing the page to the cache (measured in bench/crawl.py: on this machine's filesystem that write
costs more than it saves in a first crawl, so it is off by default).

A 304 for a list page stands for "this page and everything it leads to was handled", so a page may
only count as seen once the crawl that read it stored what it links to. `StagedCacheStorage` writes
each response to a staging area of its own process and moves it into the cache when the crawl goes
idle (every request answered, every item through the pipelines, so every article stored), source by
source, skipping a source one of whose list pages, feeds or sitemaps failed, or whose articles could
not be stored. A crawl killed, timed out or failed first leaves the cache as the last complete crawl
left it: the next crawl gets 200s and follows the pagination again.

Cache writes run on the reactor thread, and on a loaded disk each file costs milliseconds, so
`RevalidatedFilesystemStorage` (the staged storage's base and its staging area) writes less than
Scrapy's filesystem storage: a new entry is the four files a read needs (the body, headers, other
response data, and the metadata last, which makes the entry visible), not seven (the human-readable
`meta` and the request's headers and body are never read); and a 304, after which Scrapy stores the
revalidated response again to freshen its headers, rewrites the committed entry's headers file
alone (its body is already the one a complete crawl committed). On an unchanged cycle that write was
the largest cost per list page.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import shutil
import time
import uuid
from collections import defaultdict
from pathlib import Path

from scrapy import Request, Spider, signals
from scrapy.extensions.httpcache import FilesystemCacheStorage, RFC2616Policy
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector
from scrapy.utils.httpobj import urlparse_cached
from w3lib.http import headers_dict_to_raw

from crawler.runtime.tally import META_KIND, error_key, source_of

logger = logging.getLogger(__name__)

LIST_KINDS = frozenset({"list", "feed", "sitemap"})
ROBOTS_MAX_AGE = 24 * 3600.0
# robots.txt answers that stand for a day: the file, or none at all (crawl everything).
ROBOTS_KEPT_STATUSES = frozenset({200, 404, 410})
STAGING_DIR = ".staging"
# Written last when an entry moves into the cache: FilesystemCacheStorage reads an entry only once
# this file exists, so a kill in mid-move leaves a complete older entry or a newer one being filled.
ENTRY_MARKER = "pickled_meta"


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


class StagedCacheStorage(RevalidatedFilesystemStorage):
    """Scrapy's filesystem cache, with responses committed only when the crawl that read them is done.

    Reads come from the cache; writes go to `<cache>/.staging/<pid>-<id>/` and move into the cache
    at spider_idle (see the module docstring). Staging areas of crawls that died are removed by the
    next crawl to open the cache.
    """

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self._staging_root = Path(self.cachedir, STAGING_DIR)
        area = self._staging_root / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._area = area
        self._stage = RevalidatedFilesystemStorage(
            BaseSettings(
                {
                    "HTTPCACHE_DIR": str(area),
                    "HTTPCACHE_GZIP": settings.getbool("HTTPCACHE_GZIP"),
                    "HTTPCACHE_EXPIRATION_SECS": settings.getint("HTTPCACHE_EXPIRATION_SECS"),
                }
            )
        )
        self._stats: StatsCollector | None = None
        # source (None: robots.txt) -> (staged entry, cache entry) pairs waiting for the crawl
        self._staged: defaultdict[str | None, dict[Path, Path]] = defaultdict(dict)
        # source -> fingerprints of its list/feed/sitemap requests not (yet) answered 2xx/3xx
        self._unanswered: defaultdict[str | None, set[str]] = defaultdict(set)

    def open_spider(self, spider: Spider) -> None:
        super().open_spider(spider)
        self._stage.open_spider(spider)
        self._stats = spider.crawler.stats
        spider.crawler.signals.connect(self.commit, signal=signals.spider_idle)
        self._discard_abandoned()

    def close_spider(self, spider: Spider) -> None:
        # What was not committed belongs to a crawl that did not finish: it must not be reused.
        shutil.rmtree(self._area, ignore_errors=True)

    def retrieve_response(self, spider: Spider, request: Request) -> Response | None:
        if request.meta.get(META_KIND) in LIST_KINDS:
            self._unanswered[source_of(request)].add(self._key(request))
        return super().retrieve_response(spider, request)

    def store_response(self, spider: Spider, request: Request, response: Response) -> None:
        source = source_of(request)
        if response.status < 400:
            self._unanswered[source].discard(self._key(request))
        entry = Path(self._get_request_path(spider, request))
        if "cached" in response.flags and (entry / ENTRY_MARKER).exists():
            # A 304 to a committed entry: its body is the one a complete crawl committed; only the
            # headers are fresher (robots.txt's freshness is computed from them).
            with self._open(entry / "response_headers", "wb") as f:
                f.write(headers_dict_to_raw(response.headers))
            return
        self._stage.store_response(spider, request, response)
        staged = Path(self._stage._get_request_path(spider, request))
        self._staged[source][staged] = Path(self._get_request_path(spider, request))

    def commit(self) -> None:
        """Move the staged responses of every source whose crawl is complete into the cache."""
        for source in list(self._staged):
            if self._unanswered.get(source) or self._failed_storing(source):
                logger.info("cache entries of %s not committed: the crawl of it was incomplete", source)
                continue
            for staged, entry in self._staged.pop(source).items():
                _move_entry(staged, entry)

    def _failed_storing(self, source: str | None) -> bool:
        return (
            source is not None
            and self._stats is not None
            and bool(self._stats.get_value(error_key(source, "storage"), 0))
        )

    def _key(self, request: Request) -> str:
        return self._fingerprinter.fingerprint(request).hex()

    def _discard_abandoned(self) -> None:
        if not self._staging_root.is_dir():
            return
        for area in self._staging_root.iterdir():
            pid = area.name.split("-", 1)[0]
            if area != self._area and pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(area, ignore_errors=True)


def _move_entry(staged: Path, entry: Path) -> None:
    entry.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in staged.iterdir())
    for name in [n for n in names if n != ENTRY_MARKER] + [ENTRY_MARKER]:
        with contextlib.suppress(FileNotFoundError):
            os.replace(staged / name, entry / name)
    shutil.rmtree(staged, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
