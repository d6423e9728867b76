"""Issue 5's fault test: the daemon killed (SIGKILL) in the middle of a delivery and started again
delivers every pending alert, and the receiver can tell that each alert reached it exactly once.

The first daemon is killed while the webhook receiver holds its request open: the digest left the
daemon but was never acknowledged, so its deliveries stay claimed until the delivery lease ends. The
second daemon runs with its clock moved past the lease (the only liberty taken) and sends the digest
again under the same idempotency key; a receiver dropping repeated keys sees every alert once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from core.config import Notify
from storage.db import make_engine, make_session_factory
from storage.models import Alert, Delivery
from storage.repository import SourceRef, ingest_article
from tests.daemon_fakes import LoopbackEndpoint, QuietHandler
from tests.polling import wait_for
from tests.storage_builders import make_article

ROOT = Path(__file__).resolve().parent.parent
IDEMPOTENCY = "X-Countywatch-Idempotency-Key"


class StallingReceiver(LoopbackEndpoint):
    """A webhook endpoint that holds the first request open until released, then answers 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []  # (idempotency key, JSON body)
        self.acknowledged: list[str] = []
        self.release = threading.Event()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.requests.append((self.headers[IDEMPOTENCY], body))
                if len(receiver.requests) == 1:
                    receiver.release.wait(timeout=60)
                    return  # the sender is gone; nothing to answer
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                receiver.acknowledged.append(self.headers[IDEMPOTENCY])

        self._serve(Handler)


def _seed_alerts(url: str) -> set[int]:
    engine = make_engine(url)
    source = SourceRef("ankang-jyj", "education_bureau")
    with make_session_factory(engine)() as session, session.begin():
        for i, name in enumerate(("zhenping", "dongqu")):
            ingest_article(
                session, make_article(name), source=source, fetched_url=f"http://127.0.0.1:1/article/{i}.html"
            )
    with make_session_factory(engine)() as session:
        ids = set(session.scalars(select(Alert.id).where(Alert.kind == "new")))
    engine.dispose()
    return ids


def _deliveries(url: str) -> list[tuple[int, str]]:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        rows = [(d.alert_id, d.state) for d in session.scalars(select(Delivery))]
    engine.dispose()
    return rows


def _start(config: Path, log: Path, clock_offset: float = 0.0) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.daemon_harness", str(config), "--clock-offset", str(clock_offset)],
        cwd=ROOT,
        stderr=log.open("w"),
    )


def _alert_ids(body: dict[str, Any]) -> list[int]:
    return [e["alert_id"] for part in ("new", "changed", "withdrawn", "health") for e in body[part]]


def test_sigkill_during_delivery_then_restart_delivers_every_alert_exactly_once(migrated_url, tmp_path):
    alert_ids = _seed_alerts(migrated_url)
    assert len(alert_ids) == 2
    with StallingReceiver() as receiver:
        config = tmp_path / "sources.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "database": migrated_url,
                    "data_dir": str(tmp_path / "data"),
                    "notify": {
                        "channels": {"hook": {"type": "webhook", "url": receiver.url}},
                        "subscriptions": [{"name": "now", "channels": ["hook"], "schedule": "immediate"}],
                    },
                }
            ),
            encoding="utf-8",
        )
        first = _start(config, tmp_path / "first.log")
        try:
            wait_for(lambda: receiver.requests, what="the first digest to reach the receiver")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=20)
        finally:
            first.kill()
        receiver.release.set()
        assert sorted(_deliveries(migrated_url)) == sorted((a, "pending") for a in alert_ids)

        lease = Notify().claim_lease.total_seconds() + 60
        second = _start(config, tmp_path / "second.log", clock_offset=lease)
        try:
            wait_for(
                lambda: {state for _, state in _deliveries(migrated_url)} == {"sent"},
                timeout=60,
                what="every delivery to be marked sent",
            )
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0
        finally:
            second.kill()

    # Two requests: the one cut by the kill and its retry, under one idempotency key.
    keys = [key for key, _ in receiver.requests]
    assert len(keys) == 2 and len(set(keys)) == 1
    assert receiver.acknowledged == keys[:1]
    delivered: dict[int, set[str]] = {}
    for key, body in receiver.requests:
        for alert_id in _alert_ids(body):
            delivered.setdefault(alert_id, set()).add(key)
    # After dropping repeated keys, every alert arrived exactly once.
    assert {a: len(k) for a, k in delivered.items()} == dict.fromkeys(alert_ids, 1)
    assert sorted(_deliveries(migrated_url)) == sorted((a, "sent") for a in alert_ids)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # The daemon's HTTP client must reach the loopback receiver directly.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
