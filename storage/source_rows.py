"""The database row of a configured source, created the first time the source is crawled or stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import Source, utcnow
from storage.rules import SourceRef

# Session.info key of the source rows source_row found in this session.
_SOURCE_ROWS = "countywatch.source_rows"
_SOURCE_BY_NAME = select(Source).where(Source.name == bindparam("name"))


def source_row(session: Session, ref: SourceRef, now: datetime | None = None) -> Source:
    """The row of a source, created on first use; its kind follows the configuration.

    Rows are remembered for the session's life (a writer's batch stores many articles of one
    source); a row created here and then rolled back with the caller's savepoint is no longer in
    the session, and is looked up (and created) again.
    """
    known: dict[str, Source] = session.info.setdefault(_SOURCE_ROWS, {})
    row = known.get(ref.name)
    if row is not None and not inspect(row).persistent:
        row = None
    if row is None:
        row = session.scalar(_SOURCE_BY_NAME, {"name": ref.name})
    if row is None:
        row = Source(name=ref.name, kind=ref.kind, created_at=now or utcnow())
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            row = session.scalars(_SOURCE_BY_NAME, {"name": ref.name}).one()
    known[ref.name] = row
    if row.kind != ref.kind:
        row.kind = ref.kind
    return row
