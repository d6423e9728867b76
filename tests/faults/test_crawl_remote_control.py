"""No remote-control server in crawl or worker processes: Scrapy's RemoteControl extension (an HTTP
server that runs Python sent to it, leaving a job file per process in the user's state directory)
and its telnet console stay off, in a `countywatch crawl` and in a distributed worker's settings."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from countywatch.config import config_from_dict
from crawler.distributed.worker_settings import worker_settings
from replica.network import ReplicaNetwork
from tests.faults.crawl_harness import CRAWL, write_config

pytestmark = pytest.mark.e2e


def test_a_crawl_listens_on_nothing_and_leaves_no_job_file(
    replica: ReplicaNetwork, new_database: Callable[[str, Path], str], tmp_path: Path
) -> None:
    config = write_config(replica, tmp_path, new_database("sqlite", tmp_path))
    state = tmp_path / "state"
    env = {**os.environ, "XDG_STATE_HOME": str(state), "HOME": str(tmp_path)}
    done = subprocess.run(
        [*CRAWL, "--config", str(config)], capture_output=True, text=True, timeout=180, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Remote control HTTP server listening" not in done.stderr
    assert "Telnet console listening" not in done.stderr
    assert not state.exists() or not any(state.rglob("*.json"))


def test_worker_settings_enable_no_remote_control(tmp_path: Path) -> None:
    config = config_from_dict(
        {
            "database": "sqlite:///cw.db",
            "sources": [{"name": "a", "start_urls": ["http://a.gov.cn/"]}],
            "distributed": {"redis_url": "redis://127.0.0.1:1/0"},
        },
        base_dir=str(tmp_path),
    )
    settings = worker_settings(config, worker_id="w1")
    # Both extensions raise NotConfigured when their setting is off.
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is False
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False
