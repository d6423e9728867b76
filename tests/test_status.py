"""`countywatch status`: runs per source and digest, health, deliveries, whether a daemon runs."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from click.testing import CliRunner

from countywatch.cli import cli
from scheduler.lock import DaemonLock
from scheduler.state import FAILED, OK, STATE_FILE, JobLedger
from storage.db import make_engine, make_session_factory, upgrade
from storage.repository import add_alert, ensure_deliveries, finish_crawl_run, mark_failed, start_crawl_run

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def setup(tmp_path):
    url = f"sqlite:///{tmp_path / 'cw.db'}"
    upgrade(url)
    config = tmp_path / "sources.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": url,
                "data_dir": str(tmp_path / "data"),
                "sources": [
                    {"name": "zhenping", "start_urls": ["http://127.0.0.1:1/"], "schedule": "6h"},
                    {"name": "ankang", "start_urls": ["http://127.0.0.2:1/"], "schedule": "30 7 * * *"},
                ],
                "notify": {
                    "channels": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook"}},
                    "subscriptions": [{"name": "morning", "channels": ["hook"], "schedule": "daily 08:00"}],
                },
            }
        ),
        encoding="utf-8",
    )
    ledger = JobLedger(tmp_path / "data" / STATE_FILE)
    ledger.finished("crawl:zhenping", OK, NOW - timedelta(hours=1))
    ledger.finished("crawl:ankang", FAILED, NOW - timedelta(hours=2), "exit 1")
    engine = make_engine(url)
    with make_session_factory(engine)() as session, session.begin():
        run = start_crawl_run(session, "ankang", now=NOW - timedelta(hours=2, minutes=1))
        finish_crawl_run(session, run, {}, "failing", "http_5xx: 4", now=NOW - timedelta(hours=2))
        alert_id, _ = add_alert(session, kind="health", key="health:test", payload={"source": "ankang"})
        (delivery,) = ensure_deliveries(session, [alert_id], "morning", "hook")
        mark_failed(session, delivery.id, "webhook 'hook': HTTP 502", NOW + timedelta(minutes=5))
    engine.dispose()
    return tmp_path, config, url


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_status_json_with_no_daemon(setup):
    _, config, _ = setup
    result = _run("status", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["daemon_running"] is False
    sources = {s["name"]: s for s in report["sources"]}
    assert sources["zhenping"]["last_status"] == OK
    # Interval source that ran an hour ago: next run 5 h from now, not "on start".
    assert datetime.fromisoformat(sources["zhenping"]["next_run"]) == NOW + timedelta(hours=5)
    assert sources["ankang"]["last_status"] == FAILED
    assert sources["ankang"]["last_error"] == "exit 1"
    assert sources["ankang"]["health"] == "failing"
    assert sources["ankang"]["health_error"] == "http_5xx: 4"
    (digest,) = report["digests"]
    assert (digest["name"], digest["schedule"], digest["last_sent"]) == ("morning", "daily 08:00", None)
    assert report["pending_deliveries"] == 0
    (failing,) = report["failing"]
    assert failing["subscription"] == "morning"
    assert failing["state"] == "retrying"
    assert failing["last_error"] == "webhook 'hook': HTTP 502"


def test_status_text_shows_the_daemon_tables_and_failing_deliveries(setup):
    _, config, _ = setup
    result = _run("status", "--config", str(config))
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("daemon: not running\n")
    assert "zhenping  6h" in text
    assert "ankang: exit 1" in text
    assert "deliveries: 0 pending, 1 failing" in text
    assert "morning → hook: 1 deliveries, 1 attempts, next attempt" in text
    assert text.rstrip().endswith("webhook 'hook': HTTP 502")


def test_status_sees_a_running_daemon_and_require_daemon_fails_without_one(setup):
    tmp_path, config, url = setup
    assert _run("status", "--config", str(config), "--require-daemon").exit_code == 1
    lock = DaemonLock(url, tmp_path / "data")
    lock.acquire()
    try:
        result = _run("status", "--config", str(config), "--json", "--require-daemon")
    finally:
        lock.release()
    assert result.exit_code == 0
    assert json.loads(result.output)["daemon_running"] is True


def test_status_on_a_database_without_tables_says_what_to_do(tmp_path):
    config = tmp_path / "sources.yaml"
    config.write_text(f"database: sqlite:///{tmp_path / 'empty.db'}\n", encoding="utf-8")
    sqlite3.connect(tmp_path / "empty.db").close()  # a database file with no tables in it
    result = CliRunner().invoke(cli, ["status", "--config", str(config)])
    assert result.exit_code == 1
    assert "has no countywatch tables: run `countywatch db upgrade`" in result.output
    assert "Traceback" not in result.output


def test_status_on_a_missing_database_file_says_so_and_creates_nothing(tmp_path):
    config = tmp_path / "sources.yaml"
    config.write_text(f"database: sqlite:///{tmp_path / 'missing.db'}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["status", "--config", str(config)])
    assert result.exit_code == 1
    assert "missing.db does not exist: run `countywatch db upgrade`" in result.output
    assert not (tmp_path / "missing.db").exists()


def test_status_with_a_bad_config_exits_2(tmp_path):
    config = tmp_path / "sources.yaml"
    config.write_text("databse: x\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["status", "--config", str(config)])
    assert result.exit_code == 2
    assert f"{config}: databse: unknown key" in result.output
