"""The batch tick's side of the database: per-source schedules kept as data.

In batch mode the daemon has one APScheduler job (the tick) instead of one per source. Each source's
next due time lives in `sources.next_due_at`; the tick takes the most overdue ones (up to
`crawl.batch_size`), moves each on to its next time by its own schedule in the same transaction,
and crawls them in one process. A daemon restart keeps the due times; a source whose schedule got
shorter is brought forward, a removed or disabled one is taken off the schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from core.config import Config, Source
from scheduler.jobs import first_due, next_due
from storage.db import ensure_current, make_engine, make_session_factory
from storage.repository import SourceRef
from storage.schedule import due_sources, ensure_sources, schedule_rows, set_next_due

# (source name) -> when its crawl last succeeded (the daemon's job ledger), None if never.
LastSuccess = Callable[[str], datetime | None]


class ScheduleStore:
    """The sources' next due times in the daemon's database."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.engine = make_engine(database_url)
        self.sessions = make_session_factory(self.engine)

    def open(self) -> None:
        """Bring the database to the schema this code needs (as a crawl process would)."""
        ensure_current(self.database_url)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    def sync(
        self, sources: Sequence[Source], changed: set[str] | None, last_success: LastSuccess, now: datetime
    ) -> None:
        """Schedule the enabled `sources`; take every other source off the schedule.

        A source with no due time, or in `changed` (None: all, as on start), is due at the earlier
        of its stored time and what its schedule says given its last success.
        """
        enabled = {s.name: s for s in sources if s.enabled}
        with self.sessions() as session, session.begin():
            ensure_sources(session, [SourceRef.from_config(s) for s in enabled.values()], now=now)
            due: dict[str, datetime | None] = {}
            for name, row in schedule_rows(session).items():
                source = enabled.get(name)
                if source is None:
                    if row.next_due_at is not None:
                        due[name] = None
                    continue
                if row.next_due_at is not None and changed is not None and name not in changed:
                    continue
                wanted = first_due(source.schedule, last_success(name), now)
                if row.next_due_at is None or wanted < row.next_due_at:
                    due[name] = wanted
            set_next_due(session, due)

    def take_due(self, config: Config, now: datetime, limit: int) -> list[str]:
        """The sources due at `now` (most overdue first, at most `limit`), each moved on to its next time."""
        with self.sessions() as session, session.begin():
            names = due_sources(session, now, limit=limit)
            enabled = {s.name: s for s in config.sources if s.enabled}
            moved: dict[str, datetime | None] = {
                name: next_due(enabled[name].schedule, now) if name in enabled else None for name in names
            }
            set_next_due(session, moved)
        return [name for name in names if name in enabled]

    def next_runs(self) -> Mapping[str, datetime | None]:
        """{source name: next due time} of every scheduled source."""
        with self.sessions() as session:
            return {name: row.next_due_at for name, row in schedule_rows(session).items() if row.next_due_at}
