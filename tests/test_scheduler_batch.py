"""The batch tick: due sources selected from the database, most overdue first, crawled together.

The database part (due selection, order, moving a source on by its schedule) runs on SQLite and
PostgreSQL; the per-source time budget is checked on the middleware with a fake clock and in real
crawls of the replica network, where a slow source and a dead one share a batch with healthy ones.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from redis import Redis
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select
from twisted.python.failure import Failure

from core.config import Schedule
from countywatch.config import config_from_dict
from countywatch.daemon_hooks import make_daemon
from crawler.distributed import codec
from crawler.distributed.queue import Keys
from crawler.runtime.middlewares import SourceOverBudget
from crawler.runtime.middlewares.budget import SourceBudgetMiddleware
from crawler.runtime.spiders.failures import failure_kind
from crawler.runtime.spiders.lists import ListSpider
from replica.network import ReplicaNetwork
from scheduler.backend import StorageBackend
from scheduler.batch import ScheduleStore
from scheduler.jobs import next_due
from scheduler.state import OK, STATE_FILE, read_state
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import CrawlRun, Source
from storage.repository import SourceRef, source_health
from storage.schedule import due_sources, ensure_sources, schedule_rows, set_next_due
from tests.crawl_support import request
from tests.polling import wait_for

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
COUNTYWATCH = [sys.executable, "-m", "countywatch"]
REDIS_ENV = "COUNTYWATCH_TEST_REDIS_URL"


# --- due selection in the database -------------------------------------------------------------


def test_due_sources_come_most_overdue_first_and_up_to_the_limit(session):
    ensure_sources(session, [SourceRef(name=n) for n in ("a", "b", "c", "d", "e")], now=NOW)
    set_next_due(
        session,
        {
            "a": NOW - timedelta(minutes=5),
            "b": NOW - timedelta(hours=3),
            "c": NOW + timedelta(minutes=1),  # not due yet
            "d": None,  # not scheduled
            "e": NOW - timedelta(hours=1),
        },
    )
    assert due_sources(session, NOW, limit=10) == ["b", "e", "a"]
    assert due_sources(session, NOW, limit=2) == ["b", "e"]


def test_ensure_sources_adds_only_the_missing_rows(session):
    assert ensure_sources(session, [SourceRef(name="a", kind="newspaper")], now=NOW) == 1
    assert ensure_sources(session, [SourceRef(name="a"), SourceRef(name="b")], now=NOW) == 1
    assert set(schedule_rows(session)) == {"a", "b"}


def test_taking_due_sources_moves_each_on_by_its_own_schedule(migrated_url):
    config = config_from_dict(
        {
            "database": migrated_url,
            "sources": [
                {"name": "hourly", "start_urls": ["http://127.0.0.1:1/"], "schedule": "1h"},
                {"name": "daily", "start_urls": ["http://127.0.0.1:2/"], "schedule": "0 8 * * *"},
                {"name": "later", "start_urls": ["http://127.0.0.1:3/"], "schedule": "6h"},
            ],
        }
    )
    store = ScheduleStore(migrated_url)
    try:
        store.sync(
            config.sources, None, lambda name: NOW - timedelta(hours=1) if name == "later" else None, NOW
        )
        assert dict(store.next_runs()) == {"hourly": NOW, "daily": NOW, "later": NOW + timedelta(hours=5)}
        taken = store.take_due(config, NOW, limit=10)
        assert taken == ["daily", "hourly"]  # equally due: by name
        due = dict(store.next_runs())
        assert due["hourly"] == NOW + timedelta(hours=1)
        assert due["daily"] == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 Shanghai
        assert store.take_due(config, NOW, limit=10) == []  # a second tick takes none of them
        # A source leaving the configuration leaves the schedule.
        store.sync(config.sources[:1], {"hourly"}, lambda name: None, NOW)
        assert set(store.next_runs()) == {"hourly"}
    finally:
        store.close()


def test_next_due_adds_at_most_the_jitter():
    schedule = Schedule(interval="6h", jitter="10m")
    for _ in range(20):
        due = next_due(schedule, NOW)
        assert NOW + timedelta(hours=6) <= due <= NOW + timedelta(hours=6, minutes=10)


# --- the per-source time budget ---------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_sources_requests_are_capped_then_dropped_when_its_budget_is_used_up():
    clock = _Clock()
    budget = SourceBudgetMiddleware(limit=60, download_timeout=30, clock=clock)
    first = request("http://a.example/1", source="a")
    budget.process_request(first)
    assert "download_timeout" not in first.meta  # 60 s left: the 30 s download timeout stands
    clock.now += 45
    capped = request("http://a.example/2", source="a")
    budget.process_request(capped)
    assert capped.meta["download_timeout"] == pytest.approx(15)
    other = request("http://b.example/1", source="b")
    budget.process_request(other)  # b's clock starts now: untouched
    assert "download_timeout" not in other.meta
    clock.now += 16
    with pytest.raises(SourceOverBudget) as raised:
        budget.process_request(request("http://a.example/3", source="a"))
    assert failure_kind(Failure(raised.value)) == "budget"
    budget.process_request(request("http://b.example/2", source="b"))  # b still has time
    budget.process_request(request("http://a.example/robots.txt", source=None))  # no source: no budget


def test_the_budget_middleware_is_off_with_a_zero_limit_and_on_by_default():
    from_settings = SourceBudgetMiddleware.from_crawler(
        get_crawler(ListSpider, {"COUNTYWATCH_SOURCE_TIME_LIMIT": 5})
    )
    assert from_settings.limit == 5
    with pytest.raises(NotConfigured, match="no per-source time limit"):
        SourceBudgetMiddleware.from_crawler(get_crawler(ListSpider, {"COUNTYWATCH_SOURCE_TIME_LIMIT": 0}))


# --- real crawls against the replica network --------------------------------------------------


def _replica_config(net: ReplicaNetwork, tmp_path: Path, names: tuple[str, ...], **crawl: object) -> dict:
    data = net.config_dict(f"sqlite:///{tmp_path / 'cw.db'}", data_dir=str(tmp_path / "data"))
    data["sources"] = [s for s in data["sources"] if s["name"] in names]
    # A site nobody answers at: every request is refused.
    data["sources"].append({"name": "dead", "start_urls": ["http://127.0.0.1:9/news/"], "schedule": "1h"})
    data["crawl"].update({"extract_workers": 0, **crawl})
    return data


def _crawl(config: Path, *args: str) -> dict:
    done = subprocess.run(
        [*COUNTYWATCH, "crawl", "--config", str(config), "--json", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.e2e
def test_a_slow_source_and_a_dead_one_do_not_hold_the_batch(tmp_path):
    # zhenping's slow page takes 60 s; its budget is 4 s. The crawl's own time limit (40 s) would
    # end the whole batch early ("closespider_timeout") if that source held it.
    with ReplicaNetwork(slow_seconds=60) as net:
        data = _replica_config(
            net,
            tmp_path,
            ("zhenping", "xiangtan_daily"),
            source_time_limit="4s",
            time_limit="40s",
            timeout=90,
        )
        config = tmp_path / "sources.yaml"
        config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        report = _crawl(config)
    assert report["finish_reason"] == "finished"
    by_name = {s["name"]: s for s in report["sources"]}
    assert set(by_name) == {"zhenping", "xiangtan_daily", "dead"}
    slow = by_name["zhenping"]
    assert slow["errors"].get("timeout", 0) + slow["errors"].get("budget", 0) >= 1
    assert slow["new"] > 0  # what it fetched in its time is stored
    assert by_name["xiangtan_daily"]["health"] == "ok" and by_name["xiangtan_daily"]["new"] > 0
    assert by_name["dead"]["health"] == "failing"
    assert by_name["dead"]["errors"].get("connection", 0) >= 1


@pytest.mark.e2e
def test_crawl_source_still_crawls_only_the_named_source(tmp_path):
    with ReplicaNetwork(slow_seconds=0.2) as net:
        data = _replica_config(net, tmp_path, ("zhenping", "xiangtan_daily"))
        config = tmp_path / "sources.yaml"
        config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        report = _crawl(config, "--source", "xiangtan_daily")
        assert [s["name"] for s in report["sources"]] == ["xiangtan_daily"]
        assert not net.requests.records("zhenping")


@pytest.mark.e2e
def test_the_tick_crawls_due_sources_in_batches_most_overdue_first(tmp_path):
    with ReplicaNetwork(slow_seconds=0.2) as net:
        data = _replica_config(net, tmp_path, ("zhenping", "ankang_jyj", "xiangtan_daily"), batch_size=2)
        config = tmp_path / "sources.yaml"
        config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        url = data["database"]
        upgrade(url)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        now = datetime.now(UTC)
        overdue = {"xiangtan_daily": 3, "dead": 2, "zhenping": 1, "ankang_jyj": 0.5}  # hours
        with sessions() as session, session.begin():
            ensure_sources(session, [SourceRef(name=n) for n in overdue], now=now)
            set_next_due(session, {n: now - timedelta(hours=h) for n, h in overdue.items()})
        daemon = make_daemon(config, StorageBackend(sessions), kill_grace=2.0)
        daemon.start()
        try:
            state_file = tmp_path / "data" / STATE_FILE

            def all_crawled() -> bool:
                jobs = read_state(state_file).jobs
                return all(jobs.get(f"crawl:{n}") is not None and jobs[f"crawl:{n}"].runs for n in overdue)

            wait_for(all_crawled, timeout=240, what="every due source to be crawled")
            next_runs = dict(daemon.schedules.next_runs())
        finally:
            daemon.stop()
        jobs = read_state(state_file).jobs
        with sessions() as session:
            health = {row.name: row.health for row in source_health(session)}
        engine.dispose()
    assert {n: jobs[f"crawl:{n}"].last_status for n in overdue} == dict.fromkeys(overdue, OK)
    started = {n: jobs[f"crawl:{n}"].last_started for n in overdue}
    # Two batches of two: the two most overdue together, then the other two.
    assert started["xiangtan_daily"] == started["dead"] < started["zhenping"] == started["ankang_jyj"]
    # Health is per source: the dead site fails without failing its batch.
    assert health["dead"] == "failing"
    assert health["xiangtan_daily"] == "ok" and health["ankang_jyj"] == "ok"
    # Each source moved on by its own schedule (1 h) from its batch.
    assert all(now + timedelta(minutes=50) < next_runs[n] < now + timedelta(hours=2) for n in overdue)


# --- distributed mode: one push for the batch -------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.fail(
            f"{REDIS_ENV} is not set: run `source scripts/services.sh; start_services` first", pytrace=False
        )
    return url


@pytest.mark.redis
def test_in_distributed_mode_the_tick_enqueues_every_due_source_in_one_push(tmp_path, redis_url, caplog):
    prefix = f"cwtest-{uuid.uuid4().hex[:10]}"
    names = ["a", "b", "c"]
    data = {
        "database": f"sqlite:///{tmp_path / 'cw.db'}",
        "data_dir": str(tmp_path / "data"),
        "sources": [
            {
                "name": n,
                "start_urls": [f"http://127.0.0.{i + 1}:1/{n}/"],
                "feeds": [f"http://127.0.0.{i + 1}:1/rss"],
            }
            for i, n in enumerate(names)
        ],
        "distributed": {"redis_url": redis_url, "queue_prefix": prefix},
    }
    config = tmp_path / "sources.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    url = data["database"]
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    server = Redis.from_url(redis_url)
    caplog.set_level(logging.INFO, logger="countywatch.daemon")
    daemon = make_daemon(config, StorageBackend(sessions), kill_grace=2.0)
    try:
        daemon.start()
        try:
            state_file = tmp_path / "data" / STATE_FILE
            wait_for(
                lambda: (
                    all(read_state(state_file).jobs.get(f"crawl:{n}") for n in names)
                    and all(read_state(state_file).jobs[f"crawl:{n}"].last_status for n in names)
                ),
                timeout=120,
                what="the batch to be enqueued",
            )
        finally:
            daemon.stop()
        jobs = read_state(state_file).jobs
        assert {n: jobs[f"crawl:{n}"].last_status for n in names} == dict.fromkeys(names, OK)
        entries = [codec.loads(raw) for raw in server.zrange(Keys(prefix).requests, 0, -1)]
        with sessions() as session:
            runs = dict(
                session.execute(
                    select(Source.name, func.count(CrawlRun.id)).join(CrawlRun).group_by(Source.name)
                ).all()
            )
    finally:
        for key in server.scan_iter(match=f"{prefix}:*"):
            server.delete(key)
        server.close()
        engine.dispose()
    # One enqueue process for the three due sources: one batch, each source with its own run.
    assert [r.getMessage() for r in caplog.records].count("batch crawl of 3 due sources started") == 1
    assert sorted((e["source"], e["kind"]) for e in entries) == sorted(
        (n, kind) for n in names for kind in ("list", "feed")
    )
    assert len({e["run"] for e in entries}) == 3
    assert runs == dict.fromkeys(names, 1)
