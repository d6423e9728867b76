"""Crawl runs and source health: each run records its stats and a health state; a change of a
source's health state raises an operator alert (kind `health`), never a content alert."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.ingest import source_row
from storage.models import HEALTH_STATES, CrawlRun, Source, utcnow
from storage.outbox import add_alert
from storage.rules import SourceRef

# A source never crawled counts as healthy, so a first run that is fine raises nothing.
INITIAL_HEALTH = "ok"


@dataclass(frozen=True, slots=True)
class SourceHealthRow:
    """A source's current health."""

    name: str
    kind: str
    health: str | None  # None: never crawled
    since: datetime | None  # when the health last changed
    last_run_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class CrawlRunRow:
    """One run in a source's health history."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    health: str | None
    stats: dict[str, Any]
    error: str | None
    pid: int | None = None
    host: str | None = None


def start_crawl_run(
    session: Session,
    source: str | SourceRef,
    *,
    now: datetime | None = None,
    pid: int | None = None,
    host: str | None = None,
) -> int:
    """Record the start of a crawl of a source (by name, or a SourceRef to create it with its kind),
    with the process running it when one does (`pid` on `host`)."""
    now = now or utcnow()
    ref = source if isinstance(source, SourceRef) else None
    row = source_row(session, ref, now) if ref is not None else _named_source(session, str(source), now)
    run = CrawlRun(source_id=row.id, started_at=now, stats={}, pid=pid, host=host)
    session.add(run)
    session.flush()
    return run.id


def _named_source(session: Session, name: str, now: datetime) -> Source:
    row = session.scalar(select(Source).where(Source.name == name))
    return row if row is not None else source_row(session, SourceRef(name=name, kind="other"), now)


def finish_crawl_run(
    session: Session,
    run_id: int,
    stats: dict[str, Any],
    health: str,
    error: str | None = None,
    *,
    now: datetime | None = None,
) -> int | None:
    """Record the end of a run; returns the id of the health alert when the source's state changed."""
    if health not in HEALTH_STATES:
        raise ValueError(f"unknown health state {health!r} (known: {', '.join(HEALTH_STATES)})")
    run = session.get(CrawlRun, run_id)
    if run is None:
        raise ValueError(f"no crawl run with id {run_id}")
    now = now or utcnow()
    run.finished_at = now
    run.stats = dict(stats)
    run.health = health
    run.error = error
    source = session.get(Source, run.source_id)
    assert source is not None
    # A source never recorded counts as ok for deciding whether to alert (its first failing run
    # does), but the alert must not claim a past state it never had: `previous` stays None then.
    previous = source.health
    source.last_run_at = now
    alert_id: int | None = None
    if health != (previous or INITIAL_HEALTH):
        payload = {
            "source": source.name,
            "previous": previous,
            "health": health,
            "error": error,
            "stats": run.stats,
        }
        alert_id, _ = add_alert(
            session,
            kind="health",
            key=f"health:source:{source.id}:run:{run.id}",
            payload=payload,
            source_id=source.id,
            now=now,
        )
    if health != source.health:
        source.health = health
        source.health_changed_at = now
    session.flush()
    return alert_id


def interrupt_dead_runs(
    session: Session, host: str, alive: Callable[[int], bool], *, now: datetime | None = None
) -> list[int]:
    """Close, as interrupted, the unfinished runs of processes of `host` that are gone; their ids.

    A killed `countywatch crawl` never finishes its runs: the next crawl on the machine closes
    them (finished, health left empty), so history and `status` stop showing them as running.
    """
    now = now or utcnow()
    stale = session.scalars(
        select(CrawlRun).where(
            CrawlRun.finished_at.is_(None), CrawlRun.host == host, CrawlRun.pid.is_not(None)
        )
    )
    closed = []
    for run in stale:
        assert run.pid is not None
        if alive(run.pid):
            continue
        run.finished_at = now
        run.error = f"interrupted: the crawl process {run.pid} on {host} ended before finishing the run"
        closed.append(run.id)
    session.flush()
    return closed


def process_alive(pid: int) -> bool:
    """Whether a process `pid` exists on this machine (the liveness check of a run's process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def run_status(run: CrawlRunRow, host: str, alive: Callable[[int], bool]) -> str:
    """ok | interrupted | running: how a run stands, its process checked when it is on `host`."""
    if run.finished_at is not None:
        return "interrupted" if run.health is None else "ok"
    if run.host == host and run.pid is not None and not alive(run.pid):
        return "interrupted"
    return "running"


def latest_runs(session: Session) -> dict[str, CrawlRunRow]:
    """Each source's most recent run, by source name."""
    newest = (
        select(CrawlRun.source_id, func.max(CrawlRun.id).label("id")).group_by(CrawlRun.source_id).subquery()
    )
    stmt = (
        select(Source.name, CrawlRun)
        .join(newest, newest.c.id == CrawlRun.id)
        .join(Source, Source.id == CrawlRun.source_id)
    )
    return {
        name: CrawlRunRow(
            run.id, run.started_at, run.finished_at, run.health, dict(run.stats), run.error, run.pid, run.host
        )
        for name, run in session.execute(stmt)
    }


def source_health(session: Session) -> list[SourceHealthRow]:
    """Every known source's current health, by name."""
    out: list[SourceHealthRow] = []
    for source in session.scalars(select(Source).order_by(Source.name)):
        last_error = session.scalar(
            select(CrawlRun.error)
            .where(CrawlRun.source_id == source.id, CrawlRun.finished_at.is_not(None))
            .order_by(CrawlRun.finished_at.desc(), CrawlRun.id.desc())
            .limit(1)
        )
        out.append(
            SourceHealthRow(
                source.name,
                source.kind,
                source.health,
                source.health_changed_at,
                source.last_run_at,
                last_error,
            )
        )
    return out


def health_history(session: Session, source_name: str, *, limit: int = 20) -> list[CrawlRunRow]:
    """The latest runs of a source, newest first."""
    stmt = (
        select(CrawlRun)
        .join(Source, Source.id == CrawlRun.source_id)
        .where(Source.name == source_name)
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(limit)
    )
    return [
        CrawlRunRow(run.id, run.started_at, run.finished_at, run.health, dict(run.stats), run.error)
        for run in session.scalars(stmt)
    ]
