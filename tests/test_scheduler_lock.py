"""One daemon per database: a lock file beside SQLite, an advisory lock on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from scheduler.lock import DaemonLock, DaemonLockError, daemon_running, lock_file_path
from tests.polling import wait_for


def test_sqlite_lock_file_sits_next_to_the_database(tmp_path):
    url = f"sqlite:///{tmp_path}/cw.db"
    assert lock_file_path(url, tmp_path / "data") == tmp_path / "cw.db.daemon.lock"
    assert lock_file_path("sqlite://", tmp_path / "data") == tmp_path / "data" / "daemon.lock"


def test_sqlite_second_lock_is_refused_and_released_on_release(tmp_path):
    url = f"sqlite:///{tmp_path}/cw.db"
    first, second = DaemonLock(url, tmp_path), DaemonLock(url, tmp_path)
    assert not daemon_running(url, tmp_path)
    first.acquire()
    assert daemon_running(url, tmp_path)
    with pytest.raises(DaemonLockError, match=r"another daemon \(pid \d+\) is running on this database"):
        second.acquire()
    first.release()
    assert not daemon_running(url, tmp_path)
    second.acquire()
    second.release()


def test_sqlite_lock_of_a_killed_holder_is_free(tmp_path):
    url = f"sqlite:///{tmp_path}/cw.db"
    script = (
        "import time; from pathlib import Path; from scheduler.lock import DaemonLock; "
        f"DaemonLock({url!r}, Path('.')).acquire(); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert daemon_running(url, tmp_path)
        holder.kill()
        holder.wait()
        wait_for(lambda: not daemon_running(url, tmp_path), what="the lock of a killed process to be free")
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture
def fresh_postgres_database(postgres_admin):
    """A database of its own: advisory locks are per database, not per schema."""
    name = f"lock_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_admin.url).set(database=name).render_as_string(hide_password=False)
    with postgres_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.mark.postgres
def test_postgres_advisory_lock(fresh_postgres_database, tmp_path):
    url = fresh_postgres_database
    first, second = DaemonLock(url, tmp_path), DaemonLock(url, tmp_path)
    assert not daemon_running(url, tmp_path)
    first.acquire()
    try:
        assert daemon_running(url, tmp_path)
        with pytest.raises(
            DaemonLockError, match=r"another daemon \(server pid \d+\) is running on this database"
        ):
            second.acquire()
    finally:
        first.release()
    assert not daemon_running(url, tmp_path)
    second.acquire()
    second.release()


def test_sqlite_lock_is_named_from_the_resolved_file_so_a_symlink_meets_it(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "cw.db").touch()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    direct, linked = f"sqlite:///{tmp_path}/real/cw.db", f"sqlite:///{tmp_path}/alias/cw.db"
    assert lock_file_path(linked, tmp_path) == lock_file_path(direct, tmp_path)
    first, second = DaemonLock(direct, tmp_path), DaemonLock(linked, tmp_path)
    first.acquire()
    try:
        assert daemon_running(linked, tmp_path)
        with pytest.raises(DaemonLockError, match="another daemon"):
            second.acquire()
    finally:
        first.release()
