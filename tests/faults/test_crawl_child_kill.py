"""A crawl child SIGKILLed under the daemon's supervisor (scheduler.crawl_process.run_crawl): the
run ends at once as failed (not at the crawl's time limit), no process of the child survives it
(its extraction workers held the output pipe the supervisor reads), and the next run stores what
a clean crawl stores, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from replica.network import ReplicaNetwork
from scheduler.crawl_process import CrawlOutcome, run_crawl
from scheduler.state import FAILED, OK
from tests.faults.crawl_harness import CleanRun, group_alive, snapshot, stored_articles, write_config
from tests.polling import wait_for

pytestmark = pytest.mark.e2e
TIME_LIMIT = 120.0  # far beyond a crawl of the replica (seconds): reaching it is the defect


def group_members(pgid: int) -> list[int]:
    """The processes of a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:  # after the state and the parent pid
            members.append(int(entry.name))
    return members


def crawl_children() -> list[int]:
    """The `countywatch crawl` processes this test process started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"crawl" in argv:
            found.append(int(entry.name))
    return found


def supervise(config: Path, log: Path) -> CrawlOutcome:
    argv = [sys.executable, "-m", "countywatch", "crawl", "--config", str(config), "--json"]
    return run_crawl(argv, time_limit=TIME_LIMIT, stop=threading.Event(), stop_grace=5, stderr_path=log)


def test_sigkilled_crawl_child_ends_its_run_at_once_and_leaves_nothing(
    backend: str,
    replica: ReplicaNetwork,
    new_database: Callable[[str, Path], str],
    clean_runs: Callable[[str], CleanRun],
    tmp_path: Path,
) -> None:
    clean = clean_runs(backend).stored
    url = new_database(backend, tmp_path)
    config = write_config(replica, tmp_path, url)
    with ThreadPoolExecutor(max_workers=1) as pool:
        running: Future[CrawlOutcome] = pool.submit(supervise, config, tmp_path / "killed.log")
        child = wait_for(crawl_children, timeout=60, what="the crawl child")[0]
        # Mid-crawl, with extraction workers running: the crawl process and at least one worker
        # (and the fork server) in the child's group, and an article already stored.
        wait_for(lambda: len(group_members(child)) >= 3 and stored_articles(url) >= 1, what="workers")
        os.kill(child, signal.SIGKILL)
        outcome = running.result(timeout=TIME_LIMIT + 30)
    assert outcome.status == FAILED, outcome
    assert outcome.returncode == -signal.SIGKILL
    wait_for(lambda: not group_alive(child), timeout=10, what="every process of the child to exit")

    again = supervise(config, tmp_path / "again.log")
    assert again.status == OK, again.error
    after = snapshot(url)
    assert after.urls == clean.urls, f"lost: {sorted(after.lost_urls(clean))}"
    assert after.stories == clean.stories
    assert after.alert_counts() == clean.alert_counts()
