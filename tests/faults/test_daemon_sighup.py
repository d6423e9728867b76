"""SIGHUP with a broken configuration while the daemon is crawling: no crawl fails, the daemon runs on.

The daemon (in its own process, on the real database backend) starts with twelve sources due at
once and four crawl workers, so crawls queue behind each other. While they run, the file is broken
three ways — invalid YAML, an unknown time zone, a bad link selector — with a SIGHUP after each.
Every reload must be refused, every crawl (each reads the configuration it is handed, as the real
one does) must succeed, and a good file afterwards must still be taken. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from scheduler.state import OK, STATE_FILE, read_state
from tests.daemon_fakes import runs
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [f"site{i:02d}" for i in range(12)]
# What an operator's edit may break, as a change to the last source (None: the file is not YAML).
BROKEN: dict[str, dict[str, Any] | None] = {
    "invalid YAML": None,
    "unknown time zone": {"schedule": {"interval": "1h", "timezone": "Mars/Olympus"}},
    "bad link selector": {"link_selector": "ul.list a["},
}


def _text(database: str, tmp_path: Path, sources: list[str], change: dict[str, Any] | None = None) -> str:
    data = {
        "database": database,
        "data_dir": str(tmp_path / "data"),
        "sources": [
            {"name": n, "start_urls": [f"http://127.0.0.1:1/{n}/"], "schedule": "1h"} for n in sources
        ],
        # Batches of two: crawl processes keep starting, one after another, while the broken
        # files arrive (in one batch of twelve they would all have started before the first).
        "crawl": {"batch_size": 2},
    }
    data["sources"][-1].update(change or {})
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _log(path: Path) -> list[dict]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("{")
    ]


def _count(path: Path, text: str) -> int:
    return sum(text in line["message"] for line in _log(path))


def _ended(tmp_path: Path) -> int:
    return sum(1 for n in SOURCES for line in runs(tmp_path, n) if line.startswith("end"))


def _statuses(tmp_path: Path) -> dict[str, str | None] | None:
    """Each source's last crawl status once every source has one recorded (None before)."""
    jobs = read_state(tmp_path / "data" / STATE_FILE).jobs
    statuses = {n: jobs[f"crawl:{n}"].last_status if f"crawl:{n}" in jobs else None for n in SOURCES}
    return statuses if None not in statuses.values() else None


def _started(tmp_path: Path) -> int:
    return sum(1 for n in SOURCES for line in runs(tmp_path, n) if line.startswith("start"))


def test_sighup_with_broken_files_under_load_fails_no_crawl(migrated_url, tmp_path):
    config = tmp_path / "sources.yaml"
    config.write_text(_text(migrated_url, tmp_path, SOURCES), encoding="utf-8")
    for name in SOURCES:
        (tmp_path / f"{name}.sleep").write_text("1.5")
    log = tmp_path / "daemon.log"
    daemon = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.daemon_harness",
            str(config),
            "--fake-crawl",
            str(tmp_path),
            "--reads-config",
        ],
        cwd=ROOT,
        stderr=log.open("w"),
    )
    try:
        wait_for(lambda: _started(tmp_path) > 0, timeout=60, what="the first crawls to start")
        started_at_breakage = []
        for number, (what, change) in enumerate(BROKEN.items(), start=1):
            text = "sources: [\n" if change is None else _text(migrated_url, tmp_path, SOURCES, change)
            config.write_text(text, encoding="utf-8")
            started_at_breakage.append(_started(tmp_path))
            daemon.send_signal(signal.SIGHUP)
            wait_for(
                lambda n=number: _count(log, "configuration not reloaded") >= n,
                timeout=60,
                what=f"the file with {what} to be refused",
            )
            assert daemon.poll() is None, f"the daemon died on a file with {what}"
        # Crawls kept starting after the first broken file: the load was real.
        assert started_at_breakage[0] < len(SOURCES)
        statuses = wait_for(lambda: _statuses(tmp_path), timeout=120, what="every crawl to be recorded")
        assert statuses == dict.fromkeys(SOURCES, OK)
        assert _ended(tmp_path) == len(SOURCES)

        config.write_text(_text(migrated_url, tmp_path, [*SOURCES, "late"]), encoding="utf-8")
        daemon.send_signal(signal.SIGHUP)
        wait_for(
            lambda: _count(log, "source scheduled: crawl:late") == 1, timeout=60, what="the good file to load"
        )
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    refused = [line for line in _log(log) if "configuration not reloaded" in line["message"]]
    assert len(refused) == len(BROKEN)
    assert "Mars/Olympus" in refused[1]["message"] and "link_selector" in refused[2]["message"]
    assert "Traceback" not in log.read_text(encoding="utf-8")
