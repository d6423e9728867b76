"""What the daemon needs from storage and alerts (`Backend`), and the real one (`StorageBackend`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from alerts.delivery import deliver_due
from core.config import Config, ConfigError
from scheduler.crawl_process import CrawlOutcome
from scheduler.state import INTERRUPTED
from storage.crawlruns import INITIAL_HEALTH
from storage.repository import (
    SourceRef,
    alert_counts,
    finish_crawl_run,
    health_history,
    health_of,
    source_health,
    start_crawl_run,
)

# A crawl that ran out of time says something about the site; one stopped by the daemon does not.
FAILING = "failing"


class Backend(Protocol):
    """What the daemon needs from storage and alerts; tests give it a recording fake."""

    def record_crawl(self, config: Config, source: str, outcome: CrawlOutcome, started_at: datetime) -> None:
        """Make sure the database holds a finished run for a crawl the child could not finish itself."""

    def deliver(self, config: Config, subscription: str | None, now: datetime) -> tuple[int, int]:
        """Send what is due (for one subscription, or every due one and retries): (sent, failed)."""

    def health(self) -> list[tuple[str, str]]:
        """(source, health state) for every source the database knows."""

    def alert_counts(self) -> dict[str, int]:
        """{alert kind: number of alerts} in the outbox."""


class StorageBackend:
    """Records crawls the child could not finish, runs the outbox, reads source health."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def record_crawl(self, config: Config, source: str, outcome: CrawlOutcome, started_at: datetime) -> None:
        """Finish the run rows the child left open (or create one when it never got that far)."""
        error = outcome.error or outcome.status
        stats = {"status": outcome.status, "duration_s": round(outcome.duration, 1)}
        with self.session_factory() as session, session.begin():
            runs = [run for run in health_history(session, source, limit=10) if run.started_at >= started_at]
            open_ids = [run.id for run in runs if run.finished_at is None]
            if not runs:
                open_ids = [start_crawl_run(session, _source_ref(config, source), now=started_at)]
            # One row, not every source's health: a failed batch records hundreds of sources.
            current = health_of(session, source)
            health = (current or INITIAL_HEALTH) if outcome.status == INTERRUPTED else FAILING
            for run_id in open_ids:
                finish_crawl_run(session, run_id, stats, health, error)

    def deliver(self, config: Config, subscription: str | None, now: datetime) -> tuple[int, int]:
        """Send what is due; (digests sent, digests failed)."""
        report = deliver_due(self.session_factory, config, now=now, subscription=subscription)
        return len(report.sent), len(report.failed)

    def health(self) -> list[tuple[str, str]]:
        """(source, health) for every crawled source."""
        with self.session_factory() as session:
            return [(row.name, row.health) for row in source_health(session) if row.health is not None]

    def alert_counts(self) -> dict[str, int]:
        """{alert kind: number of alerts} in the outbox."""
        with self.session_factory() as session:
            return alert_counts(session)


def _source_ref(config: Config, name: str) -> SourceRef | str:
    try:
        return SourceRef.from_config(config.source(name))
    except ConfigError:
        return name
