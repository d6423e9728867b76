"""A crawl child: its report, its failure, its time limit (terminate, then kill) and a stopping daemon."""

from __future__ import annotations

import os
import threading

import yaml

from countywatch.daemon_hooks import make_daemon
from scheduler.crawl_process import CrawlOutcome, default_crawl_command, enqueue_command, run_crawl
from scheduler.state import FAILED, INTERRUPTED, OK, TIMED_OUT
from tests.daemon_fakes import RecordingBackend, fake_crawl_command, runs
from tests.polling import wait_for


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _pids(folder, source):
    return [int(line.split()[1]) for line in runs(folder, source) if line.startswith("start")]


def test_default_command_is_countywatch_crawl_json():
    argv = default_crawl_command("/etc/countywatch/sources.yaml", ["镇坪县"])
    assert argv[1:] == ["-m", "countywatch", "crawl", "--config", "/etc/countywatch/sources.yaml",
                        "--source", "镇坪县", "--json"]  # fmt: skip
    assert "--config" not in default_crawl_command(None, ["x"])


def test_finished_crawl_returns_its_json_report(tmp_path):
    outcome = run_crawl(
        fake_crawl_command(tmp_path)(None, ["a"]),
        time_limit=30,
        stop=threading.Event(),
        stop_grace=1,
        stderr_path=tmp_path / "a.log",
    )
    assert outcome.status == OK
    assert outcome.report is not None
    assert outcome.report["sources"][0]["name"] == "a"
    assert outcome.report["sources"][0]["new"] == 2
    assert outcome.error is None


def test_failed_crawl_reports_the_last_line_of_its_log(tmp_path):
    (tmp_path / "a.fail").touch()
    outcome = run_crawl(
        fake_crawl_command(tmp_path)(None, ["a"]),
        time_limit=30,
        stop=threading.Event(),
        stop_grace=1,
        stderr_path=tmp_path / "a.log",
    )
    assert outcome.status == FAILED
    assert outcome.returncode == 3
    assert outcome.error == "crawl error: the site answered 500 to every request"


def test_time_limit_terminates_the_crawl(tmp_path):
    (tmp_path / "a.sleep").write_text("60")
    outcome = run_crawl(
        fake_crawl_command(tmp_path)(None, ["a"]),
        time_limit=0.5,
        stop=threading.Event(),
        stop_grace=1,
        kill_grace=5,
        stderr_path=tmp_path / "a.log",
    )
    assert outcome.status == TIMED_OUT
    assert outcome.error == "time limit of 0.5s reached"
    assert outcome.duration < 5  # SIGTERM was enough, no wait for the kill
    assert not any(line.startswith("end") for line in runs(tmp_path, "a"))


def test_a_crawl_ignoring_sigterm_is_killed(tmp_path):
    (tmp_path / "a.sleep").write_text("60")
    (tmp_path / "a.ignore-term").touch()
    outcome = run_crawl(
        fake_crawl_command(tmp_path)(None, ["a"]),
        time_limit=0.5,
        stop=threading.Event(),
        stop_grace=1,
        kill_grace=0.5,
        stderr_path=tmp_path / "a.log",
    )
    assert outcome.status == TIMED_OUT
    assert outcome.returncode == -9
    assert not _alive(_pids(tmp_path, "a")[0])


def test_stop_lets_the_crawl_finish_within_the_grace_period(tmp_path):
    (tmp_path / "a.sleep").write_text("0.5")
    stop = threading.Event()
    stop.set()
    outcome = run_crawl(
        fake_crawl_command(tmp_path)(None, ["a"]),
        time_limit=30,
        stop=stop,
        stop_grace=20,
        stderr_path=tmp_path / "l",
    )
    assert outcome.status == OK


def test_stop_interrupts_a_crawl_that_outlasts_the_grace_period(tmp_path):
    (tmp_path / "a.sleep").write_text("60")
    stop = threading.Event()
    result: dict[str, CrawlOutcome] = {}
    thread = threading.Thread(
        target=lambda: result.update(
            outcome=run_crawl(
                fake_crawl_command(tmp_path)(None, ["a"]),
                time_limit=60,
                stop=stop,
                stop_grace=0.3,
                stderr_path=tmp_path / "a.log",
            )
        )
    )
    thread.start()
    wait_for(lambda: _pids(tmp_path, "a"), what="the crawl to start")
    stop.set()
    thread.join(timeout=20)
    assert result["outcome"].status == INTERRUPTED
    assert not _alive(_pids(tmp_path, "a")[0])


def test_with_distributed_set_the_daemon_enqueues_for_the_workers(tmp_path):
    config = tmp_path / "sources.yaml"
    base = {"database": f"sqlite:///{tmp_path / 'cw.db'}", "data_dir": str(tmp_path / "d"),
            "sources": [{"name": "a", "start_urls": ["http://127.0.0.1:1/"]}]}  # fmt: skip
    config.write_text(yaml.safe_dump(base), encoding="utf-8")
    local = make_daemon(config, RecordingBackend(tmp_path / "c"))
    assert local._crawl_argv(local.config, ["a"])[3:] == [
        "crawl",
        "--config",
        str(config),
        "--source",
        "a",
        "--json",
    ]
    config.write_text(
        yaml.safe_dump({**base, "distributed": {"redis_url_env": "CW_REDIS"}}), encoding="utf-8"
    )
    shared = make_daemon(config, RecordingBackend(tmp_path / "c"))
    assert shared._crawl_argv(shared.config, ["a"])[3:] == [
        "worker",
        "--config",
        str(config),
        "--enqueue",
        "--source",
        "a",
    ]
    assert enqueue_command(None, ["a", "b"])[3:] == ["worker", "--enqueue", "--source", "a", "--source", "b"]
