"""Database steps that several workers may take at the same moment, made safe on PostgreSQL."""

from __future__ import annotations

from storage.db import ensure_current, make_engine
from storage.locks import advisory_lock

# The pg_advisory_lock key of migrations, shared by all workers ("cwmigr" in ASCII).
MIGRATE_LOCK = 0x63_77_6D_69_67_72


def upgrade_shared(url: str) -> None:
    """Migrate the database to the newest revision, one process at a time.

    Workers started together on a fresh database would otherwise all create the same tables.
    """
    engine = make_engine(url)
    try:
        with advisory_lock(engine, MIGRATE_LOCK):
            ensure_current(url)
    finally:
        engine.dispose()
