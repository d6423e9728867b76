"""The daemon as a separate process: it crawls due sources, stops cleanly on SIGTERM, reloads on SIGHUP."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from countywatch.cli import cli
from scheduler.state import INTERRUPTED, OK, STATE_FILE, read_state
from storage.db import upgrade
from tests.daemon_fakes import RecordingBackend, runs
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parent.parent


def _write_config(path: Path, tmp_path: Path, sources: list[str], **extra) -> None:
    data = {
        "database": f"sqlite:///{tmp_path / 'cw.db'}",
        "data_dir": str(tmp_path / "data"),
        "sources": [
            {"name": name, "start_urls": [f"http://127.0.0.{i + 1}:8000/"], "schedule": {"interval": "1m"}}
            for i, name in enumerate(sources)
        ],
        **extra,
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


class DaemonProcess:
    def __init__(self, tmp_path: Path, config: Path, stop_grace: float = 30.0) -> None:
        self.tmp_path = tmp_path
        self.log = (tmp_path / "daemon.log").open("w+", encoding="utf-8")
        self.calls = RecordingBackend(tmp_path / "calls.jsonl")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.daemon_harness", str(config), "--fake-crawl", str(tmp_path),
             "--calls", str(self.calls.path), "--stop-grace", str(stop_grace)],
            cwd=ROOT,
            stderr=self.log,
        )  # fmt: skip

    def log_lines(self) -> list[dict]:
        self.log.seek(0)
        return [json.loads(line) for line in self.log.read().splitlines() if line.startswith("{")]

    def logged(self, text: str) -> bool:
        return any(text in line["message"] for line in self.log_lines())

    def state(self):
        return read_state(self.tmp_path / "data" / STATE_FILE)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(autouse=True)
def _keep_root_logging():
    # `countywatch run` (invoked in-process below) installs its own root handler.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def daemon_process(tmp_path):
    started: list[DaemonProcess] = []

    def start(config: Path, **kwargs) -> DaemonProcess:
        process = DaemonProcess(tmp_path, config, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


def test_due_source_is_crawled_on_start_and_sigterm_exits_cleanly(tmp_path, daemon_process):
    config = tmp_path / "sources.yaml"
    _write_config(config, tmp_path, ["zhenping"])
    daemon = daemon_process(config)
    wait_for(lambda: "end" in " ".join(runs(tmp_path, "zhenping")), what="the first crawl")
    wait_for(
        lambda: daemon.state().jobs.get("crawl:zhenping", None) and daemon.state().jobs["crawl:zhenping"].runs
    )
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0
    state = daemon.state()
    assert state.jobs["crawl:zhenping"].last_status == OK
    assert state.daemon.stopped_at is not None
    assert daemon.logged("daemon stopped")


def test_sigterm_interrupts_a_long_crawl_after_the_grace_period_and_records_it(tmp_path, daemon_process):
    (tmp_path / "slow.sleep").write_text("120")
    config = tmp_path / "sources.yaml"
    _write_config(config, tmp_path, ["slow"])
    daemon = daemon_process(config, stop_grace=1.0)
    wait_for(lambda: runs(tmp_path, "slow"), what="the crawl to start")
    crawl_pid = int(runs(tmp_path, "slow")[0].split()[1])
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(timeout=20) == 0
    record = daemon.state().jobs["crawl:slow"]
    assert record.last_status == INTERRUPTED
    assert [c for c in daemon.calls.calls() if c["call"] == "record_crawl"] == [
        {
            "call": "record_crawl",
            "source": "slow",
            "status": INTERRUPTED,
            "error": "interrupted: the daemon was stopping",
        }
    ]
    with pytest.raises(ProcessLookupError):
        os.kill(crawl_pid, 0)
    # Stopping started no new job: one crawl only.
    assert len([line for line in runs(tmp_path, "slow") if line.startswith("start")]) == 1


def test_sighup_adds_a_new_source_and_a_bad_file_keeps_the_running_config(tmp_path, daemon_process):
    config = tmp_path / "sources.yaml"
    _write_config(config, tmp_path, ["a"])
    daemon = daemon_process(config)
    wait_for(lambda: daemon.logged("daemon started"), what="the daemon to start")

    _write_config(config, tmp_path, ["a", "b"])
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: "end" in " ".join(runs(tmp_path, "b")), what="the new source to be crawled")
    assert daemon.logged("source scheduled: crawl:b")

    config.write_text(config.read_text() + "surprise: 1\n", encoding="utf-8")
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: daemon.logged("configuration not reloaded"), what="the bad file to be rejected")
    rejected = next(line for line in daemon.log_lines() if "configuration not reloaded" in line["message"])
    assert rejected["level"] == "ERROR"
    assert f"{config}: surprise: unknown key" in rejected["message"]
    assert daemon.proc.poll() is None

    _write_config(config, tmp_path, ["b"])
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: daemon.logged("source unscheduled: crawl:a"), what="the removed source to go")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0


def test_a_second_daemon_on_the_same_database_refuses_to_start(tmp_path, daemon_process):
    config = tmp_path / "sources.yaml"
    _write_config(config, tmp_path, ["a"])
    upgrade(f"sqlite:///{tmp_path / 'cw.db'}")
    first = daemon_process(config)
    wait_for(lambda: first.logged("daemon started"), what="the first daemon to start")
    second = subprocess.run(
        [sys.executable, "-m", "countywatch", "run", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert second.stderr.startswith("countywatch: another daemon (pid ")
    assert second.stderr.count("\n") == 1  # one line, no traceback
    first.signal(signal.SIGTERM)
    assert first.wait() == 0


def test_run_with_a_bad_config_exits_2_with_one_line(tmp_path):
    config = tmp_path / "sources.yaml"
    config.write_text(
        "sources:\n  - name: a\n    start_urls: [http://127.0.0.1/]\n    schedule: 10s\n", encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["run", "--config", str(config)])
    assert result.exit_code == 2
    assert f"{config}: sources[0] (a).schedule: interval '10s' is shorter than one minute" in result.output
    assert "Traceback" not in result.output


def test_run_with_a_damaged_state_file_says_which_file(tmp_path):
    config = tmp_path / "sources.yaml"
    _write_config(config, tmp_path, [])
    upgrade(f"sqlite:///{tmp_path / 'cw.db'}")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / STATE_FILE).write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "--config", str(config)])
    assert result.exit_code == 1
    assert result.output.startswith(
        f"countywatch: {tmp_path / 'data' / STATE_FILE}: the scheduler state is not valid"
    )
    assert result.output.count("\n") == 1
