"""PostgreSQL advisory locks, the one implementation for the daemon lock and the workers' locks.

Keys are single bigints (ASCII names packed into 8 bytes); the server releases a lock when its
session ends, so a holder killed with SIGKILL never blocks its successor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session

_LOW32 = (1 << 32) - 1


@contextmanager
def advisory_lock(engine: Engine, key: int) -> Iterator[None]:
    """Hold advisory lock `key` for the block, waiting for it (a no-op on other databases)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(select(func.pg_advisory_lock(key)))
        try:
            yield
        finally:
            conn.execute(select(func.pg_advisory_unlock(key)))
            conn.commit()


def advisory_xact_lock(session: Session, key: int) -> None:
    """Hold advisory lock `key` until the session's transaction ends (a no-op on other databases).

    Taken by a statement of the transaction itself and released by its commit or rollback: no
    second connection and no unlock round trip.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(key)))


def try_advisory_lock(conn: Connection, key: int) -> bool:
    """Take advisory lock `key` for the session of `conn` if it is free; False when someone holds it."""
    return bool(conn.execute(select(func.pg_try_advisory_lock(key))).scalar())


def advisory_lock_holder(conn: Connection, key: int) -> int | None:
    """The server pid of the session holding advisory lock `key` in this database, if any."""
    row = conn.execute(
        text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = :high AND objid = :low AND objsubid = 1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"high": key >> 32, "low": key & _LOW32},
    ).first()
    return int(row[0]) if row else None
