"""Crawl runs in distributed mode: counted per run in Redis, finished exactly once in the database.

Needs COUNTYWATCH_TEST_REDIS_URL and COUNTYWATCH_TEST_POSTGRES_URL (scripts/test.sh, or
`source scripts/services.sh; start_services`).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from core.config import Source
from core.urls import canonicalize_url
from crawler.distributed import codec
from crawler.distributed.queue import Keys, ReliableQueue, WorkQueue
from crawler.distributed.runs import (
    RunRecorder,
    RunStatsCollector,
    close_run,
    counter_field,
    run_early_key,
    run_pending_key,
    run_stats_key,
    stats_from_hash,
)
from crawler.distributed.spider import DistributedSpider
from crawler.runtime.health import SourceStats
from crawler.runtime.tally import count, count_error
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Alert, Article, CrawlRun
from storage.repository import SourceRef, health_history, ingest_article, start_crawl_run
from tests.storage_builders import make_article

REDIS_ENV = "COUNTYWATCH_TEST_REDIS_URL"
SOURCE = Source(name="zhenping", start_urls=["http://www.zhenping.gov.cn/col/col1/index.html"])


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.fail(
            f"{REDIS_ENV} is not set: run `source scripts/services.sh; start_services` first "
            "(scripts/test.sh does this)",
            pytrace=False,
        )
    return url


@pytest.fixture
def server(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def keys(server: Redis) -> Iterator[Keys]:
    """A key prefix of this test's own, deleted afterwards."""
    prefix = f"cwtest-{uuid.uuid4().hex[:10]}"
    yield Keys(prefix)
    for key in server.scan_iter(match=f"{prefix}:*"):
        server.delete(key)


@pytest.fixture
def database(postgres_url: str) -> str:
    upgrade(postgres_url)
    return postgres_url


def _sessions(url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(url))


def _open_run(url: str, now: datetime | None = None) -> int:
    with _sessions(url)() as session, session.begin():
        return start_crawl_run(session, SourceRef(name="zhenping"), now=now)


# --- counting --------------------------------------------------------------------------------


def test_only_per_source_counters_of_configured_sources_are_run_counters() -> None:
    sources = {"zhenping"}
    assert counter_field("countywatch/zhenping/new", sources) == ("zhenping", "new")
    assert counter_field("countywatch/zhenping/errors/http_5xx", sources) == ("zhenping", "errors/http_5xx")
    assert counter_field("countywatch/zhenping/errors/nonsense", sources) is None
    assert counter_field("countywatch/other/new", sources) is None
    assert counter_field("countywatch/extract_cpu_seconds", sources) is None
    assert counter_field("downloader/request_count", sources) is None
    stats = stats_from_hash({b"new": b"3", b"errors/timeout": b"2", b"errors/bogus": b"1", b"bogus": b"9"})
    assert stats.new == 3 and stats.errors == {"timeout": 2}


def _settings(redis_url: str, keys: Keys) -> dict[str, object]:
    return {
        "REDIS_URL": redis_url,
        "STATS_CLASS": "crawler.distributed.runs.RunStatsCollector",
        "COUNTYWATCH_QUEUE_PREFIX": keys.prefix,
        "COUNTYWATCH_WORKER_ID": "w1",
    }


def test_counts_travel_with_the_acknowledgement_and_the_last_one_ends_the_run(
    server: Redis, keys: Keys, redis_url: str
) -> None:
    crawler = get_crawler(DistributedSpider, _settings(redis_url, keys))
    spider = DistributedSpider.from_crawler(crawler, sources=[SOURCE])
    crawler.spider = spider
    stats = crawler.stats
    assert isinstance(stats, RunStatsCollector)
    queue = ReliableQueue(server, spider, keys.requests, codec)
    done: list[int] = []
    queue.on_run_done = done.append
    entry = {"cw_start": 1, "source": "zhenping", "kind": "list", "url": SOURCE.start_urls[0], "cycle": 5}
    assert queue.work.push_many([(codec.dumps({**entry, "run": 7}), 0)], run=7) == 1
    request = queue.pop()
    assert request is not None and request.meta["cw_run"] == 7
    assert spider.current_run("zhenping") == 7
    # A child request of the run is queued before its parent is acknowledged.
    child = spider.make_request(
        SOURCE, "http://www.zhenping.gov.cn/art/1.html", "article", spider.parse_article
    )
    child.meta["cw_run"] = 7
    queue.push(child)
    count(stats, "zhenping", "links_found", 4)
    count_error(stats, "zhenping", "http_5xx")
    assert queue.ack(request.meta["cw_claim"]) is True
    assert server.get(run_pending_key(keys.prefix, 7)) == b"1" and done == []
    assert server.hgetall(run_stats_key(keys.prefix, 7)) == {b"links_found": b"4", b"errors/http_5xx": b"1"}
    # The Scrapy stats still hold everything, as in a single crawl.
    assert stats.get_value("countywatch/zhenping/links_found") == 4
    article = queue.pop()
    assert article is not None
    count(stats, "zhenping", "new")
    assert queue.ack(article.meta["cw_claim"]) is True
    assert done == [7]
    assert server.hget(run_stats_key(keys.prefix, 7), "new") == b"1"
    assert queue.ack(article.meta["cw_claim"]) is False  # a second acknowledgement changes nothing
    assert server.get(run_pending_key(keys.prefix, 7)) == b"0"


def test_a_claimed_request_enters_its_run_before_any_callback(
    server: Redis, keys: Keys, redis_url: str
) -> None:
    # A retry claimed by a worker that has seen nothing of its source yet: a middleware may count
    # its failure before any callback of the spider runs.
    crawler = get_crawler(DistributedSpider, _settings(redis_url, keys))
    spider = DistributedSpider.from_crawler(crawler, sources=[SOURCE])
    crawler.spider = spider
    queue = ReliableQueue(server, spider, keys.requests, codec)
    retry = spider.make_request(SOURCE, SOURCE.start_urls[0], "list", spider.parse_list)
    retry.meta.update({"cw_run": 9, "cw_cycle": 3})
    queue.push(retry)
    assert spider.current_run("zhenping") is None
    request = queue.pop()
    assert request is not None and spider.current_run("zhenping") == 9
    assert crawler.stats is not None
    count_error(crawler.stats, "zhenping", "http_5xx")
    assert queue.ack(request.meta["cw_claim"]) is True
    assert server.hgetall(run_stats_key(keys.prefix, 9)) == {b"errors/http_5xx": b"1"}


def test_early_checks_answered_304_are_recorded_when_their_run_finishes(
    server: Redis, keys: Keys, redis_url: str, database: str
) -> None:
    # As `countywatch crawl` does at its end: only last_checked moves, to the finish time, so the
    # next push leaves the article alone for crawl.recheck_recent_every.
    url = "http://www.zhenping.gov.cn/art/2024/4/15/art_1_1.html"
    stored_at = datetime.now(UTC) - timedelta(hours=5)
    with _sessions(database)() as session, session.begin():
        source = SourceRef(name="zhenping")
        ingest_article(session, make_article("zhenping"), source=source, fetched_url=url, now=stored_at)
    with _sessions(database)() as session:
        before = session.scalars(select(Article).where(Article.url == url)).one()
        next_check_at = before.next_check_at
    run = _open_run(database)
    crawler = get_crawler(DistributedSpider, _settings(redis_url, keys))
    spider = DistributedSpider.from_crawler(crawler, sources=[SOURCE])
    crawler.spider = spider
    queue = ReliableQueue(server, spider, keys.requests, codec)
    recorder = RunRecorder(server, keys.prefix, database)
    queue.on_run_done = recorder.finish
    try:
        entry = {"cw_start": 1, "source": "zhenping", "kind": "list", "url": SOURCE.start_urls[0], "cycle": 5}
        queue.work.push_many([(codec.dumps({**entry, "run": run}), 0)], run=run)
        claimed = queue.pop()
        assert claimed is not None
        request = spider.make_request(
            SOURCE, url + "?from=list", "article", spider.parse_article, cw_known=True, cw_early=True
        )
        request.meta.update({"cw_run": run, "cw_claim": claimed.meta["cw_claim"]})
        assert list(spider.parse_article(HtmlResponse(url=request.url, status=304, request=request))) == []
        assert spider.early_unchanged == {}  # handed to the run, not kept for an end that never comes
        assert queue.ack(claimed.meta["cw_claim"]) is True
        assert not server.exists(run_early_key(keys.prefix, run))  # read and dropped by the finish
        with _sessions(database)() as session:
            row = session.get(CrawlRun, run)
            assert row is not None and row.finished_at is not None
            article = session.scalars(select(Article).where(Article.url == url)).one()
            assert article.last_checked == row.finished_at
            assert article.next_check_at == next_check_at
            assert row.stats["not_modified"] == 1
    finally:
        recorder.close()


def test_a_claimed_batch_enters_the_cycles_of_its_sources_with_one_read(
    server: Redis, keys: Keys, redis_url: str, database: str
) -> None:
    sources = [SOURCE, Source(name="dongqu", start_urls=["http://www.dongqu.gov.cn/col/col2/index.html"])]
    stored = {s.name: f"{s.start_urls[0].rsplit('/', 3)[0]}/art/2024/4/15/art_1_1.html" for s in sources}
    with _sessions(database)() as session, session.begin():
        for name, url in stored.items():
            ingest_article(session, make_article(name), source=SourceRef(name=name), fetched_url=url)
    crawler = get_crawler(DistributedSpider, _settings(redis_url, keys))
    spider = DistributedSpider.from_crawler(crawler, sources=sources, database_url=database)
    crawler.spider = spider
    queue = ReliableQueue(server, spider, keys.requests, codec)
    statements: list[str] = []
    spider._engine = make_engine(database)
    event.listen(spider._engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    entries = [
        (
            codec.dumps(
                {
                    "cw_start": 1,
                    "source": s.name,
                    "kind": "list",
                    "url": s.start_urls[0],
                    "cycle": 5,
                    "run": run,
                }
            ),
            0,
        )
        for s, run in zip(sources, (11, 12), strict=True)
    ]
    queue.work.push_many(entries)
    try:
        assert queue.pop() is not None
        # Both sources entered cycle 5 with their runs, their known pages read together.
        assert (spider.current_run("zhenping"), spider.current_run("dongqu")) == (11, 12)
        assert {name: list(pages) for name, pages in spider.known.items()} == {
            name: [canonicalize_url(url)] for name, url in stored.items()
        }
        reads = len(statements)
        assert queue.pop() is not None
        assert len(statements) == reads  # the second source's entry reads nothing more
    finally:
        spider.closed("finished")


# --- finishing -------------------------------------------------------------------------------


def test_two_workers_finishing_a_run_at_once_finish_it_once(database: str) -> None:
    run = _open_run(database)
    failing = SourceStats(errors={"connection": 3})
    factories = [_sessions(database), _sessions(database)]
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def finish(sessions: sessionmaker[Session]) -> None:
        barrier.wait()
        results.append(close_run(sessions, run, failing))

    threads = [threading.Thread(target=finish, args=(f,)) for f in factories]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, True]
    with factories[0]() as session:
        (row,) = health_history(session, "zhenping")
        assert row.health == "failing" and row.stats["errors"] == {"connection": 3}
        assert row.error == "connection: 3" and row.finished_at is not None
        health_alerts = session.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "health"))
        assert health_alerts == 1  # ok -> failing, raised once


def test_health_sees_the_sources_past_as_it_was_when_the_run_started(database: str) -> None:
    now = datetime.now(UTC)
    source = SourceRef(name="zhenping")
    with _sessions(database)() as session, session.begin():
        for days, name in ((60, "zhenping"), (55, "dongqu"), (50, "farming")):
            url = f"http://www.zhenping.gov.cn/art/{days}.html"
            ingest_article(
                session, make_article(name), source=source, fetched_url=url, now=now - timedelta(days=days)
            )
    run = _open_run(database, now=now - timedelta(minutes=1))
    # During the run a repost is stored (first seen now): it is no new article, so the source,
    # quiet for 50 days against a rhythm of 5, is stale as a single crawl would find it.
    with _sessions(database)() as session, session.begin():
        repost = "http://www.zhenping.gov.cn/art/repost.html"
        assert ingest_article(
            session, make_article("zhenping"), source=source, fetched_url=repost
        ).outcome == ("duplicate")
    stats = SourceStats(list_pages=1, links_found=4, articles_fetched=1, duplicate=1)
    assert close_run(_sessions(database), run, stats, now=now) is True
    with _sessions(database)() as session:
        assert session.get(CrawlRun, run).health == "stale"  # type: ignore[union-attr]


def test_a_run_still_in_flight_at_the_next_push_is_left_open(
    server: Redis, keys: Keys, database: str
) -> None:
    work = WorkQueue(server, keys)
    recorder = RunRecorder(server, keys.prefix, database)
    try:
        old = _open_run(database)
        work.push_many([(b'{"a":1}', 0), (b'{"b":1}', 0)], run=old)
        claimed = work.claim("w1")
        assert claimed is not None
        work.ack_run("w1", claimed, old, {old: Counter({"new": 2})})
        assert recorder.sweep() == []  # one entry still queued: not finished
        with _sessions(database)() as session:
            assert session.get(CrawlRun, old).finished_at is None  # type: ignore[union-attr]
        other = work.claim("w1")
        assert other is not None
        # The worker finishing it died before recording: the next push's sweep records it.
        assert (
            work.ack_run("w1", other, old, {old: Counter({"new": 1, "list_pages": 1, "links_found": 3})}) == 0
        )
        assert recorder.sweep() == [old]
        assert recorder.sweep() == []  # recorded once, its Redis keys gone
        assert not server.exists(run_stats_key(keys.prefix, old), run_pending_key(keys.prefix, old))
        with _sessions(database)() as session:
            row = session.get(CrawlRun, old)
            assert row is not None and row.finished_at is not None
            assert row.stats["new"] == 3 and row.stats["links_found"] == 3 and row.health == "ok"
        assert recorder.finish(old) is False  # a late second finisher changes nothing
    finally:
        recorder.close()
