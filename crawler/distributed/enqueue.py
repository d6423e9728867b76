"""The push: start entries of due sources into the shared queue, for the workers to crawl.

A start entry is a small JSON object (`{"cw_start": 1, "source", "kind", "url", "cycle"}`), not a
serialised request: the daemon needs no spider to make one, and each worker builds the request with
the list spider's own request building (`DistributedSpider.request_from_entry`). Every push is one
crawl cycle (its number is the push time in milliseconds): list pages, feeds and sitemaps of each
source, plus its known articles to ask again, as `countywatch crawl` asks them: those due on the
decaying schedule (fetched even when no list links them any more) and the recent ones the site can
answer 304 for (`crawl.recheck_recent`: a conditional GET every cycle, so an edit is found in the
next one), each followed by one entry per stored attachment of it (a file replaced under the same
link leaves the page as it was). The push is where re-checks are scheduled: a worker reading a list
leaves the known articles on it to these entries. Each push also opens one crawl run per source
(its id on the entries as `run`) and first finishes the runs of earlier pushes that nothing is
pending for (runs.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis import Redis

from core.config import Config, Source
from crawler.distributed import codec
from crawler.distributed.database import upgrade_shared
from crawler.distributed.queue import START_ENTRY, Keys, WorkQueue
from crawler.distributed.runs import RunRecorder
from crawler.distributed.worker_settings import redis_url
from crawler.runtime.runner import select_sources
from storage.db import make_engine, make_session_factory
from storage.recheck import KnownPage
from storage.repository import SourceRef, known_pages, start_crawl_run

LIST_PRIORITY = 0
RECHECK_PRIORITY = 1  # as the list spider's article requests: articles before more list pages


@dataclass(frozen=True, slots=True)
class Recheck:
    """A stored article to ask again this cycle, and the stored attachments to ask with it."""

    url: str
    attachments: tuple[str, ...] = ()


def _entry(
    source: Source, kind: str, url: str, cycle: int, run: int | None, article: str | None = None
) -> bytes:
    entry: dict[str, object] = {
        START_ENTRY: 1,
        "source": source.name,
        "kind": kind,
        "url": url,
        "cycle": cycle,
    }
    if run is not None:
        entry["run"] = run
    if article is not None:
        entry["article"] = article  # an attachment entry: the article it belongs to
    return codec.dumps(entry)


def start_entries(source: Source, cycle: int, run: int | None = None) -> Iterator[tuple[bytes, int]]:
    """The queue entries (data, priority) of a source's list pages, feeds and sitemaps."""
    for kind, urls in (("list", source.start_urls), ("feed", source.feeds), ("sitemap", source.sitemaps)):
        for url in urls:
            yield _entry(source, kind, url, cycle, run), LIST_PRIORITY


def recheck_entries(
    source: Source, rechecks: Sequence[Recheck | str], cycle: int, run: int | None = None
) -> Iterator[tuple[bytes, int]]:
    """The queue entries of known articles to ask again, each followed by its attachments'."""
    for recheck in rechecks:
        item = Recheck(recheck) if isinstance(recheck, str) else recheck
        yield _entry(source, "article", item.url, cycle, run), RECHECK_PRIORITY
        for url in item.attachments:
            yield _entry(source, "attachment", url, cycle, run, article=item.url), RECHECK_PRIORITY


def rechecks(
    known: Mapping[str, KnownPage],
    now: datetime,
    recent: timedelta,
    attachments_per_article: int,
    every: timedelta = timedelta(0),
) -> list[Recheck]:
    """The stored articles of a source to ask again now, as the list spider chooses them.

    Due on the decaying schedule, or recent (first seen and published within `recent`), answering
    validators, so the conditional GET costs a 304 when nothing changed, and last checked at least
    `every` ago (`crawl.recheck_recent_every`: a push right after a cycle asks nothing new). An active
    article's stored attachments (the first `attachments_per_article`; 0: attachments are off)
    are asked with it.
    """
    out = []
    for url in sorted(known):
        page = known[url]
        early = (
            page.revalidatable()
            and page.recent(now, recent)
            and (page.last_checked is None or now - page.last_checked >= every)
        )
        if not (page.due(now) or early):
            continue
        files = page.attachments[:attachments_per_article] if page.status == "active" else ()
        out.append(Recheck(url, tuple(a.url for a in files)))
    return out


def open_runs(
    config: Config, sources: Sequence[Source], now: datetime
) -> tuple[dict[str, int], dict[str, list[Recheck]]]:
    """Open a crawl run per source; (run ids, the stored articles to ask again) by source."""
    url = config.database_url
    recent, every = config.crawl.recheck_recent, config.crawl.recheck_recent_every
    per_article = config.crawl.attachments_per_article if config.crawl.attachments else 0
    upgrade_shared(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            due = {
                s.name: rechecks(known_pages(session, s.name), now, recent, per_article, every)
                for s in sources
            }
            runs = {s.name: start_crawl_run(session, SourceRef.from_config(s), now=now) for s in sources}
            return runs, due
    finally:
        engine.dispose()


def enqueue_sources(config: Config, source_names: Sequence[str] | None = None) -> int:
    """Push the start requests of the named (default: all enabled) sources; how many were pushed.

    The daemon's batch tick calls this once for all the sources that are due (one process, one
    database transaction for their runs, one Redis round trip for their entries).

    Raises ConfigError for an unknown source or a configuration without Redis, and
    redis.exceptions.RedisError when the server cannot be reached.
    """
    sources = select_sources(config, list(source_names) if source_names else None)
    server = Redis.from_url(redis_url(config))
    keys = Keys(config.distributed.queue_prefix)
    recorder = RunRecorder(server, keys.prefix, config.database_url)
    try:
        # Reach Redis before opening runs, so an unreachable server leaves no run open.
        server.ping()
        now = datetime.now(UTC)
        cycle = time.time_ns() // 1_000_000
        runs, due = open_runs(config, sources, now)
        recorder.sweep()
        work = WorkQueue(server, keys)
        batches = [
            (
                runs[source.name],
                [
                    *start_entries(source, cycle, runs[source.name]),
                    *recheck_entries(source, due.get(source.name, []), cycle, runs[source.name]),
                ],
            )
            for source in sources
        ]
        # One round trip for the whole batch of sources.
        for (run, _), added in zip(batches, work.push_runs(batches), strict=True):
            if added == 0:
                recorder.finish(run)  # nothing to crawl: the run is over as it starts
        return sum(len(entries) for _, entries in batches)
    finally:
        recorder.close()
        server.close()


def queue_status(config: Config) -> tuple[int, int]:
    """(queued, in flight) of the shared queue."""
    server = Redis.from_url(redis_url(config))
    try:
        work = WorkQueue(server, Keys(config.distributed.queue_prefix))
        return len(work), work.in_flight()
    finally:
        server.close()
