"""End to end: the push and two `countywatch worker` processes against the replica site network.

The database the workers fill must be identical (articles, stories, article alerts; compared by
URL, not by id) to what a single `countywatch crawl` stores on a fresh database, and each source's
crawl run must hold the same counters, errors and health as the single crawl's. Then again with
one worker SIGKILLed mid-crawl: the other requeues the dead worker's claimed requests after its
lease, drains the queue, and the database again matches.
Needs COUNTYWATCH_TEST_POSTGRES_URL and COUNTYWATCH_TEST_REDIS_URL (scripts/test.sh).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from replica.network import ReplicaNetwork
from storage.db import make_engine, make_session_factory
from storage.models import Article
from tests.distributed_support import (
    RunRecord,
    Snapshot,
    Worker,
    child_env,
    distributed_config,
    drop_keys,
    latest_runs,
    run_command,
    snapshot,
    work_queue,
    write_config,
)
from tests.polling import wait_for

pytestmark = pytest.mark.e2e
REDIS_ENV = "COUNTYWATCH_TEST_REDIS_URL"
SLOW = 1.0  # the slow page keeps a request in flight long enough to kill a worker holding it
LEASE = 1.5
TICK = 0.2


@pytest.fixture(scope="module")
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.fail(
            f"{REDIS_ENV} is not set: run `source scripts/services.sh; start_services` first "
            "(scripts/test.sh does this)",
            pytrace=False,
        )
    return url


@pytest.fixture(scope="module")
def network() -> Iterator[ReplicaNetwork]:
    with ReplicaNetwork(slow_seconds=SLOW) as net:
        yield net


@pytest.fixture(scope="module")
def fresh_database(postgres_admin: Engine) -> Iterator[Any]:
    """A factory of fresh PostgreSQL schemas (dropped after the module)."""
    schemas: list[str] = []

    def make() -> str:
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with postgres_admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        url = postgres_admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    yield make
    with postgres_admin.connect() as conn:
        for schema in schemas:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@dataclass(frozen=True)
class SingleRun:
    """What one `countywatch crawl` stored on a fresh database, and the crawl runs it recorded."""

    snapshot: Snapshot
    runs: dict[str, RunRecord]


@pytest.fixture(scope="module")
def single_run(
    network: ReplicaNetwork, fresh_database: Any, tmp_path_factory: pytest.TempPathFactory
) -> SingleRun:
    """What one `countywatch crawl` stores on a fresh database."""
    folder = tmp_path_factory.mktemp("single")
    db = fresh_database()
    config = network.config_dict(db, data_dir=str(folder / "data"))
    config["crawl"]["extract_workers"] = 1
    run_command(["crawl", "--config", str(write_config(config, folder))], child_env())
    result = snapshot(db)
    assert len(result.articles) >= 20 and result.alerts  # a real crawl, not an empty one
    return SingleRun(result, latest_runs(db))


def _articles(db: str) -> int:
    engine = make_engine(db)
    try:
        with make_session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(Article)) or 0)
    finally:
        engine.dispose()


class Cluster:
    """A fresh database and queue prefix, a configuration for them, and the workers started."""

    def __init__(self, network: ReplicaNetwork, db: str, redis_url: str, folder: Path) -> None:
        self.db = db
        self.redis_url = redis_url
        self.prefix = f"cwtest-{uuid.uuid4().hex[:10]}"
        self.folder = folder
        self.env = child_env(CW_TEST_REDIS=redis_url)
        base = network.config_dict(db)
        config = distributed_config(base, folder, prefix=self.prefix, redis_env="CW_TEST_REDIS")
        # A few requests at a time per worker, so that two workers share even this small network.
        config["crawl"]["concurrent_requests"] = 4
        self.config = write_config(config, folder)
        self.queue = work_queue(redis_url, self.prefix)
        self.workers: list[Worker] = []

    def enqueue(self) -> int:
        out = run_command(["worker", "--enqueue", "--config", str(self.config)], self.env)
        return int(out.split()[1])

    def start(self, worker_id: str) -> Worker:
        worker = Worker(self.config, worker_id, self.env, self.folder, lease=LEASE, tick=TICK)
        self.workers.append(worker)
        return worker

    def drained(self) -> bool:
        return self.queue.idle()

    def close(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.kill()
        self.queue.server.close()
        drop_keys(self.redis_url, self.prefix)


@pytest.fixture
def cluster(
    network: ReplicaNetwork, fresh_database: Any, redis_url: str, tmp_path: Path
) -> Iterator[Cluster]:
    c = Cluster(network, fresh_database(), redis_url, tmp_path)
    yield c
    c.close()


def _wait_drained(cluster: Cluster, workers: list[Worker]) -> None:
    def done() -> bool:
        for worker in workers:
            assert worker.process.poll() is None, f"{worker.worker_id} exited:\n{worker.log_tail()}"
        return cluster.drained()

    wait_for(done, 60, "the workers to drain the queue")


def _all_finished(db: str, sources: int) -> bool:
    runs = latest_runs(db)
    return len(runs) == sources and all(run.finished for run in runs.values())


def _without_outcome_split(stats: dict[str, Any]) -> dict[str, Any]:
    rest = {k: v for k, v in stats.items() if k not in ("new", "duplicate")}
    return {**rest, "new+duplicate": stats["new"] + stats["duplicate"]}


def _assert_runs_match(runs: dict[str, RunRecord], expected: dict[str, RunRecord]) -> None:
    """Each source's run holds the single crawl's counters, errors and health.

    Which copy of a repost is stored first (`new`) and which second (`duplicate`) depends on the
    order pages are stored in, which differs between one process and two workers; a repost across
    two sources may move one `new` from one source to the other. So per source `new` and
    `duplicate` are compared as a sum, and across the network each exactly.
    """
    assert set(runs) == set(expected)
    for name, run in runs.items():
        want = expected[name]
        assert (run.finished, run.health, run.error) == (want.finished, want.health, want.error), name
        assert _without_outcome_split(run.stats) == _without_outcome_split(want.stats), name
    for outcome in ("new", "duplicate"):
        total = sum(r.stats[outcome] for r in runs.values())
        assert total == sum(r.stats[outcome] for r in expected.values()), outcome


def test_two_workers_store_what_one_crawl_stores(cluster: Cluster, single_run: SingleRun) -> None:
    workers = [cluster.start("w1"), cluster.start("w2")]
    members = cluster.queue.keys.workers
    wait_for(lambda: cluster.queue.server.scard(members) == 2, 60, "both workers to register")
    assert cluster.enqueue() > 0
    _wait_drained(cluster, workers)
    # The worker that acknowledged a run's last request finishes the run.
    sources = len(single_run.runs)
    wait_for(lambda: _all_finished(cluster.db, sources), 30, "every source's crawl run to be finished")
    for worker in workers:
        assert worker.stop() == 0, worker.log_tail()
        assert "Spider closed (shutdown)" in worker.log_tail(20000)
    assert snapshot(cluster.db) == single_run.snapshot
    # Both took part: each took requests from the shared queue (its final stats say how many).
    for worker in workers:
        assert "'scheduler/dequeued/redis'" in worker.log_tail(20000)
    assert cluster.queue.server.scard(members) == 0  # stopped workers deregister
    _assert_runs_match(latest_runs(cluster.db), single_run.runs)
    # `countywatch sources health` shows the runs the workers recorded.
    out = run_command(["sources", "health", "--json", "--config", str(cluster.config)], cluster.env)
    shown = {row["name"]: row for row in map(json.loads, out.splitlines())}
    for name, run in single_run.runs.items():
        assert shown[name]["health"] == run.health and shown[name]["last_run_at"] is not None
        assert shown[name]["last_error"] == run.error


def test_a_killed_worker_loses_nothing(cluster: Cluster, single_run: SingleRun) -> None:
    cluster.enqueue()
    doomed = cluster.start("doomed")
    processing = cluster.queue.keys.processing("doomed")

    def mid_crawl() -> bool:
        assert doomed.process.poll() is None, doomed.log_tail()
        return cluster.queue.server.zcard(processing) > 0 and _articles(cluster.db) > 0

    wait_for(mid_crawl, 60, "the first worker to be mid-crawl")
    survivor = cluster.start("survivor")
    doomed.kill()
    held = cluster.queue.server.zcard(processing)
    assert held > 0  # it died holding claimed requests
    wait_for(
        lambda: cluster.queue.server.zcard(processing) == 0, 30, "the dead worker's claims to be requeued"
    )
    _wait_drained(cluster, [survivor])
    sources = len(single_run.runs)
    wait_for(lambda: _all_finished(cluster.db, sources), 30, "every source's crawl run to be finished")
    assert survivor.stop() == 0, survivor.log_tail()
    assert "requeued" in survivor.log_tail(200000)
    assert snapshot(cluster.db) == single_run.snapshot
    # Requests the dead worker held are redone, so counts may be taken twice (at least once,
    # never lost); the runs are finished and the health is the same.
    runs = latest_runs(cluster.db)
    assert {n: r.health for n, r in runs.items()} == {n: r.health for n, r in single_run.runs.items()}
