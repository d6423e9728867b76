"""`countywatch run` for real: crawl children against the replica network, an immediate digest to a
webhook receiver, metrics behind the token, `countywatch status` while it runs and after SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from replica.network import ReplicaNetwork
from scheduler.state import OK, STATE_FILE, read_state
from storage.db import upgrade
from tests.daemon_fakes import WebhookReceiver, free_port
from tests.polling import wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
COUNTYWATCH = [sys.executable, "-m", "countywatch"]
TOKEN = "metrics-token-for-the-test"


def _status(config: Path) -> dict:
    done = subprocess.run(
        [*COUNTYWATCH, "status", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _metrics(port: int) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def test_the_daemon_crawls_every_source_sends_the_digest_and_stops(tmp_path):
    with ReplicaNetwork(slow_seconds=0.2) as net, WebhookReceiver() as receiver:
        url = f"sqlite:///{tmp_path / 'countywatch.db'}"
        data = net.config_dict(url, data_dir=str(tmp_path / "data"))
        # Three official sites (one of each kind) keep the test short; each crawl is its own process.
        data["sources"] = [
            s for s in data["sources"] if s["name"] in ("zhenping", "ankang_jyj", "xiangtan_daily")
        ]
        data["crawl"].update({"timeout": 3.2, "extract_workers": 0, "time_limit": "2m"})
        metrics_port = free_port()
        data["metrics"] = {"enabled": True, "port": metrics_port, "token_env": "CW_E2E_METRICS_TOKEN"}
        data["notify"] = {
            "channels": {"hook": {"type": "webhook", "url": receiver.url}},
            "subscriptions": [{"name": "now", "channels": ["hook"], "schedule": "immediate"}],
        }
        config = tmp_path / "sources.yaml"
        config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        names = [s["name"] for s in data["sources"]]
        upgrade(url)

        log = (tmp_path / "daemon.log").open("w")
        daemon = subprocess.Popen(
            [*COUNTYWATCH, "run", "--config", str(config), "--log-json"],
            stderr=log,
            env={**os.environ, "CW_E2E_METRICS_TOKEN": TOKEN, "NO_PROXY": "127.0.0.1"},
        )
        try:
            state_file = tmp_path / "data" / STATE_FILE

            def all_crawled() -> bool:
                jobs = read_state(state_file).jobs
                return all(jobs.get(f"crawl:{n}") is not None and jobs[f"crawl:{n}"].runs for n in names)

            wait_for(all_crawled, timeout=180, what="every source to be crawled once")
            jobs = read_state(state_file).jobs
            assert {n: jobs[f"crawl:{n}"].last_status for n in names} == dict.fromkeys(names, OK)
            wait_for(lambda: receiver.bodies, timeout=60, what="the immediate digest")
            digest = receiver.bodies[0]
            assert digest["subscription"] == "now"
            assert digest["new"], "the first crawl found new education announcements"

            status = _status(config)
            assert status["daemon_running"] is True
            assert {s["name"]: s["last_status"] for s in status["sources"]} == dict.fromkeys(names, OK)
            assert all(s["next_run"] and s["next_run"] > s["last_run"] for s in status["sources"])
            assert all(s["health"] is not None for s in status["sources"])

            metrics = _metrics(metrics_port)
            for name in names:
                assert f'countywatch_crawl_runs_total{{source="{name}",status="ok"}} 1.0' in metrics
            assert 'countywatch_articles_total{outcome="new"' in metrics

            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=60) == 0
        finally:
            daemon.kill()
            daemon.wait()
            log.close()
        assert _status(config)["daemon_running"] is False
        lines = [json.loads(line) for line in (tmp_path / "daemon.log").read_text().splitlines()]
        assert not [line for line in lines if line["level"] == "ERROR"], [line["message"] for line in lines]
        assert TOKEN not in (tmp_path / "daemon.log").read_text()
