"""The Redis pieces of distributed crawling, against a real Redis server.

The expiring seen-URL filter, the reliable queue (claims, acknowledgements, heartbeats, requeueing
a dead worker's claims), the scrapy-redis queue class and the scheduler's acknowledgements.
Needs COUNTYWATCH_TEST_REDIS_URL (scripts/test.sh, or `source scripts/services.sh; start_services`).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from redis import Redis
from redis.exceptions import RedisError
from scrapy import Request
from scrapy.utils.test import get_crawler

from core.config import Source
from crawler.distributed import codec
from crawler.distributed.claim_scheduler import ReliableScheduler
from crawler.distributed.claims import META_CYCLE
from crawler.distributed.queue import CLAIM_BATCH, META_CLAIM, META_PARENT, Keys, ReliableQueue, WorkQueue
from crawler.distributed.scripts import RoundTrip
from crawler.distributed.seen import ExpiringDupeFilter, ExpiringSeenFilter
from crawler.distributed.spider import DistributedSpider
from tests.polling import wait_for

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
def keys(redis_url: str) -> Iterator[Keys]:
    """A key prefix of this test's own, deleted afterwards."""
    prefix = f"cwtest-{uuid.uuid4().hex[:10]}"
    yield Keys(prefix)
    server = Redis.from_url(redis_url)
    for key in server.scan_iter(match=f"{prefix}:*"):
        server.delete(key)
    server.close()


@pytest.fixture
def server(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


# --- the seen-URL filter ---------------------------------------------------------------------


def test_a_url_is_seen_once_within_the_ttl(server: Redis, keys: Keys) -> None:
    seen = ExpiringSeenFilter(server, keys.seen, timedelta(hours=1))
    assert seen.seen("http://a/1.html") is False
    assert seen.seen("http://a/1.html") is True
    assert seen.seen("http://a/2.html") is False
    assert len(seen) == 2


def test_an_entry_expires_so_the_page_is_fetched_again(server: Redis, keys: Keys) -> None:
    seen = ExpiringSeenFilter(server, keys.seen, timedelta(milliseconds=300))
    assert seen.seen("http://a/1.html") is False
    assert seen.seen("http://a/1.html") is True
    # Expired: seen() answers False once (and records the URL again).
    wait_for(lambda: not seen.seen("http://a/1.html"), 5, "the entry to expire")
    assert seen.seen("http://a/1.html") is True


def test_trim_removes_only_expired_entries(server: Redis, keys: Keys) -> None:
    short = ExpiringSeenFilter(server, keys.seen, timedelta(milliseconds=200))
    long = ExpiringSeenFilter(server, keys.seen, timedelta(hours=1))
    for i in range(5):
        short.seen(f"http://a/{i}.html")
    long.seen("http://a/keep.html")
    removed: list[int] = []

    def trimmed_all() -> bool:
        removed.append(short.trim())
        return sum(removed) == 5

    wait_for(trimmed_all, 5, "the trim of 5 entries")
    assert len(short) == 1
    assert long.seen("http://a/keep.html") is True


def test_the_filter_rejects_a_non_positive_ttl(server: Redis, keys: Keys) -> None:
    with pytest.raises(ValueError, match="positive ttl"):
        ExpiringSeenFilter(server, keys.seen, timedelta(0))


def test_the_dupefilter_keys_requests_by_the_spiders_seen_key(server: Redis, keys: Keys) -> None:
    crawler = get_crawler(DistributedSpider, {"COUNTYWATCH_WORKER_ID": "w"})
    spider = DistributedSpider.from_crawler(crawler, sources=[SOURCE])
    dupes = ExpiringDupeFilter(ExpiringSeenFilter(server, keys.seen, timedelta(hours=1)), spider)
    first = Request("http://www.zhenping.gov.cn/art/1.html?utm_source=x#top", meta={"cw_source": "zhenping"})
    again = Request("http://www.zhenping.gov.cn/art/1.html", meta={"cw_source": "zhenping"})
    assert dupes.request_seen(first) is False
    assert dupes.request_seen(again) is True  # same canonical URL


# --- the work queue --------------------------------------------------------------------------


def test_claims_come_in_priority_order_and_stay_until_acknowledged(server: Redis, keys: Keys) -> None:
    work = WorkQueue(server, keys)
    work.push(b"list", 0)
    work.push(b"article", 1)
    assert work.claim("w1") == b"article"
    assert len(work) == 1
    work.heartbeat("w1", 30)
    assert work.in_flight() == 1 and not work.idle()
    assert work.ack("w1", b"article") is True
    assert work.ack("w1", b"article") is False  # already done
    assert work.claim("w1") == b"list"
    work.ack("w1", b"list")
    assert work.claim("w1") is None
    assert work.idle()


def test_a_dead_workers_claims_are_requeued_and_a_live_ones_are_not(server: Redis, keys: Keys) -> None:
    work = WorkQueue(server, keys)
    work.push_many([(b"a", 0), (b"b", 0), (b"c", 5)])
    work.heartbeat("dying", 0.3)
    work.heartbeat("alive", 30)
    assert work.claim("dying") == b"c"
    assert work.claim("dying") == b"a"
    assert work.claim("alive") == b"b"
    assert work.requeue_dead() == 0  # both heartbeats still alive
    wait_for(lambda: not server.exists(keys.heartbeat("dying")), 5, "the dying worker's lease to end")
    assert work.requeue_dead() == 2
    assert server.smembers(keys.workers) == {b"alive"}
    assert server.zcard(keys.processing("alive")) == 1
    # Requeued with their priority: c first again.
    assert work.claim("alive") == b"c"


def test_a_stopping_worker_hands_its_claims_back(server: Redis, keys: Keys) -> None:
    work = WorkQueue(server, keys)
    work.push_many([(b"a", 0), (b"b", 0)])
    work.heartbeat("w1", 30)
    work.claim("w1")
    assert work.release("w1") == 1
    assert len(work) == 2 and work.in_flight() == 0
    assert not server.exists(keys.heartbeat("w1"))
    assert server.scard(keys.workers) == 0


def test_racing_workers_never_claim_the_same_entry(server: Redis, keys: Keys, redis_url: str) -> None:
    WorkQueue(server, keys).push_many([(f"r{i}".encode(), 0) for i in range(400)])
    got: dict[str, list[bytes]] = {"w1": [], "w2": []}
    # Both workers are connected before either claims, and each waits after its first claim until
    # the other has one too: the rest of the queue is then drained by two workers at once.
    start = threading.Barrier(2, timeout=20)
    first_claimed = threading.Barrier(2, timeout=20)

    def drain(worker: str) -> None:
        client = Redis.from_url(redis_url)
        work = WorkQueue(client, keys)
        start.wait()
        while (data := work.claim(worker)) is not None:
            got[worker].append(data)
            if len(got[worker]) == 1:
                first_claimed.wait()
        client.close()

    threads = [threading.Thread(target=drain, args=(w,)) for w in got]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert got["w1"] and got["w2"], {w: len(items) for w, items in got.items()}
    assert not set(got["w1"]) & set(got["w2"])
    assert len(got["w1"]) + len(got["w2"]) == 400


# --- the scrapy-redis queue class and the scheduler ------------------------------------------


def _settings(redis_url: str, keys: Keys, worker: str = "w1") -> dict[str, Any]:
    return {
        "REDIS_URL": redis_url,
        "SCHEDULER_QUEUE_CLASS": "crawler.distributed.queue.ReliableQueue",
        "SCHEDULER_QUEUE_KEY": keys.requests,
        "SCHEDULER_SERIALIZER": "crawler.distributed.codec",
        "SCHEDULER_PERSIST": True,
        "DUPEFILTER_CLASS": "crawler.distributed.seen.ExpiringDupeFilter",
        "COUNTYWATCH_QUEUE_PREFIX": keys.prefix,
        "COUNTYWATCH_SEEN_KEY": keys.seen,
        "COUNTYWATCH_SEEN_TTL": 3600,
        "COUNTYWATCH_WORKER_ID": worker,
        "COUNTYWATCH_WORKER_LEASE": 30.0,
        "COUNTYWATCH_WORKER_TICK": 1.0,
    }


def _spider(redis_url: str, keys: Keys) -> DistributedSpider:
    crawler = get_crawler(DistributedSpider, _settings(redis_url, keys))
    return DistributedSpider.from_crawler(crawler, sources=[SOURCE])


def test_requests_travel_as_json_without_their_local_meta(server: Redis, keys: Keys, redis_url: str) -> None:
    spider = _spider(redis_url, keys)
    queue = ReliableQueue(server, spider, keys.requests, codec)
    request = spider.make_request(
        SOURCE, "http://www.zhenping.gov.cn/art/1.html", "article", spider.parse_article, priority=1
    )
    request.meta.update({META_CLAIM: "old", META_PARENT: "p", META_CYCLE: 7})
    queue.push(request)
    (raw,) = server.zrange(keys.requests, 0, -1)
    assert isinstance(raw, bytes)
    assert raw.startswith(b"{") and b"old" not in raw  # JSON, never pickle; no claim inside
    popped = queue.pop()
    assert popped is not None
    assert popped.url == request.url and popped.callback == spider.parse_article
    assert popped.errback == spider.on_error and popped.priority == 1
    assert popped.meta["cw_source"] == "zhenping" and popped.meta[META_CYCLE] == 7
    assert popped.meta[META_CLAIM] == raw.decode()
    assert queue.ack(popped.meta[META_CLAIM]) is True


def test_start_entries_become_the_list_spiders_requests(server: Redis, keys: Keys, redis_url: str) -> None:
    spider = _spider(redis_url, keys)
    queue = ReliableQueue(server, spider, keys.requests, codec)
    entry = {"cw_start": 1, "source": "zhenping", "kind": "list", "url": SOURCE.start_urls[0], "cycle": 5}
    queue.work.push(codec.dumps({**entry, "source": "unknown"}), 9)
    queue.work.push(codec.dumps(entry), 0)
    request = queue.pop()  # the unknown source's entry is dropped (and acknowledged) first
    assert request is not None
    assert request.url == SOURCE.start_urls[0] and request.callback == spider.parse_list
    assert request.meta["cw_kind"] == "list" and request.meta[META_CYCLE] == 5
    assert server.zcard(keys.processing("w1")) == 1


def test_the_scheduler_acknowledges_a_replaced_request_and_a_finished_parent(
    server: Redis, keys: Keys, redis_url: str
) -> None:
    crawler = get_crawler(DistributedSpider, _settings(redis_url, keys))
    spider = DistributedSpider.from_crawler(crawler, sources=[SOURCE])
    crawler.spider = spider
    scheduler = ReliableScheduler.from_crawler(crawler)
    scheduler.open(spider)
    try:
        article = spider.make_request(
            SOURCE, "http://www.zhenping.gov.cn/art/1.html", "article", spider.parse_article
        )
        assert scheduler.enqueue_request(article) is True
        assert scheduler.enqueue_request(article.copy()) is False  # seen within the ttl
        claimed = scheduler.next_request()
        assert claimed is not None
        claim = claimed.meta[META_CLAIM]
        # A redirect replaces the claimed request: queued unfiltered, the claim acknowledged.
        redirect = claimed.replace(url="http://www.zhenping.gov.cn/art/1b.html")
        assert scheduler.enqueue_request(redirect) is True
        assert server.zcard(keys.processing("w1")) == 0 and len(scheduler) == 1
        # A parent claim is acknowledged once its output is done and its child is queued.
        parent = scheduler.next_request()
        assert parent is not None
        parent_claim = parent.meta[META_CLAIM]
        children = [
            spider.make_request(SOURCE, url, "article", spider.parse_article)
            for url in ("http://www.zhenping.gov.cn/art/2.html", "http://www.zhenping.gov.cn/art/1.html")
        ]
        spider.claims.begin(parent_claim)
        for child in children:
            child.meta[META_PARENT] = parent_claim
            spider.claims.track(parent_claim, child)
        spider.claims.end(parent_claim)
        assert server.zcard(keys.processing("w1")) == 1  # the children are not queued yet
        assert crawler.stats is not None
        enqueued = crawler.stats.get_value("scheduler/enqueued/redis")
        assert [scheduler.enqueue_request(child) for child in children] == [True, True]
        # A page's children wait for this worker's next round trip (sent once the reactor is free),
        # and the parent's acknowledgement with them, after them.
        assert server.zcard(keys.processing("w1")) == 1 and len(scheduler.queue.work) == 0
        assert len(scheduler) == 2
        scheduler.queue.flush()
        assert server.zcard(keys.processing("w1")) == 0 and len(scheduler) == 1
        # The second child's URL was seen within the ttl: only the first was queued.
        (queued,) = server.zrange(keys.requests, 0, -1)
        assert (
            isinstance(queued, bytes)
            and codec.loads(queued)["url"] == "http://www.zhenping.gov.cn/art/2.html"
        )
        assert crawler.stats.get_value("scheduler/enqueued/redis") == enqueued + 1
        assert claim != parent_claim
    finally:
        scheduler.close("finished")
    assert server.scard(keys.workers) == 0


def test_a_worker_claims_a_batch_at_once_and_hands_back_what_it_did_not_start(
    server: Redis, keys: Keys, redis_url: str
) -> None:
    spider = _spider(redis_url, keys)
    queue = ReliableQueue(server, spider, keys.requests, codec)
    for i in range(CLAIM_BATCH + 2):
        queue.push(
            spider.make_request(
                SOURCE, f"http://www.zhenping.gov.cn/art/{i}.html", "article", spider.parse_article
            )
        )
    first = queue.pop()
    assert first is not None
    # One claim moved a batch into this worker's processing set; the rest stays shared.
    assert server.zcard(keys.processing("w1")) == CLAIM_BATCH and len(queue.work) == 2
    assert len(queue) == CLAIM_BATCH + 1
    queue.ack_later(first.meta[META_CLAIM])
    assert server.zcard(keys.processing("w1")) == CLAIM_BATCH  # sent with the next round trip
    second = queue.pop()  # handed out from the batch: no round trip, so still not sent
    assert second is not None and server.zcard(keys.processing("w1")) == CLAIM_BATCH
    queue.flush()
    assert server.zcard(keys.processing("w1")) == CLAIM_BATCH - 1
    # A stopping worker hands back the claims it never started along with the one in progress.
    assert queue.work.release("w1") == CLAIM_BATCH - 1 and len(queue.work) == CLAIM_BATCH + 1


def test_a_round_trip_reloads_its_scripts_after_a_script_flush(server: Redis, keys: Keys) -> None:
    work = WorkQueue(server, keys)
    work.push(b"a", 0)
    server.script_flush()  # as after a Redis restart: the workers' scripts are gone
    with RoundTrip(server) as trip:
        work.claim_on(trip, "w1", CLAIM_BATCH)
        trip.pipe.sadd(keys.workers, "w1")
        claimed, added = trip.execute()
    assert claimed[0] == b"a" and added == 1
    assert server.zrange(keys.processing("w1"), 0, -1) == [b"a"] and len(work) == 0


def test_waiting_pushes_survive_a_failed_round_trip_and_go_before_their_parents_ack(
    server: Redis, keys: Keys, redis_url: str
) -> None:
    spider = _spider(redis_url, keys)
    queue = ReliableQueue(server, spider, keys.requests, codec)
    queue.push(spider.make_request(SOURCE, SOURCE.start_urls[0], "list", spider.parse_list))
    parent = queue.pop()
    assert parent is not None
    child = spider.make_request(
        SOURCE, "http://www.zhenping.gov.cn/art/9.html", "article", spider.parse_article
    )
    queue.push_later(child)
    queue.ack_later(parent.meta[META_CLAIM])
    # Redis unreachable (nothing listens on port 1): neither the child nor the ack is lost.
    queue.server = Redis.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(RedisError):
        queue.flush()
    assert len(queue.work) == 0 and server.zcard(keys.processing("w1")) == 1
    queue.server = server
    sent: list[tuple[str, bool]] = []
    queue.on_pushed = lambda request, pushed: sent.append((request.url, pushed))
    queue.flush()
    assert sent == [(child.url, True)]
    (queued,) = server.zrange(keys.requests, 0, -1)
    assert isinstance(queued, bytes) and codec.loads(queued)["url"] == child.url
    assert server.zcard(keys.processing("w1")) == 0
