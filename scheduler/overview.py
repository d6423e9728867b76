"""What `countywatch status` shows: runs per source and digest, health, deliveries, the daemon.

Built from three places: the configuration (what should run), the daemon's job ledger (what ran and
what runs next) and the database (source health, the delivery log). Everything is a plain dataclass
so the command can print it as text or JSON.
"""

from __future__ import annotations

import socket
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.config import Config
from scheduler.jobs import build_job_specs, resume_time
from scheduler.lock import daemon_running
from scheduler.state import SchedulerState
from storage.outbox import failing_deliveries, last_sent_at, pending_delivery_count
from storage.repository import CrawlRunRow, latest_runs, process_alive, run_status, source_health


@dataclass(frozen=True, slots=True)
class JobStatus:
    """One source's crawl job or one subscription's digest job."""

    name: str
    schedule: str
    last_run: str | None
    last_status: str | None
    last_error: str | None
    last_success: str | None
    next_run: str | None  # "on start" for a due job when no daemon runs


@dataclass(frozen=True, slots=True)
class SourceStatus(JobStatus):
    """A source's job, plus its health from the database."""

    health: str | None = None
    health_since: str | None = None
    health_error: str | None = None


@dataclass(frozen=True, slots=True)
class DigestStatus(JobStatus):
    """A subscription's job, plus when a digest last went out."""

    last_sent: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryProblem:
    """Deliveries of one subscription × channel that keep failing."""

    subscription: str
    channel: str
    state: str  # retrying | gave_up
    deliveries: int
    attempts: int
    last_error: str
    next_attempt: str | None


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Everything `countywatch status` prints."""

    daemon_running: bool
    daemon_pid: int | None
    daemon_started_at: str | None
    sources: list[SourceStatus] = field(default_factory=list)
    digests: list[DigestStatus] = field(default_factory=list)
    pending_deliveries: int = 0
    failing: list[DeliveryProblem] = field(default_factory=list)
    recent_job_events: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def build_status(
    config: Config, state: SchedulerState, session_factory: sessionmaker[Session], *, now: datetime
) -> StatusReport:
    """Gather the status report."""
    running = daemon_running(config.database_url, config.data_path)
    with session_factory() as session:
        health = {row.name: row for row in source_health(session)}
        runs = latest_runs(session)
        pending = pending_delivery_count(session)
        failing = failing_deliveries(session, now=now)
        sent = {sub.name: last_sent_at(session, sub.name) for sub in config.notify.subscriptions}
    sources: list[SourceStatus] = []
    digests: list[DigestStatus] = []
    for spec in build_job_specs(config):
        rec = state.jobs.get(spec.id)
        next_run = state.next_runs.get(spec.id) if running else _next_if_started(config, spec.id, state, now)
        common: dict[str, Any] = {
            "name": spec.target or spec.id,
            "last_run": rec.last_finished if rec else None,
            "last_status": rec.last_status if rec else None,
            "last_error": rec.last_error if rec else None,
            "last_success": rec.last_success if rec else None,
            "next_run": next_run,
        }
        if spec.kind == "crawl":
            assert spec.target is not None
            source = config.source(spec.target)
            row = health.get(spec.target)
            common.update(_standalone_run(runs.get(spec.target), rec.last_finished if rec else None))
            schedule = source.schedule.describe(jitter=False)
            sources.append(
                SourceStatus(
                    **common,
                    schedule=schedule,
                    health=row.health if row else None,
                    health_since=_iso(row.since) if row else None,
                    health_error=row.last_error if row else None,
                )
            )
        elif spec.kind == "digest":
            assert spec.target is not None
            digests.append(
                DigestStatus(**common, schedule=spec.schedule, last_sent=_iso(sent.get(spec.target)))
            )
    return StatusReport(
        daemon_running=running,
        daemon_pid=state.daemon.pid if running else None,
        daemon_started_at=state.daemon.started_at if running else None,
        sources=sources,
        digests=digests,
        pending_deliveries=int(pending),
        failing=[
            DeliveryProblem(
                f.subscription,
                f.channel,
                f.state,
                f.deliveries,
                f.attempts,
                f.last_error,
                _iso(f.next_attempt_at),
            )
            for f in failing
        ],
        recent_job_events=[asdict(e) for e in state.events[-10:]],
    )


def _standalone_run(run: CrawlRunRow | None, ledger_finished: str | None) -> dict[str, Any]:
    """The database's latest run of a source when it began after the daemon's last one ended: a
    `countywatch crawl` the daemon's ledger never saw (running, done, or interrupted)."""
    if run is None or (ledger_finished and run.started_at <= datetime.fromisoformat(ledger_finished)):
        return {}
    status = run_status(run, socket.gethostname(), process_alive)
    out: dict[str, Any] = {
        "last_run": _iso(run.finished_at or run.started_at),
        "last_status": status,
        "last_error": run.error,
    }
    if status == "ok":
        out["last_success"] = _iso(run.finished_at)
    return out


def _next_if_started(config: Config, job_id: str, state: SchedulerState, now: datetime) -> str | None:
    """With no daemon running: when the job would run once one starts."""
    spec = next(s for s in build_job_specs(config) if s.id == job_id)
    if spec.kind != "crawl":
        fire = spec.trigger(config).get_next_fire_time(None, now)
        return _iso(fire)
    assert spec.target is not None
    rec = state.jobs.get(job_id)
    schedule = config.source(spec.target).schedule
    trigger = spec.trigger(config)
    due = resume_time(trigger, rec.last_success_at if rec else None, now, schedule.interval)
    if due is not None and due <= now:
        return "on start"
    return _iso(due or trigger.get_next_fire_time(None, now))
