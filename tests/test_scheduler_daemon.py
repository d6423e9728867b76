"""The daemon in-process: crawl time limit, job errors and missed runs recorded, metrics endpoint."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from countywatch.config import ConfigError
from scheduler.daemon import Daemon
from scheduler.state import FAILED, TIMED_OUT, read_state
from tests.daemon_fakes import RecordingBackend, fake_crawl_command, free_port, runs
from tests.polling import wait_for


def _config(tmp_path: Path, **extra) -> Path:
    data = {
        "database": f"sqlite:///{tmp_path / 'cw.db'}",
        "data_dir": str(tmp_path / "data"),
        "sources": [{"name": "slow", "start_urls": ["http://127.0.0.1:1/"], "schedule": "1h"}],
        **extra,
    }
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


class FailingBackend(RecordingBackend):
    def deliver(self, config, subscription, now):
        raise RuntimeError("outbox table is locked")


def _daemon(tmp_path: Path, backend: RecordingBackend | None = None, **kwargs) -> Daemon:
    return Daemon(
        kwargs.pop("config", None) or _config(tmp_path),
        backend or RecordingBackend(tmp_path / "calls.jsonl"),
        crawl_command=fake_crawl_command(tmp_path),
        kill_grace=1.0,
        **kwargs,
    )


def test_a_crawl_over_its_time_limit_is_terminated_and_recorded_as_timed_out(tmp_path):
    (tmp_path / "slow.sleep").write_text("60")
    daemon = _daemon(tmp_path, config=_config(tmp_path, crawl={"time_limit": "1s"}))
    daemon.start()
    try:
        state_file = daemon.ledger.path
        wait_for(lambda: read_state(state_file).jobs.get("crawl:slow", None) and read_state(state_file).jobs[
            "crawl:slow"].last_status, what="the crawl to end")  # fmt: skip
    finally:
        daemon.stop()
    record = read_state(daemon.ledger.path).jobs["crawl:slow"]
    assert (record.last_status, record.last_error) == (TIMED_OUT, "time limit of 1s reached")
    assert not [line for line in runs(tmp_path, "slow") if line.startswith("end")]
    calls = daemon.backend.calls()  # type: ignore[attr-defined]
    assert {
        "call": "record_crawl",
        "source": "slow",
        "status": TIMED_OUT,
        "error": "time limit of 1s reached",
    } in calls
    sample = daemon.metrics.registry.get_sample_value
    assert sample("countywatch_crawl_runs_total", {"source": "slow", "status": TIMED_OUT}) == 1.0


def test_a_job_that_raises_is_logged_recorded_and_counted(tmp_path, caplog):
    config = _config(
        tmp_path,
        sources=[],
        notify={
            "channels": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/h"}},
            "subscriptions": [{"name": "now", "channels": ["hook"], "schedule": "immediate"}],
        },
    )
    daemon = _daemon(tmp_path, FailingBackend(tmp_path / "calls.jsonl"), config=config)
    daemon.start()
    try:
        wait_for(
            lambda: read_state(daemon.ledger.path).events, what="the catch-up job's error to be recorded"
        )
    finally:
        daemon.stop()
    state = read_state(daemon.ledger.path)
    (event,) = state.events
    assert (event.job_id, event.kind) == ("deliveries:catchup", "error")
    assert event.message == "RuntimeError: outbox table is locked"
    assert state.jobs["deliveries:catchup"].last_status == FAILED
    assert "job deliveries:catchup failed: RuntimeError: outbox table is locked" in caplog.text
    sample = daemon.metrics.registry.get_sample_value
    assert sample("countywatch_job_errors_total", {"job": "deliveries:catchup", "kind": "error"}) == 1.0


def test_a_missed_run_is_logged_recorded_and_counted(tmp_path, caplog):
    # A yearly cron: the only run time between `due` and now is `due` itself, so coalescing cannot
    # turn it into a later, still-in-grace run. One job per source (batch_size 0): the batch tick
    # runs every minute, and a tick an hour late coalesces into one within its grace.
    yearly = [{"name": "slow", "start_urls": ["http://127.0.0.1:1/"], "schedule": "0 0 1 1 *"}]
    daemon = _daemon(tmp_path, config=_config(tmp_path, sources=yearly, crawl={"batch_size": 0}))
    daemon.start(paused=True)
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)  # beyond the 15 min grace
    try:
        daemon.scheduler.modify_job("crawl:slow", next_run_time=due)
        daemon.scheduler.resume()
        wait_for(lambda: read_state(daemon.ledger.path).events, what="the missed run to be recorded")
    finally:
        daemon.stop()
    event = read_state(daemon.ledger.path).events[0]
    assert (event.job_id, event.kind) == ("crawl:slow", "missed")
    assert event.message == f"run due at {due.isoformat()} was missed"
    assert f"job crawl:slow: run due at {due.isoformat()} was missed" in caplog.text
    sample = daemon.metrics.registry.get_sample_value
    assert sample("countywatch_job_errors_total", {"job": "crawl:slow", "kind": "missed"}) == 1.0


def _get(url: str, token: str | None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_daemon_serves_metrics_on_loopback_behind_the_token(tmp_path, monkeypatch):
    port = free_port()
    monkeypatch.setenv("CW_TEST_METRICS_TOKEN", "tok-123456")
    config = _config(
        tmp_path, sources=[], metrics={"enabled": True, "port": port, "token_env": "CW_TEST_METRICS_TOKEN"}
    )
    daemon = _daemon(tmp_path, config=config)
    daemon.start(paused=True)
    try:
        assert daemon.metrics_server is not None
        assert daemon.metrics_server._server.server_address[0] == "127.0.0.1"
        assert _get(f"http://127.0.0.1:{port}/metrics", None) == 401
        assert _get(f"http://127.0.0.1:{port}/metrics", "tok-123456") == 200
    finally:
        daemon.stop()


def test_metrics_enabled_without_a_token_refuses_to_start_and_releases_the_lock(tmp_path, monkeypatch):
    monkeypatch.delenv("CW_TEST_METRICS_TOKEN", raising=False)
    config = _config(tmp_path, sources=[], metrics={"enabled": True, "token_env": "CW_TEST_METRICS_TOKEN"})
    daemon = _daemon(tmp_path, config=config)
    with pytest.raises(ConfigError, match="set the environment variable CW_TEST_METRICS_TOKEN"):
        daemon.start()
    again = _daemon(tmp_path, config=_config(tmp_path, sources=[]))
    again.start(paused=True)
    again.stop()


def test_a_metrics_port_in_use_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CW_TEST_METRICS_TOKEN", "tok-123456")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        metrics = {"enabled": True, "port": port, "token_env": "CW_TEST_METRICS_TOKEN"}
        daemon = _daemon(tmp_path, config=_config(tmp_path, sources=[], metrics=metrics))
        with pytest.raises(
            ConfigError, match=rf"^metrics: cannot listen on 127\.0\.0\.1:{port}: Address already in use$"
        ):
            daemon.start()
    again = _daemon(tmp_path, config=_config(tmp_path, sources=[]))
    again.start(paused=True)
    again.stop()
