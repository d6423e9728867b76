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
not be stored.

A 304 needs no parsing either. The spider decodes and parses a page when it changes, and what the
reading gave (the article links with their list dates or lastmods, the feeds and child sitemaps the
page leads to) is kept in the entry's metadata (`META_REMEMBERED`) when it is committed, and put
back into the request's meta when the entry is read; on a 304 the spider takes the links from there
and decides on each as on a fresh reading (so an article that failed last time is asked again).
An entry without a reading (written before readings were kept) is parsed, and gets one.

A crawl killed, timed out or failed first leaves the cache as the last complete crawl
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.extensions.httpcache import FilesystemCacheStorage, RFC2616Policy
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector
from scrapy.utils.httpobj import urlparse_cached
from w3lib.http import headers_dict_to_raw

from crawler.runtime.tally import META_KIND, META_REMEMBERED, error_key, source_of

logger = logging.getLogger(__name__)

LIST_KINDS = frozenset({"list", "feed", "sitemap"})
ROBOTS_MAX_AGE = 24 * 3600.0
# robots.txt answers that stand for a day: the file, or none at all (crawl everything).
ROBOTS_KEPT_STATUSES = frozenset({200, 404, 410})
STAGING_DIR = ".staging"
# In an entry's metadata (ENTRY_MARKER): what reading the page gave (META_REMEMBERED).
REMEMBERED_KEY = "cw_remembered"
# Request meta: the reading the entry held when it was read (the spider replaces META_REMEMBERED
# with a new one when it parses the page; only then is the entry's metadata rewritten).
META_REMEMBERED_LOADED = "cw_remembered_loaded"
# Written last when an entry moves into the cache: FilesystemCacheStorage reads an entry only once
# this file exists, so a kill in mid-move leaves a complete older entry or a newer one being filled.
ENTRY_MARKER = "pickled_meta"
# The other files of an entry: all a read needs (Scrapy also writes `meta` and the request's headers
# and body, which nothing reads).
ENTRY_FILES = ("response_body", "response_headers", "response_data")


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


def entry_files(response: Response) -> list[tuple[str, bytes]]:
    """The files of a cache entry but its metadata (ENTRY_FILES), with their contents."""
    data = {k: v for k, v in response.to_dict().items() if k not in {"url", "status", "headers", "body"}}
    return [
        ("response_body", response.body),
        ("response_headers", headers_dict_to_raw(response.headers)),
        ("response_data", pickle.dumps(data, protocol=4)),
    ]


def entry_metadata(request: Request, response: Response) -> dict[str, Any]:
    """A cache entry's metadata (ENTRY_MARKER), as FilesystemCacheStorage reads it."""
    return {
        "url": request.url,
        "method": request.method,
        "status": response.status,
        "response_url": response.url,
        "timestamp": time.time(),
    }


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
        for name, content in entry_files(response):
            with self._open(folder / name, "wb") as f:
                f.write(content)
        with self._open(folder / ENTRY_MARKER, "wb") as f:  # last: retrieve_response looks for it
            pickle.dump(entry_metadata(request, response), f, protocol=4)

    def remember(self, folder: Path, reading: dict[str, Any]) -> None:
        """Keep what reading a page gave in its entry's metadata (replaced whole, never half-written)."""
        marker = folder / ENTRY_MARKER
        try:
            with self._open(marker, "rb") as f:
                metadata = pickle.load(f)
        except FileNotFoundError:
            return
        metadata[REMEMBERED_KEY] = reading
        fresh = folder / f"{ENTRY_MARKER}.{os.getpid()}.tmp"
        with self._open(fresh, "wb") as f:
            pickle.dump(metadata, f, protocol=4)
        os.replace(fresh, marker)


@dataclass(slots=True)
class _Staged:
    """A response written to the staging area, waiting for its source's crawl to be complete."""

    files: Path  # the staged files are this path with the entry's file names as suffixes
    metadata: dict[str, Any]  # the entry's metadata (ENTRY_MARKER), written on commit
    meta: dict[str, Any] | None  # a list page's request meta, where the spider leaves its reading


class StagedCacheStorage(RevalidatedFilesystemStorage):
    """Scrapy's filesystem cache, with responses committed only when the crawl that read them is done.

    Reads come from the cache; writes go to `<cache>/.staging/<pid>-<id>/` and move into the cache
    at spider_idle (see the module docstring). Staging areas of crawls that died are removed by the
    next crawl to open the cache.

    The staging area is one flat folder (`<fingerprint>.response_body`, ...), so staging an entry
    creates no folders and committing it removes none; the entry's metadata is kept in memory and
    written once, with the reading, as the last file of the committed entry. On a first crawl these
    file-system calls were the largest cost of the cache on the reactor thread.
    """

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self._staging_root = Path(self.cachedir, STAGING_DIR)
        self._area = self._staging_root / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._area_made = False
        self._stats: StatsCollector | None = None
        # source (None: robots.txt) -> cache entry -> its staged response
        self._staged: defaultdict[str | None, dict[Path, _Staged]] = defaultdict(dict)
        # source -> fingerprints of its list/feed/sitemap requests not (yet) answered 2xx/3xx
        self._unanswered: defaultdict[str | None, set[str]] = defaultdict(set)
        # source -> (committed entry folder, request meta) of list pages answered 304 whose reading
        # the spider will leave in the meta, to be kept in the entry's metadata on commit
        self._readings: defaultdict[str | None, dict[Path, dict[str, Any]]] = defaultdict(dict)

    def open_spider(self, spider: Spider) -> None:
        super().open_spider(spider)
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

    def _read_meta(self, spider: Spider, request: Request) -> dict[str, Any] | None:
        metadata: dict[str, Any] | None = super()._read_meta(spider, request)
        if metadata is not None and isinstance(metadata.get(REMEMBERED_KEY), dict):
            # For the spider, if the server answers 304: the page need not be parsed again.
            request.meta[META_REMEMBERED] = request.meta[META_REMEMBERED_LOADED] = metadata[REMEMBERED_KEY]
        return metadata

    def store_response(self, spider: Spider, request: Request, response: Response) -> None:
        source = source_of(request)
        listing = request.meta.get(META_KIND) in LIST_KINDS
        key = self._key(request)
        if response.status < 400:
            self._unanswered[source].discard(key)
        entry = Path(self.cachedir, spider.name, key[0:2], key)
        if "cached" in response.flags and (entry / ENTRY_MARKER).exists():
            # A 304 to a committed entry: its body is the one a complete crawl committed; only the
            # headers are fresher (robots.txt's freshness is computed from them).
            with self._open(entry / "response_headers", "wb") as f:
                f.write(headers_dict_to_raw(response.headers))
            if listing:
                self._readings[source][entry] = request.meta  # kept on commit if parsed this time
            return
        if not self._area_made:
            self._area.mkdir(parents=True, exist_ok=True)
            self._area_made = True
        files = self._area / key
        for name, content in entry_files(response):
            with self._open(f"{files}.{name}", "wb") as f:
                f.write(content)
        self._staged[source][entry] = _Staged(
            files, entry_metadata(request, response), request.meta if listing else None
        )

    def commit(self) -> None:
        """Move the staged responses of every source whose crawl is complete into the cache."""
        for source in set(self._staged) | set(self._readings):
            if self._unanswered.get(source) or self._failed_storing(source):
                logger.info("cache entries of %s not committed: the crawl of it was incomplete", source)
                continue
            for folder, meta in self._readings.pop(source, {}).items():
                reading = _new_reading(meta)
                if reading is not None:
                    self.remember(folder, reading)
            for entry, staged in self._staged.pop(source, {}).items():
                reading = _new_reading(staged.meta) if staged.meta is not None else None
                metadata = (
                    staged.metadata if reading is None else {**staged.metadata, REMEMBERED_KEY: reading}
                )
                self._move_entry(staged.files, entry, metadata)

    def _move_entry(self, files: Path, entry: Path, metadata: dict[str, Any]) -> None:
        """The staged files into the entry folder, then its metadata, which makes the entry visible."""
        entry.mkdir(parents=True, exist_ok=True)
        for name in ENTRY_FILES:
            with contextlib.suppress(FileNotFoundError):
                os.replace(f"{files}.{name}", entry / name)
        fresh = entry / f"{ENTRY_MARKER}.{os.getpid()}.tmp"
        with self._open(fresh, "wb") as f:
            pickle.dump(metadata, f, protocol=4)
        os.replace(fresh, entry / ENTRY_MARKER)

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


def _new_reading(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The reading the spider left in a list page's request meta this crawl, if it made one."""
    reading = meta.get(META_REMEMBERED)
    if isinstance(reading, dict) and reading is not meta.get(META_REMEMBERED_LOADED):
        return reading
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
