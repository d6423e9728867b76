"""SIGKILL of `countywatch digest` in the middle of a POST, new alerts before the retry.

A webhook receiver holds the request open (or answers it) while the test kills the sending process.
Then a new alert is stored, and `countywatch digest` runs again until every delivery is recorded
sent — the claim lease is shortened with `notify.claim_lease`, the setting operators have. The
receiver drops repeated idempotency keys, as docs/webhook.md tells it to; after that every alert
must have arrived exactly once, the cut digest must come again with the same key and the same
alerts, and the new alert must come in a digest of its own. On SQLite and PostgreSQL.
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

from storage.db import make_engine, make_session_factory
from storage.models import Alert, Delivery
from storage.repository import SourceRef, ingest_article
from tests.daemon_fakes import LoopbackEndpoint, QuietHandler
from tests.polling import wait_for
from tests.storage_builders import make_article

ROOT = Path(__file__).resolve().parents[2]
IDEMPOTENCY = "X-Countywatch-Idempotency-Key"
SOURCE = SourceRef("ankang-jyj", "education_bureau")
# Where the sender dies: with its request's headers sent and the body not yet read; while the
# receiver holds the whole request unanswered; or just after the receiver answered 200 (before or
# after the sender recorded it — either way nothing may be lost or doubled).
BODY_UNREAD, HOLDING, ANSWERED = "body unread", "holding the request", "after answering 200"
MOMENTS = (BODY_UNREAD, HOLDING, ANSWERED)


class KillingReceiver(LoopbackEndpoint):
    """A webhook endpoint; its first request is held at `moment` until the test has killed the sender."""

    def __init__(self, moment: str) -> None:
        # (idempotency key, alert ids) per POST; None for a request whose body never arrived.
        self.requests: list[tuple[str, list[int] | None]] = []
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                first = not receiver.requests
                if first and moment == BODY_UNREAD:
                    receiver.requests.append((self.headers[IDEMPOTENCY], None))
                    receiver.first_arrived.set()
                    receiver.release.wait(timeout=60)
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                ids = [e["alert_id"] for part in ("new", "changed", "withdrawn") for e in body[part]]
                receiver.requests.append((self.headers[IDEMPOTENCY], ids))
                if first and moment == HOLDING:
                    receiver.first_arrived.set()
                    receiver.release.wait(timeout=60)
                    return  # the sender is gone; nothing to answer
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                self.wfile.flush()
                if first:
                    receiver.first_arrived.set()

        self._serve(Handler)

    def delivered(self) -> dict[int, set[str]]:
        """alert id -> the idempotency keys it arrived under."""
        out: dict[int, set[str]] = {}
        for key, ids in self.requests:
            for alert_id in ids or []:
                out.setdefault(alert_id, set()).add(key)
        return out


LATER_NOTICE = make_article(
    "dongqu",
    title="关于做好2024年初中学业水平考试报名工作的通知",
    paras=[
        "各初中学校：",
        "2024年初中学业水平考试报名工作定于5月6日开始，请各校组织应届毕业生按时完成报名。",
        "报名期间各校教务处安排专人值班，联系电话：0915-8881234。",
    ],
)


def _store(url: str, articles: dict[str, Any]) -> set[int]:
    """Store these articles (fetched URL -> article) as a crawl would; the ids of the alerts raised."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session, session.begin():
        ids = set()
        for fetched_url, article in articles.items():
            ids.update(ingest_article(session, article, source=SOURCE, fetched_url=fetched_url).alert_ids)
    engine.dispose()
    return ids


def _states(url: str) -> dict[int, tuple[str, str | None]]:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        rows = {d.alert_id: (d.state, d.digest_key) for d in session.scalars(select(Delivery))}
        kinds = set(session.scalars(select(Alert.kind)))
    engine.dispose()
    assert kinds <= {"new"}
    return rows


def _digest(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "countywatch", "digest", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("moment", MOMENTS)
def test_sigkill_in_mid_post_then_new_alerts_then_retry_delivers_each_alert_once(
    migrated_url, tmp_path, moment
):
    before = _store(
        migrated_url,
        {
            "http://127.0.0.1:1/a/0.html": make_article("zhenping"),
            "http://127.0.0.1:1/a/1.html": make_article("dongqu"),
        },
    )
    assert len(before) == 2
    with KillingReceiver(moment) as receiver:
        config = tmp_path / "sources.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "database": migrated_url,
                    "data_dir": str(tmp_path / "data"),
                    "notify": {
                        "channels": {"hook": {"type": "webhook", "url": receiver.url, "timeout": 30}},
                        "subscriptions": [{"name": "now", "channels": ["hook"], "schedule": "immediate"}],
                        "claim_lease": "3s",
                    },
                }
            ),
            encoding="utf-8",
        )
        sender = subprocess.Popen(
            [sys.executable, "-m", "countywatch", "digest", "--config", str(config)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert receiver.first_arrived.wait(timeout=120), "the digest never reached the receiver"
            sender.send_signal(signal.SIGKILL)
            sender.wait(timeout=30)
        finally:
            sender.kill()
            sender.wait()
        receiver.release.set()
        (cut_key, cut_ids) = receiver.requests[0]
        assert cut_ids is None if moment == BODY_UNREAD else set(cut_ids or []) == before
        # The digest's key and membership were recorded when it was claimed, before the POST.
        assert {alert: key for alert, (_, key) in _states(migrated_url).items()} == dict.fromkeys(
            before, cut_key
        )

        # New alerts arrive between the crash and the retry.
        after = _store(migrated_url, {"http://127.0.0.1:1/a/2.html": LATER_NOTICE})
        assert len(after) == 1 and not after & before

        def all_sent() -> bool:
            result = _digest(config)
            assert "Traceback" not in result.stdout + result.stderr
            return {state for state, _ in _states(migrated_url).values()} == {"sent"}

        wait_for(all_sent, timeout=180, what="every delivery to be recorded sent")

    delivered = receiver.delivered()
    # Nothing lost: every alert reached the receiver.
    assert set(delivered) == before | after
    # Nothing doubled: each alert came under one key only, so dropping repeated keys keeps one copy.
    assert {alert: len(keys) for alert, keys in delivered.items()} == dict.fromkeys(before | after, 1)
    # Every request under the cut digest's key carried exactly its alerts; the new alert came alone.
    assert all(set(ids) == before for key, ids in receiver.requests if key == cut_key and ids is not None)
    assert [ids for key, ids in receiver.requests if key != cut_key] == [list(after)]
    if moment != ANSWERED:
        assert [key for key, _ in receiver.requests].count(cut_key) == 2  # the retry, same key
