"""A SIGKILLed standalone `countywatch crawl` leaves its crawl_runs rows unfinished: `status` shows
those runs (the daemon's ledger never saw them) as interrupted by checking their process, and the
next crawl on the machine closes them as interrupted before starting its own. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from replica.network import ReplicaNetwork
from storage.db import make_engine, make_session_factory
from storage.models import CrawlRun
from tests.faults.crawl_harness import crawl, kill_at, start_crawl, stored_articles, write_config

pytestmark = pytest.mark.e2e


def runs(url: str) -> list[CrawlRun]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))
    finally:
        engine.dispose()


def status(config: Path) -> dict[str, dict[str, str | None]]:
    done = subprocess.run(
        [sys.executable, "-m", "countywatch", "status", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {s["name"]: s for s in json.loads(done.stdout)["sources"]}


def test_killed_standalone_crawl_shows_interrupted_and_is_closed_by_the_next(
    backend: str, replica: ReplicaNetwork, new_database: Callable[[str, Path], str], tmp_path: Path
) -> None:
    url = new_database(backend, tmp_path)
    config = write_config(replica, tmp_path, url)
    proc = start_crawl(config, tmp_path / "killed.log")
    assert kill_at(proc, lambda: stored_articles(url) >= 1, "an article stored")
    killed = runs(url)
    assert killed and all(r.finished_at is None and r.pid == proc.pid for r in killed)
    shown = status(config)
    assert {s["last_status"] for s in shown.values()} == {"interrupted"}

    crawl(config)
    after = runs(url)
    old, new = after[: len(killed)], after[len(killed) :]
    assert all(r.finished_at is not None and r.health is None for r in old)
    assert all(r.error and r.error.startswith("interrupted") for r in old)
    assert new and all(r.finished_at is not None and r.health is not None for r in new)
    shown = status(config)
    assert {s["last_status"] for s in shown.values()} == {"ok"}
    assert all(s["last_run"] for s in shown.values())
