"""Crawl runs in distributed mode: opened by the push, counted by every worker, finished once.

`enqueue_sources` opens one crawl_runs row per source and cycle and stamps its id on the entries
(`run`, then `cw_run` in the meta of every request that descends from them). In Redis each open
run has
  <prefix>:runs                  set of open run ids
  <prefix>:run:<id>:pending      entries of the run queued or claimed (pushed +1, acknowledged -1)
  <prefix>:run:<id>:stats        hash of the run's counters, summed over workers (HINCRBY)
  <prefix>:run:<id>:early        set of the canonical URLs whose early re-check answered 304
A worker counts through Scrapy's stats as a single crawl does (crawler.runtime.tally); `RunStatsCollector`
also keeps the increments per run, and the queue sends them with each acknowledgement in one
pipelined round trip, before the acknowledgement itself: when a run's pending count reaches zero
every count of it is already in its hash. The worker whose acknowledgement reached zero finishes
the run (`RunRecorder.finish`); the next push finishes any run left with nothing pending (a worker
that died between the two). A conditional UPDATE of the crawl_runs row makes the finish happen
exactly once whoever tries it. Early re-checks that found their article unchanged travel the same
way (a set per run, sent before the acknowledgement): the finish records their check time in its
own transaction, as `countywatch crawl` does at its end (storage.recheck.mark_early_checked).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.statscollectors import MemoryStatsCollector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler.runtime.health import COUNTERS, ERROR_KINDS, SourceHistory, SourceStats, decide_health
from crawler.runtime.runner import error_summary
from crawler.runtime.tally import PREFIX
from storage.db import make_engine, make_session_factory
from storage.repository import claim_run_end, finish_crawl_run, first_seen_before, mark_early_checked

logger = logging.getLogger(__name__)

META_RUN = "cw_run"  # the crawl run (crawl_runs.id) a request belongs to
ERRORS = "errors/"
# Counters sent after a run was finished (a late response of an overlapping cycle) expire unread.
STATS_TTL_SECONDS = 7 * 24 * 3600


def counter_field(key: str, sources: Collection[str]) -> tuple[str, str] | None:
    """(source, hash field) of a per-source stats key of crawler.runtime.tally, else None."""
    if not key.startswith(f"{PREFIX}/"):
        return None
    rest = key[len(PREFIX) + 1 :]
    source, sep, name = rest.partition(f"/{ERRORS}")
    if sep:
        return (source, ERRORS + name) if source in sources and name in ERROR_KINDS else None
    source, _, name = rest.rpartition("/")
    return (source, name) if source in sources and name in COUNTERS else None


def stats_from_hash(values: dict[bytes, bytes]) -> SourceStats:
    """The SourceStats a run's counter hash adds up to."""
    out = SourceStats()
    for raw_key, raw_value in values.items():
        name, value = raw_key.decode(), int(raw_value)
        if name.startswith(ERRORS):
            kind = name[len(ERRORS) :]
            if kind in ERROR_KINDS and value:
                out.errors[kind] = value
        elif name in COUNTERS:
            setattr(out, name, value)
    return out


class RunStatsCollector(MemoryStatsCollector):
    """Scrapy's stats collector, keeping the per-source increments also per crawl run.

    The run of a count is the run of the newest cycle this worker has entered for the source
    (`spider.current_run(source)`): a response of an older, still running cycle is counted in the
    newer run. The sum over runs is exact; only overlapping cycles can shift counts between them.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._deltas: dict[int, Counter[str]] = {}

    def inc_value(self, key: str, count: int = 1, start: int = 0, spider: Spider | None = None) -> None:
        super().inc_value(key, count, start, spider)
        spider = self._crawler.spider
        current_run = getattr(spider, "current_run", None)
        if current_run is None:
            return
        parsed = counter_field(key, getattr(spider, "sources", {}).keys())
        if parsed is None:
            return
        run = current_run(parsed[0])
        if run is not None:
            self._deltas.setdefault(int(run), Counter())[parsed[1]] += count

    def take_deltas(self) -> dict[int, Counter[str]]:
        """The increments since the last call, per run (and forget them)."""
        deltas, self._deltas = self._deltas, {}
        return deltas


def add_deltas(pipe: Pipeline | Redis, prefix: str, deltas: dict[int, Counter[str]]) -> None:
    """Queue HINCRBYs of per-run increments on `pipe`."""
    for run, counts in deltas.items():
        key = run_stats_key(prefix, run)
        for name, n in counts.items():
            if n:
                pipe.hincrby(key, name, n)
        pipe.expire(key, STATS_TTL_SECONDS)


def add_early(pipe: Pipeline | Redis, prefix: str, early: Mapping[int, Sequence[str]]) -> None:
    """Queue on `pipe` the early re-checks that answered 304 (canonical URLs), per run."""
    for run, urls in early.items():
        if urls:
            key = run_early_key(prefix, run)
            pipe.sadd(key, *urls)
            pipe.expire(key, STATS_TTL_SECONDS)


def runs_key(prefix: str) -> str:
    return f"{prefix}:runs"


def run_pending_key(prefix: str, run: int) -> str:
    return f"{prefix}:run:{run}:pending"


def run_stats_key(prefix: str, run: int) -> str:
    return f"{prefix}:run:{run}:stats"


def run_early_key(prefix: str, run: int) -> str:
    return f"{prefix}:run:{run}:early"


def close_run(
    sessions: sessionmaker[Session],
    run_id: int,
    stats: SourceStats,
    *,
    now: datetime | None = None,
    early: Sequence[str] = (),
) -> bool:
    """Finish crawl run `run_id` with `stats` and the health they decide; False if already finished.

    `early` are the stored articles (canonical URLs) whose early re-check answered 304: their
    `last_checked` becomes the finish time, in the same transaction. The conditional UPDATE claims
    the row: on PostgreSQL a concurrent second caller waits for the row lock and then matches
    nothing; SQLite serialises the transactions.
    """
    now = now or datetime.now(UTC)
    with sessions() as session, session.begin():
        claimed = claim_run_end(session, run_id, now)
        if claimed is None:
            return False
        source_id, started_at = claimed
        # The history as it was when the run started, as the single-process crawl sees it.
        history = SourceHistory.from_first_seen(first_seen_before(session, source_id, started_at))
        health = decide_health(stats, history, now)
        finish_crawl_run(session, run_id, stats.to_json(), health, error_summary(stats), now=now)
        mark_early_checked(session, sorted(early), now=now)
    return True


class RunRecorder:
    """Finishes distributed crawl runs: reads their counters from Redis, records them once."""

    def __init__(self, server: Redis, prefix: str, database_url: str) -> None:
        self.server = server
        self.prefix = prefix
        self.database_url = database_url
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    def _session_factory(self) -> sessionmaker[Session]:
        if self._sessions is None:
            self._engine = make_engine(self.database_url)
            self._sessions = make_session_factory(self._engine)
        return self._sessions

    def pending(self, run: int) -> int:
        """Entries of `run` still queued or claimed."""
        return int(self.server.get(run_pending_key(self.prefix, run)) or 0)

    def finish(self, run: int) -> bool:
        """Record `run` with its summed counters and early checks (True), unless it was already
        finished (False)."""
        stats_key, early_key = run_stats_key(self.prefix, run), run_early_key(self.prefix, run)
        with self.server.pipeline(transaction=False) as pipe:
            pipe.hgetall(stats_key)
            pipe.smembers(early_key)
            values, early = pipe.execute()
        urls = [url.decode() if isinstance(url, bytes) else str(url) for url in early]
        stats = stats_from_hash(values)
        done = close_run(self._session_factory(), run, stats, early=urls)
        with self.server.pipeline() as pipe:
            pipe.delete(run_pending_key(self.prefix, run), stats_key, early_key)
            pipe.srem(runs_key(self.prefix), run)
            pipe.execute()
        if done:
            logger.info("crawl run %d finished: %s", run, stats.to_json())
        return done

    def finish_quietly(self, run: int) -> None:
        """`finish`, a database or Redis error logged (the next push finishes the run)."""
        try:
            self.finish(run)
        except (SQLAlchemyError, RedisError) as exc:
            logger.error("could not record crawl run %d (the next push will): %s", run, type(exc).__name__)

    def sweep(self) -> list[int]:
        """Finish every open run with nothing pending; the runs this call finished."""
        finished: list[int] = []
        for raw in self.server.smembers(runs_key(self.prefix)):
            run = int(raw)
            if self.pending(run) <= 0 and self.finish(run):
                finished.append(run)
        return sorted(finished)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._sessions = None
