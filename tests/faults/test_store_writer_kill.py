"""SIGKILL of the store writer process (not the crawl) as it holds a batch: the crawl goes on with a
new writer, the killed batch's sources are not marked seen, and a recrawl leaves the database
exactly as a clean crawl does, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from replica.network import ReplicaNetwork
from tests.faults.crawl_harness import CleanRun, crawl, snapshot, start_crawl, write_config
from tests.polling import wait_for

pytestmark = pytest.mark.e2e

_STARTED = re.compile(r"store writer process (\d+) started")


def _log(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def test_killed_store_writer_loses_nothing_once_recrawled(
    backend: str,
    replica: ReplicaNetwork,
    new_database: Callable[[str, Path], str],
    clean_runs: Callable[[str], CleanRun],
    tmp_path: Path,
) -> None:
    clean = clean_runs(backend).stored
    url = new_database(backend, tmp_path)
    # DEBUG: the pipeline names its writer and each batch it hands over
    config = write_config(replica, tmp_path, url, log_level="DEBUG")
    log = tmp_path / "crawl.log"
    proc = start_crawl(config, log)
    # As the writer takes its first batch of pages, early in the crawl: this one in its hands.
    wait_for(
        lambda: proc.poll() is not None or _STARTED.search(_log(log)) is not None,
        timeout=120,
        what="the store writer to start",
    )
    started = _STARTED.findall(_log(log))
    assert proc.poll() is None and started, "the crawl ended before its writer started"
    os.kill(int(started[0]), signal.SIGKILL)
    assert proc.wait(timeout=180) is not None  # the crawl finishes with the writer it starts next

    text = _log(log)
    death = text.find("the store writer process exited")
    assert death > 0
    if "storing a batch of" in text[death:]:
        assert len(set(_STARTED.findall(text))) == 2  # the batches after it went to a second writer
    crawl(config)
    after = snapshot(url)
    assert after.urls == clean.urls, f"lost: {sorted(after.lost_urls(clean))}"
    assert after.stories == clean.stories
    assert after.alert_counts() == clean.alert_counts()
