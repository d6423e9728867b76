"""One crawl cycle: every (or the named) source crawled once, stats and health recorded.

Twisted's reactor cannot be restarted, so `run_cycle` runs at most once per process; the daemon
runs each cycle as a `countywatch crawl` child process.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from twisted.python.failure import Failure

from core.config import Config, ConfigError, Source
from core.imports import long_lived
from crawler.runtime.handler_import import import_http_handler
from crawler.runtime.health import HealthState, SourceHistory, SourceStats, decide_health
from crawler.runtime.middlewares.scope import DROPPED_STAT
from crawler.runtime.pipelines.extraction import EXTRACT_CPU_STAT
from crawler.runtime.pipelines.store import STORE_CPU_STAT
from crawler.runtime.settings import crawl_settings
from crawler.runtime.spiders.lists import ListSpider
from crawler.runtime.tally import read_source_stats
from storage.crawlruns import finish_crawl_runs, interrupt_dead_runs, process_alive, start_crawl_runs
from storage.db import ensure_current, make_engine, make_session_factory
from storage.recheck import KnownPage, known_pages_of, mark_early_checked
from storage.rules import SourceRef


class CrawlError(Exception):
    """The crawl itself could not run (not a site failing: that is a source's health)."""


@dataclass(slots=True)
class SourceReport:
    """One source's part of a cycle."""

    name: str
    stats: SourceStats
    health: HealthState
    error: str | None = None  # the errors of the run in one line, e.g. "http_5xx: 3, timeout: 1"

    def to_json(self) -> dict[str, Any]:
        """A plain dict for `countywatch crawl --json`."""
        return {"name": self.name, "health": self.health, "error": self.error, **self.stats.to_json()}


@dataclass(slots=True)
class CycleReport:
    """What one crawl cycle did."""

    started_at: datetime
    finished_at: datetime
    finish_reason: str
    requests: int  # HTTP requests sent (robots.txt and revalidations included)
    responses_304: int
    offsite_dropped: int
    extract_cpu_seconds: float  # CPU the extraction workers spent on pages
    store_cpu_seconds: float = 0.0  # CPU the store writer process spent (0: the crawl process stored)
    sources: list[SourceReport] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The machine-readable report the scheduler parses."""
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "seconds": round((self.finished_at - self.started_at).total_seconds(), 3),
            "finish_reason": self.finish_reason,
            "requests": self.requests,
            "responses_304": self.responses_304,
            "offsite_dropped": self.offsite_dropped,
            "extract_cpu_seconds": self.extract_cpu_seconds,
            "store_cpu_seconds": self.store_cpu_seconds,
            "sources": [s.to_json() for s in self.sources],
        }


def select_sources(config: Config, names: Sequence[str] | None) -> list[Source]:
    """The enabled sources, or the named ones (ConfigError for an unknown name)."""
    if names:
        return [config.source(name) for name in names]
    return [s for s in config.sources if s.enabled]


def error_summary(stats: SourceStats) -> str | None:
    """The run's errors in one line, most frequent first."""
    if not stats.errors:
        return None
    ranked = sorted(stats.errors.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{kind}: {n}" for kind, n in ranked)


def scrapy_settings(config: Config) -> Settings:
    """The project defaults overlaid with what the configuration says."""
    settings = Settings()
    settings.setmodule("crawler.runtime.settings", priority="project")
    settings.update(crawl_settings(config), priority="cmdline")
    return settings


def run_cycle(config: Config, source_names: list[str] | None = None) -> CycleReport:
    """Crawl the sources once in this process and record each source's run and health."""
    sources = select_sources(config, source_names)
    if not sources:
        raise ConfigError("no sources to crawl (none configured, or all disabled)")
    config.data_path.mkdir(parents=True, exist_ok=True)
    url = config.database_url
    ensure_current(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    started = datetime.now(UTC)
    try:
        host, pid = socket.gethostname(), os.getpid()
        with long_lived():
            # The known pages and Scrapy's components (imported as the crawler is made) live as long
            # as the crawl: they are set up with the collector paused, then frozen out of it.
            with sessions() as session, session.begin():
                interrupt_dead_runs(session, host, process_alive, now=started)
                refs = [SourceRef.from_config(s) for s in sources]
                run_ids = start_crawl_runs(session, refs, now=started, pid=pid, host=host)
                known: dict[str, dict[str, KnownPage]] = known_pages_of(session, [s.name for s in sources])
            import_http_handler()
            process = CrawlerProcess(scrapy_settings(config))
            crawler = process.create_crawler(ListSpider)
            failures: list[Failure] = []
            done = process.crawl(crawler, sources=sources, known=known, topics=config.topics, now=started)
            done.addErrback(failures.append)
        process.start()
        if failures:
            raise CrawlError(f"the crawl failed: {failures[0].getErrorMessage()}")
        assert crawler.stats is not None
        stats = crawler.stats.get_stats()
        finished = datetime.now(UTC)

        report = CycleReport(
            started_at=started,
            finished_at=finished,
            finish_reason=str(stats.get("finish_reason", "unknown")),
            requests=int(stats.get("downloader/request_count", 0)),
            # HttpCacheMiddleware turns a 304 into the cached response before the downloader counts it.
            responses_304=int(stats.get("httpcache/revalidate", 0)),
            offsite_dropped=int(stats.get(DROPPED_STAT, 0)),
            extract_cpu_seconds=float(stats.get(EXTRACT_CPU_STAT, 0.0)),
            store_cpu_seconds=float(stats.get(STORE_CPU_STAT, 0.0)),
        )
        for source in sources:
            source_stats = read_source_stats(stats, source.name)
            history = SourceHistory.from_first_seen(page.first_seen for page in known[source.name].values())
            health = decide_health(source_stats, history, finished)
            report.sources.append(
                SourceReport(source.name, source_stats, health, error_summary(source_stats))
            )
        spider = crawler.spider
        assert isinstance(spider, ListSpider)
        early = [url for urls in spider.early_unchanged.values() for url in urls]
        with sessions() as session, session.begin():
            ends = [(run_ids[s.name], s.stats.to_json(), s.health, s.error) for s in report.sources]
            finish_crawl_runs(session, ends, now=finished)
            mark_early_checked(session, early, now=finished)
        return report
    finally:
        engine.dispose()
