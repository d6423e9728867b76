"""Database steps that several workers may take at the same moment, made safe on PostgreSQL."""

from __future__ import annotations

from storage.db import make_engine, upgrade
from storage.locks import advisory_lock

# pg_advisory_lock keys shared by all workers ("cwstore", "cwmigr" in ASCII).
STORE_LOCK = 0x63_77_73_74_6F_72_65
MIGRATE_LOCK = 0x63_77_6D_69_67_72


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
