"""Per-source crawl schedules as data: when each source is next due (`sources.next_due_at`).

The daemon's batch tick asks `due_sources` for the most overdue sources and moves them on with
`set_next_due` in the same transaction, so two ticks never take the same source. Everything here
is set-based (one statement per call, whatever the number of sources): at 10,000 sources a tick
costs a few queries, not thousands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from storage.models import Source, utcnow
from storage.rules import SourceRef


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """What the database knows of a source's schedule."""

    next_due_at: datetime | None
    last_run_at: datetime | None


def schedule_rows(session: Session) -> dict[str, ScheduleRow]:
    """Every known source's next due time and last run, by name."""
    rows = session.execute(select(Source.name, Source.next_due_at, Source.last_run_at))
    return {name: ScheduleRow(due, last) for name, due, last in rows}


def ensure_sources(session: Session, refs: Sequence[SourceRef], *, now: datetime | None = None) -> int:
    """Create the rows of sources the database does not know yet (one insert); how many were new."""
    known = set(session.scalars(select(Source.name)))
    created = now or utcnow()
    missing = [
        {"name": ref.name, "kind": ref.kind, "created_at": created} for ref in refs if ref.name not in known
    ]
    if missing:
        session.execute(insert(Source), missing)
    return len(missing)


def set_next_due(session: Session, due: Mapping[str, datetime | None]) -> None:
    """Set each named source's next due time (None: not scheduled) in one executemany."""
    if not due:
        return
    table = cast(Table, Source.__table__)
    statement = (
        update(table)
        .where(table.c.name == bindparam("source_name"))
        .values(next_due_at=bindparam("due_at", type_=table.c.next_due_at.type))
    )
    session.execute(statement, [{"source_name": name, "due_at": at} for name, at in due.items()])


def due_sources(session: Session, now: datetime, *, limit: int) -> list[str]:
    """Up to `limit` sources due at `now`, the most overdue first (ties by name)."""
    statement = (
        select(Source.name)
        .where(Source.next_due_at.is_not(None), Source.next_due_at <= now)
        .order_by(Source.next_due_at, Source.name)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Two daemons never share a database (the daemon lock), but a row lock costs nothing and
        # keeps a tick's select-then-advance exact should one ever run beside another writer.
        statement = statement.with_for_update(skip_locked=True)
    return list(session.scalars(statement))
