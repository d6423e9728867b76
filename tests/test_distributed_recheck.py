"""Distributed mode finds edits and replaced attachments in the next cycle, as `countywatch crawl` does.

The push (`countywatch worker --enqueue`) schedules the conditional re-checks of recent articles and
of their stored attachments; a `countywatch worker` answers them through the same storage as the
single process. Against the replica, on PostgreSQL and Redis, with early re-checks reaching back to
the replica's dates:
1. first cycle: every article stored, dq-recruitment's 岗位表 PDF read;
2. after `advance()`, the next cycle, nothing due on the decaying schedule: every recent article is
   asked once with its validators; unchanged ones answer 304, the edited enrolment notice becomes
   version 2, and the replaced 岗位表 (same link, new bytes) makes version 2 of dq-recruitment with
   its own diff line; the unchanged ones' check time is recorded when their run finishes (as
   `countywatch crawl` records it), nothing else of them moves.
Needs COUNTYWATCH_TEST_POSTGRES_URL and COUNTYWATCH_TEST_REDIS_URL (scripts/test.sh).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.urls import canonicalize_url
from replica.network import ReplicaNetwork
from storage.db import make_engine, make_session_factory
from storage.models import Article, ArticleAttachment, ArticleVersion
from tests.distributed_support import (
    Worker,
    child_env,
    distributed_config,
    drop_keys,
    latest_runs,
    run_command,
    work_queue,
    write_config,
)
from tests.polling import wait_for
from tests.test_crawl_e2e import SLOW, article_requests

pytestmark = pytest.mark.e2e
REDIS_ENV = "COUNTYWATCH_TEST_REDIS_URL"


@pytest.fixture
def redis_url() -> Iterator[str]:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.fail(
            f"{REDIS_ENV} is not set: run `source scripts/services.sh; start_services` first "
            "(scripts/test.sh does this)",
            pytrace=False,
        )
    yield url


def _stored(db: str) -> tuple[dict[str, Article], dict[int, list[str]], dict[int, list[str]]]:
    """Articles by URL, the diffs of each article's versions, and its attachments' hashes."""
    engine = make_engine(db)
    try:
        with make_session_factory(engine)() as session:
            articles = {row.url: row for row in session.scalars(select(Article))}
            diffs: dict[int, list[str]] = {}
            for version in session.scalars(select(ArticleVersion).order_by(ArticleVersion.version)):
                diffs.setdefault(version.article_id, []).append(version.diff or "")
            files: dict[int, list[str]] = {}
            for link in session.scalars(select(ArticleAttachment)):
                files.setdefault(link.article_id, []).append(link.sha256 or "")
            session.expunge_all()
    finally:
        engine.dispose()
    return articles, diffs, files


def test_a_worker_finds_edits_and_replaced_attachments_in_the_next_cycle(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    prefix = f"cwtest-{uuid.uuid4().hex[:10]}"
    env = child_env(CW_TEST_REDIS=redis_url)
    queue = work_queue(redis_url, prefix)
    with ReplicaNetwork(slow_seconds=SLOW) as net:
        expected = net.expected
        base = net.config_dict(postgres_url)
        config = distributed_config(base, tmp_path, prefix=prefix, redis_env="CW_TEST_REDIS")
        # The replica's notices are dated April 2024: "recent" must reach back that far. The cycles
        # run seconds apart, so early re-checks are asked every cycle (as in test_crawl_recent_e2e).
        config["crawl"].update({"recheck_recent": "3650d", "recheck_recent_every": "0s", "timeout": SLOW + 3})
        path = write_config(config, tmp_path)
        worker = Worker(path, "w1", env, tmp_path, lease=1.5, tick=0.2)
        sources = len(config["sources"])

        def cycle() -> None:
            assert int(run_command(["worker", "--enqueue", "--config", str(path)], env).split()[1]) > 0

            def finished() -> bool:
                assert worker.process.poll() is None, worker.log_tail()
                runs = latest_runs(postgres_url)
                return queue.idle() and len(runs) == sources and all(r.finished for r in runs.values())

            wait_for(finished, 90, "the worker to finish the cycle")

        try:
            recruitment = canonicalize_url(expected.by_key("dq-recruitment").url)
            enrolment = canonicalize_url(expected.by_key("zp-enrolment").url)

            # 1. first cycle: everything stored, the attachment read
            cycle()
            articles, _, files = _stored(postgres_url)
            assert {canonicalize_url(a.url) for a in expected.stored(1)} == set(articles)
            (first_hash,) = files[articles[recruitment].id]

            # 2. the next cycle, nothing due by the schedule: the push's conditional re-checks
            net.requests.clear()
            net.advance()
            first = articles
            cycle()
            articles, diffs, files = _stored(postgres_url)
            assert len(diffs[articles[enrolment].id]) == 2
            assert articles[enrolment].version == 2
            assert articles[recruitment].version == 2
            replaced = diffs[articles[recruitment].id][1]
            assert replaced.startswith("~ 附件已更换: 攀枝花市东区2024年公开招聘中小学教师岗位表")
            assert files[articles[recruitment].id] != [first_hash]
            statuses = article_requests(net, expected)
            unchanged = [a for a in expected.served(2) if a.since == 1 and a.changed_in != 2]
            assert unchanged
            for article in unchanged:
                # Asked once, conditionally, by the push's entry (not again from the list page).
                assert statuses[article.url] == [304], article.url
                canonical = canonicalize_url(article.url)
                assert articles[canonical].last_checked > first[canonical].last_checked, article.url
                assert articles[canonical].next_check_at == first[canonical].next_check_at
        finally:
            assert worker.stop() == 0, worker.log_tail()
            queue.server.close()
            drop_keys(redis_url, prefix)
