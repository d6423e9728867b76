"""The daemon in-process: crawl time limit, job errors and missed runs recorded, metrics endpoint."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

import scheduler.jobs
from core.config import Config, ConfigError
from countywatch.config import config_from_dict
from countywatch.daemon_hooks import make_daemon
from scheduler.daemon import Daemon
from scheduler.hooks import DaemonHooks
from scheduler.state import FAILED, TIMED_OUT, read_state
from storage.schedule import set_next_due
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
    return make_daemon(
        kwargs.pop("config", None) or _config(tmp_path),
        backend or RecordingBackend(tmp_path / "calls.jsonl"),
        crawl_command=fake_crawl_command(tmp_path, reads_config=kwargs.pop("reads_config", False)),
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
        assert daemon.metrics.server is not None
        assert daemon.metrics.server._server.server_address[0] == "127.0.0.1"
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


def _crawl_status(daemon: Daemon, job_id: str, runs_done: int = 1):
    """The job's record once it has finished `runs_done` runs (None before)."""
    record = read_state(daemon.ledger.path).jobs.get(job_id)
    if record is None or record.last_finished is None or record.runs < runs_done:
        return None
    return record


def test_after_a_rejected_reload_crawls_read_the_configuration_the_daemon_kept(tmp_path):
    config = _config(tmp_path)
    daemon = _daemon(tmp_path, config=config, reads_config=True)
    daemon.start()
    try:
        first = wait_for(lambda: _crawl_status(daemon, "crawl:slow"), what="the first crawl to end")
        assert first.last_status == "ok"
        config.write_text(config.read_text(encoding="utf-8") + "surprise: [\n", encoding="utf-8")
        assert daemon.reload() is False
        # Due again now (its schedule is data in the database), and the tick told to look.
        with daemon.schedules.sessions() as session, session.begin():
            set_next_due(session, {"slow": datetime.now(UTC)})
        daemon.request_tick()
        second = wait_for(
            lambda: _crawl_status(daemon, "crawl:slow", runs_done=2),
            what="the crawl after the rejected reload to end",
        )
    finally:
        daemon.stop()
    assert (second.last_status, second.last_error) == ("ok", None)
    assert len([line for line in runs(tmp_path, "slow") if line.startswith("end")]) == 2


def test_a_reload_whose_jobs_cannot_be_built_keeps_the_daemon_and_its_jobs(tmp_path, monkeypatch, caplog):
    config = _config(tmp_path)
    daemon = _daemon(tmp_path, config=config)
    daemon.start(paused=True)
    try:
        before = {job.id for job in daemon.scheduler.get_jobs()}
        _config(
            tmp_path, sources=[{"name": "other", "start_urls": ["http://127.0.0.1:1/"], "schedule": "2h"}]
        )

        real_trigger = scheduler.jobs.source_trigger

        def refusing_trigger(schedule, *, start=None):
            # Stands for a value validation let through that the scheduler then refuses.
            if schedule.interval == timedelta(hours=2):
                raise ValueError("the scheduler refused the trigger")
            return real_trigger(schedule, start=start)

        monkeypatch.setattr(scheduler.jobs, "source_trigger", refusing_trigger)
        assert daemon.reload() is False
        assert {job.id for job in daemon.scheduler.get_jobs()} == before
        assert [s.name for s in daemon.config.sources] == ["slow"]
    finally:
        daemon.stop()
    assert "configuration not reloaded, keeping the running one: ValueError" in caplog.text


def test_an_immediate_digest_runs_while_every_crawl_worker_is_busy(tmp_path):
    config = _config(
        tmp_path,
        sources=[{"name": n, "start_urls": ["http://127.0.0.1:1/"], "schedule": "1h"} for n in "abc"],
        notify={
            "channels": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/h"}},
            "subscriptions": [{"name": "now", "channels": ["hook"], "schedule": "immediate"}],
        },
    )
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.sleep").write_text("60")
    daemon = _daemon(tmp_path, config=config, workers=1, stop_grace=0.2)
    daemon.start()
    try:
        # The one crawl worker is taken and two crawls wait behind it.
        wait_for(lambda: any(runs(tmp_path, n) for n in ("a", "b", "c")), what="a crawl to start")
        daemon.scheduler.modify_job("digest:now", next_run_time=datetime.now(UTC))
        wait_for(
            lambda: {"call": "deliver", "subscription": "now"} in daemon.backend.calls(),  # type: ignore[attr-defined]
            timeout=15,
            what="the digest to run beside the busy crawl pool",
        )
        assert not [line for n in ("a", "b", "c") for line in runs(tmp_path, n) if line.startswith("end")]
    finally:
        daemon.stop()


class _RecordingMetrics:
    """A DaemonMetrics that keeps what the daemon told it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def serve(self, settings) -> None:
        self.calls.append(f"serve enabled={settings.enabled}")

    def close(self) -> None:
        self.calls.append("close")

    def observe_crawl(self, source, status, duration, report) -> None:
        self.calls.append(f"crawl {source} {status}")

    def observe_deliveries(self, sent, failed) -> None:
        self.calls.append(f"deliveries {sent} {failed}")

    def set_health(self, states) -> None:
        self.calls.append(f"health {sorted(states)}")

    def set_alerts(self, counts) -> None:
        self.calls.append(f"alerts {dict(counts)}")

    def job_error(self, job_id, kind) -> None:
        self.calls.append(f"error {job_id} {kind}")


def test_the_daemon_reads_its_configuration_and_reports_through_the_hooks_it_is_given(tmp_path):
    base = {"database": f"sqlite:///{tmp_path / 'cw.db'}", "data_dir": str(tmp_path / "data")}
    source = {"name": "a", "start_urls": ["http://127.0.0.1:1/"], "schedule": "1h"}
    files = {
        "first.yaml": config_from_dict({**base, "sources": [source]}),
        "second.yaml": config_from_dict({**base, "sources": [source, {**source, "name": "b"}]}),
    }
    read: list[str | None] = []
    path = ["first.yaml"]

    def load(config_path: str | None) -> Config:
        read.append(config_path)
        return files[path[0]]

    tags: list[dict[str, str]] = []

    @contextmanager
    def log_context(*, source: str = "", run_id: str = ""):
        tags.append({"source": source, "run_id": run_id})
        yield

    metrics = _RecordingMetrics()
    hooks = DaemonHooks(load_config=load, metrics=metrics, log_context=log_context)
    daemon = Daemon("cw.yaml", RecordingBackend(tmp_path / "calls.jsonl"), hooks, crawl_command=None)
    daemon.start(paused=True)
    try:
        assert daemon.config is files["first.yaml"]
        path[0] = "second.yaml"
        assert daemon.reload() is True
        assert daemon.config is files["second.yaml"]
        assert sorted(daemon.schedules.next_runs()) == ["a", "b"]
    finally:
        daemon.stop()
    assert read == ["cw.yaml", "cw.yaml"]
    assert metrics.calls[0] == "serve enabled=False"
    assert metrics.calls[-1] == "close"
    assert tags == []  # no crawl ran: nothing was tagged
