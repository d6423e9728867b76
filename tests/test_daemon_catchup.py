"""A digest whose time passed while the daemon was down goes out once on start, not again after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from countywatch.daemon_hooks import make_daemon
from scheduler.backend import StorageBackend
from scheduler.jobs import CATCHUP_JOB_ID
from scheduler.state import OK, read_state
from storage.db import make_engine, make_session_factory
from storage.repository import SourceRef, ingest_article
from tests.daemon_fakes import WebhookReceiver, fake_crawl_command
from tests.polling import wait_for
from tests.storage_builders import make_article

# 09:30 in Shanghai: the daily 08:00 digest is due, and the daemon was down at 08:00.
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
BEFORE_SLOT = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # 04:00 Shanghai


def _run_once(config: Path, url: str, tmp_path: Path) -> None:
    engine = make_engine(url)
    daemon = make_daemon(
        config,
        StorageBackend(make_session_factory(engine)),
        crawl_command=fake_crawl_command(tmp_path),
        clock=lambda: NOW,
    )
    runs_before = daemon.ledger.record(CATCHUP_JOB_ID).runs
    daemon.start()
    try:
        wait_for(
            lambda: (
                read_state(daemon.ledger.path).jobs.get(CATCHUP_JOB_ID, None) is not None
                and read_state(daemon.ledger.path).jobs[CATCHUP_JOB_ID].runs > runs_before
            ),
            what="the catch-up run",
        )
    finally:
        daemon.stop()
        engine.dispose()
    assert read_state(daemon.ledger.path).jobs[CATCHUP_JOB_ID].last_status == OK


def test_missed_daily_digest_is_sent_once_on_start(migrated_url, tmp_path):
    engine = make_engine(migrated_url)
    with make_session_factory(engine)() as session, session.begin():
        for i, name in enumerate(("zhenping", "dongqu")):
            ingest_article(
                session,
                make_article(name),
                source=SourceRef("ankang-jyj", "education_bureau"),
                fetched_url=f"http://127.0.0.1:1/a/{i}.html",
                now=BEFORE_SLOT + timedelta(minutes=i),
            )
    engine.dispose()
    with WebhookReceiver() as receiver:
        config = tmp_path / "sources.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "database": migrated_url,
                    "data_dir": str(tmp_path / "data"),
                    "notify": {
                        "channels": {"hook": {"type": "webhook", "url": receiver.url}},
                        "subscriptions": [
                            {"name": "morning", "channels": ["hook"], "schedule": "daily 08:00"}
                        ],
                    },
                }
            ),
            encoding="utf-8",
        )
        _run_once(config, migrated_url, tmp_path)
        assert len(receiver.bodies) == 1
        (digest,) = receiver.bodies
        assert digest["subscription"] == "morning"
        assert len(digest["new"]) == 2
        _run_once(config, migrated_url, tmp_path)  # a restart: the window was already sent
        assert len(receiver.bodies) == 1
