"""One daemon per database: a lock file next to a SQLite database, an advisory lock on PostgreSQL.

Both kinds are released by the operating system or the server when the holder dies (even by SIGKILL),
so a crashed daemon never blocks its successor.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy import Connection, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from storage.locks import advisory_lock_holder, try_advisory_lock

# The advisory lock key: "countywa" in ASCII.
DAEMON_LOCK = 0x63_6F_75_6E_74_79_77_61


class DaemonLockError(Exception):
    """Another daemon holds the lock, or the lock cannot be taken."""


def lock_file_path(database_url: str, data_dir: Path) -> Path | None:
    """The lock file for a SQLite database (None for PostgreSQL, which uses an advisory lock)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if url.database and url.database != ":memory:":
        # Named from the resolved file: a symlink (or `..` in the path) to the same database must
        # meet the same lock, or two daemons would share one database.
        resolved = Path(url.database).resolve()
        return resolved.with_name(resolved.name + ".daemon.lock")
    return data_dir / "daemon.lock"


class DaemonLock:
    """Held by the running daemon for its whole life."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.database_url = database_url
        self.file_path = lock_file_path(database_url, data_dir)
        self._fd: int | None = None
        self._conn: Connection | None = None

    def acquire(self) -> None:
        """Take the lock or raise DaemonLockError naming who holds it."""
        if self.file_path is not None:
            self._acquire_file(self.file_path)
        else:
            self._acquire_pg()

    def _acquire_file(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DaemonLockError(
                f"another daemon (pid {holder}) is running on this database ({path})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def _acquire_pg(self) -> None:
        engine = create_engine(self.database_url, poolclass=NullPool)
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if not try_advisory_lock(conn, DAEMON_LOCK):
            holder = advisory_lock_holder(conn, DAEMON_LOCK)
            conn.close()
            raise DaemonLockError(f"another daemon (server pid {holder}) is running on this database")
        self._conn = conn

    def release(self) -> None:
        """Give the lock up (idempotent)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def daemon_running(database_url: str, data_dir: Path) -> bool:
    """Whether some daemon holds the lock of this database right now."""
    path = lock_file_path(database_url, data_dir)
    if path is not None:
        if not path.exists():
            return False
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return advisory_lock_holder(conn, DAEMON_LOCK) is not None
    finally:
        engine.dispose()
