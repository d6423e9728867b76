"""Database steps that several workers may take at the same moment, made safe on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, func, select

from storage.db import make_engine, upgrade

# pg_advisory_lock keys shared by all workers ("cwstore", "cwmigr" in ASCII).
STORE_LOCK = 0x63_77_73_74_6F_72_65
MIGRATE_LOCK = 0x63_77_6D_69_67_72


@contextmanager
def advisory_lock(engine: Engine, key: int) -> Iterator[None]:
    """Hold PostgreSQL advisory lock `key` for the block (a no-op on other databases)."""
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


def upgrade_shared(url: str) -> None:
    """Migrate the database to the newest revision, one process at a time.

    Workers started together on a fresh database would otherwise all create the same tables.
    """
    engine = make_engine(url)
    try:
        with advisory_lock(engine, MIGRATE_LOCK):
            upgrade(url)
    finally:
        engine.dispose()
