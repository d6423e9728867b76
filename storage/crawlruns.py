"""Crawl runs and source health: each run records its stats and a health state; a change of a
source's health state raises an operator alert (kind `health`), never a content alert."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.models import HEALTH_STATES, Article, CrawlRun, Source, utcnow
from storage.outbox import add_alert
from storage.rules import SourceRef
from storage.source_rows import source_row

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


def start_crawl_runs(
    session: Session,
    refs: Sequence[SourceRef],
    *,
    now: datetime | None = None,
    pid: int | None = None,
    host: str | None = None,
) -> dict[str, int]:
    """Record the start of a crawl of each source, as `start_crawl_run` does, in a few statements:
    {source name: run id}. A batch crawl opens hundreds of runs; one by one that was a select, a
    possible insert and a flush per source."""
    now = now or utcnow()
    names = [ref.name for ref in refs]
    rows = {row.name: row for row in session.scalars(select(Source).where(Source.name.in_(names)))}
    for ref in refs:
        row = rows.get(ref.name)
        if row is None:
            rows[ref.name] = source_row(session, ref, now)  # rare: a source crawled for the first time
        elif row.kind != ref.kind:
            row.kind = ref.kind
    runs = {
        name: CrawlRun(source_id=rows[name].id, started_at=now, stats={}, pid=pid, host=host)
        for name in names
    }
    session.add_all(runs.values())
    session.flush()
    return {name: run.id for name, run in runs.items()}


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
    alert_id = _finish(session, run, stats, health, error, now or utcnow())
    session.flush()
    return alert_id


def finish_crawl_runs(
    session: Session,
    ends: Sequence[tuple[int, dict[str, Any], str, str | None]],
    *,
    now: datetime | None = None,
) -> list[int | None]:
    """`finish_crawl_run` for many runs, as (run id, stats, health, error), with their rows read in
    two queries and written in one flush; the health alert ids, in order."""
    for _, _, health, _ in ends:
        if health not in HEALTH_STATES:
            raise ValueError(f"unknown health state {health!r} (known: {', '.join(HEALTH_STATES)})")
    ids = [run_id for run_id, _, _, _ in ends]
    runs = {run.id: run for run in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(ids)))}
    missing = [run_id for run_id in ids if run_id not in runs]
    if missing:
        raise ValueError(f"no crawl run with id {missing[0]}")
    # Loaded into the identity map, so each run's session.get(Source) below needs no query.
    list(session.scalars(select(Source).where(Source.id.in_({run.source_id for run in runs.values()}))))
    at = now or utcnow()
    alerts = [
        _finish(session, runs[run_id], stats, health, error, at) for run_id, stats, health, error in ends
    ]
    session.flush()
    return alerts


def _finish(
    session: Session, run: CrawlRun, stats: dict[str, Any], health: str, error: str | None, now: datetime
) -> int | None:
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


def health_of(session: Session, source_name: str) -> str | None:
    """One source's current health state (None for a source never crawled or unknown)."""
    return session.scalar(select(Source.health).where(Source.name == source_name))


def claim_run_end(session: Session, run_id: int, now: datetime) -> tuple[int, datetime] | None:
    """Stamp unfinished run `run_id` finished at `now`; (its source id, its start), or None if done.

    A conditional UPDATE claims the row: on PostgreSQL a concurrent second caller waits for the
    row lock and then matches nothing; SQLite serialises the transactions. The caller records the
    run's stats and health with `finish_crawl_run` in the same transaction.
    """
    claimed = session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id, CrawlRun.finished_at.is_(None))
        .values(finished_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    run = session.get(CrawlRun, run_id)
    assert run is not None
    return run.source_id, run.started_at


def first_seen_before(session: Session, source_id: int, before: datetime) -> list[datetime]:
    """When each article of the source first seen before `before` was first seen (its history)."""
    stmt = select(Article.first_seen).where(Article.source_id == source_id, Article.first_seen < before)
    return list(session.scalars(stmt))


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
