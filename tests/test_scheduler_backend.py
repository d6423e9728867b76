"""The daemon's storage backend: crawl runs the child could not finish are recorded, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from countywatch.config import config_from_dict
from scheduler.backend import StorageBackend
from scheduler.crawl_process import CrawlOutcome
from scheduler.state import FAILED, INTERRUPTED, TIMED_OUT
from storage.db import make_engine, make_session_factory
from storage.repository import finish_crawl_run, health_history, source_health, start_crawl_run

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CONFIG = config_from_dict(
    {"sources": [{"name": "zhenping", "kind": "education_bureau", "start_urls": ["http://127.0.0.1:1/"]}]}
)


def _backend(url):
    engine = make_engine(url)
    return StorageBackend(make_session_factory(engine)), engine


def _outcome(status: str, error: str) -> CrawlOutcome:
    return CrawlOutcome(status=status, returncode=-15, duration=3600.0, report=None, error=error)


def test_a_crawl_killed_before_it_recorded_anything_gets_a_run(migrated_url):
    backend, engine = _backend(migrated_url)
    backend.record_crawl(CONFIG, "zhenping", _outcome(TIMED_OUT, "time limit of 3600s reached"), T0)
    with backend.session_factory() as session:
        (run,) = health_history(session, "zhenping")
        (health,) = source_health(session)
    assert run.started_at == T0
    assert run.finished_at is not None
    assert run.error == "time limit of 3600s reached"
    assert run.health == "failing"
    assert run.stats["status"] == TIMED_OUT
    assert (health.name, health.kind, health.health) == ("zhenping", "education_bureau", "failing")
    engine.dispose()


def test_the_open_run_of_an_interrupted_crawl_is_closed_keeping_the_health(migrated_url):
    backend, engine = _backend(migrated_url)
    with backend.session_factory() as session, session.begin():
        earlier = start_crawl_run(session, "zhenping", now=T0 - timedelta(hours=6))
        finish_crawl_run(session, earlier, {}, "ok", now=T0 - timedelta(hours=5))
        start_crawl_run(session, "zhenping", now=T0 + timedelta(seconds=2))
    backend.record_crawl(
        CONFIG, "zhenping", _outcome(INTERRUPTED, "interrupted: the daemon was stopping"), T0
    )
    with backend.session_factory() as session:
        runs = health_history(session, "zhenping")
    assert len(runs) == 2
    assert runs[0].finished_at is not None
    assert runs[0].error == "interrupted: the daemon was stopping"
    assert runs[0].health == "ok"  # the daemon stopping says nothing about the site
    engine.dispose()


def test_a_failed_crawl_that_recorded_its_own_run_is_not_recorded_twice(migrated_url):
    backend, engine = _backend(migrated_url)
    with backend.session_factory() as session, session.begin():
        run_id = start_crawl_run(session, "zhenping", now=T0 + timedelta(seconds=1))
        finish_crawl_run(session, run_id, {"new": 0}, "failing", "http_5xx: 3", now=T0 + timedelta(seconds=9))
    backend.record_crawl(CONFIG, "zhenping", _outcome(FAILED, "exit 1"), T0)
    with backend.session_factory() as session:
        (run,) = health_history(session, "zhenping")
    assert run.error == "http_5xx: 3"
    engine.dispose()


def test_alert_counts_and_health_of_an_empty_database(migrated_url):
    backend, engine = _backend(migrated_url)
    assert backend.alert_counts() == {}
    assert backend.health() == []
    engine.dispose()
