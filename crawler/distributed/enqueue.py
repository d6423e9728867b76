"""The push: start entries of due sources into the shared queue, for the workers to crawl.

A start entry is a small JSON object (`{"cw_start": 1, "source", "kind", "url", "cycle"}`), not a
serialised request: the daemon needs no spider to make one, and each worker builds the request with
the list spider's own request building (`DistributedSpider.request_from_entry`). Every push is one
crawl cycle (its number is the push time in milliseconds): list pages, feeds and sitemaps of each
source, plus its known articles due for a re-check (as `countywatch crawl` fetches them even when
no list links them any more).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from redis import Redis

from countywatch.config import Config, Source
from crawler.distributed import codec
from crawler.distributed.database import upgrade_shared
from crawler.distributed.queue import START_ENTRY, Keys, WorkQueue
from crawler.distributed.settings import redis_url
from crawler.runner import select_sources
from storage.db import make_engine, make_session_factory
from storage.repository import known_pages

LIST_PRIORITY = 0
RECHECK_PRIORITY = 1  # as the list spider's article requests: articles before more list pages


def start_entries(source: Source, cycle: int) -> Iterator[tuple[bytes, int]]:
    """The queue entries (data, priority) of a source's list pages, feeds and sitemaps."""
    for kind, urls in (("list", source.start_urls), ("feed", source.feeds), ("sitemap", source.sitemaps)):
        for url in urls:
            entry = {START_ENTRY: 1, "source": source.name, "kind": kind, "url": url, "cycle": cycle}
            yield codec.dumps(entry), LIST_PRIORITY


def recheck_entries(source: Source, urls: Sequence[str], cycle: int) -> Iterator[tuple[bytes, int]]:
    """The queue entries of known articles due for a re-check."""
    for url in urls:
        entry = {START_ENTRY: 1, "source": source.name, "kind": "article", "url": url, "cycle": cycle}
        yield codec.dumps(entry), RECHECK_PRIORITY


def due_articles(config: Config, sources: Sequence[Source], now: datetime) -> dict[str, list[str]]:
    """Per source, the stored articles due for a re-check at `now`."""
    url = config.database_url
    upgrade_shared(url)
    engine = make_engine(url, read_only=True)
    try:
        with make_session_factory(engine)() as session:
            return {
                s.name: sorted(u for u, page in known_pages(session, s.name).items() if page.due(now))
                for s in sources
            }
    finally:
        engine.dispose()


def enqueue_sources(config: Config, source_names: Sequence[str] | None = None) -> int:
    """Push the start requests of the named (default: all enabled) sources; how many were pushed.

    Raises ConfigError for an unknown source or a configuration without Redis, and
    redis.exceptions.RedisError when the server cannot be reached.
    """
    sources = select_sources(config, list(source_names) if source_names else None)
    now = datetime.now(UTC)
    cycle = time.time_ns() // 1_000_000
    due = due_articles(config, sources, now)
    entries: list[tuple[bytes, int]] = []
    for source in sources:
        entries.extend(start_entries(source, cycle))
        entries.extend(recheck_entries(source, due.get(source.name, []), cycle))
    server = Redis.from_url(redis_url(config))
    try:
        WorkQueue(server, Keys(config.distributed.queue_prefix)).push_many(entries)
    finally:
        server.close()
    return len(entries)


def queue_status(config: Config) -> tuple[int, int]:
    """(queued, in flight) of the shared queue."""
    server = Redis.from_url(redis_url(config))
    try:
        work = WorkQueue(server, Keys(config.distributed.queue_prefix))
        return len(work), work.in_flight()
    finally:
        server.close()
