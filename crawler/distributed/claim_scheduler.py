"""The worker's scheduler: scrapy-redis's, with claims acknowledged only when their work is done.

On top of `scrapy_redis.scheduler.Scheduler` (persistent queue, shared dupefilter), this one
- acknowledges a claim when its request is replaced by a queued retry or redirect, or when the
  ClaimTracker says its response's items are stored and its child requests queued;
- keeps the worker's heartbeat alive, requeues the claims of dead workers and trims expired
  seen-URL entries, every `COUNTYWATCH_WORKER_TICK` seconds;
- hands its unfinished claims back to the queue when the worker stops;
- finishes a crawl run when this worker acknowledged its last pending entry (runs.py).
A Redis outage is logged and waited out: nothing is acknowledged that was not done.
"""

from __future__ import annotations

import logging
from typing import Any, Self

from redis.exceptions import RedisError
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.utils.misc import load_object
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

from crawler.distributed.claims import ClaimTracker
from crawler.distributed.queue import META_CLAIM, META_PARENT, ReliableQueue
from crawler.distributed.runs import RunRecorder
from crawler.distributed.seen import ExpiringDupeFilter

logger = logging.getLogger(__name__)


class ReliableScheduler(Scheduler):
    """scrapy-redis scheduler over ReliableQueue and ExpiringDupeFilter."""

    crawler: Crawler
    queue: ReliableQueue
    df: ExpiringDupeFilter

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        scheduler: Self = super().from_crawler(crawler)
        scheduler.crawler = crawler
        scheduler.lease = crawler.settings.getfloat("COUNTYWATCH_WORKER_LEASE")
        scheduler.tick_seconds = crawler.settings.getfloat("COUNTYWATCH_WORKER_TICK")
        return scheduler

    def __init__(self, server: Any, **kwargs: Any) -> None:
        super().__init__(server, **kwargs)
        self.lease = 30.0
        self.tick_seconds = 1.0
        self.claims = ClaimTracker()
        self._tick: LoopingCall | None = None
        self._redis_down = False
        self.recorder: RunRecorder | None = None

    def open(self, spider: Spider) -> None:
        # scrapy-redis's open(), without its flush (the queue is shared) and deprecated Spider.log.
        self.spider = spider
        self.queue = load_object(self.queue_cls)(
            server=self.server, spider=spider, key=self.queue_key, serializer=self.serializer
        )
        self.df = load_object(self.dupefilter_cls).from_spider(spider)
        if len(self.queue):
            logger.info("%d requests queued: starting on them", len(self.queue))
        tracker = getattr(spider, "claims", None)
        if isinstance(tracker, ClaimTracker):
            self.claims = tracker
        self.claims.on_done = self.queue.ack
        database_url = getattr(spider, "database_url", None)
        if database_url:
            self.recorder = RunRecorder(self.server, self.queue.work.keys.prefix, database_url)
            self.queue.on_run_done = self.recorder.finish_quietly
        self.queue.work.heartbeat(self.queue.worker, self.lease)
        moved = self.queue.work.requeue_dead()
        if moved:
            logger.warning("requeued %d requests claimed by workers that died", moved)
        self._tick = LoopingCall(self.maintain)
        self._tick.start(self.tick_seconds, now=False)

    def close(self, reason: str) -> None:
        if self._tick is not None and self._tick.running:
            self._tick.stop()
        try:
            self.queue.flush_counts()
            returned = self.queue.work.release(self.queue.worker)
        except RedisError as exc:
            logger.error("could not hand back this worker's claims (they return after the lease): %s", exc)
            return
        finally:
            if self.recorder is not None:
                self.recorder.close()
        if returned:
            logger.info("handed %d unfinished requests back to the queue", returned)

    def maintain(self) -> None:
        """Heartbeat, requeue the claims of dead workers, trim the seen filter, wake the engine."""
        work = self.queue.work
        try:
            work.heartbeat(self.queue.worker, self.lease)
            moved = work.requeue_dead()
            self.df.seen.trim()
            queued = len(work)
        except RedisError as exc:
            if not self._redis_down:
                logger.error("Redis unavailable, waiting for it: %s", exc)
            self._redis_down = True
            return
        if self._redis_down:
            logger.info("Redis is back")
            self._redis_down = False
        if moved:
            logger.warning("requeued %d requests claimed by workers that died", moved)
        if queued:
            # The engine polls the scheduler only on its own events and a 5 s heartbeat; requests
            # pushed by other workers should start now. Scrapy has no public call for this.
            slot = getattr(self.crawler.engine, "_slot", None)
            if slot is not None:
                slot.nextcall.schedule()

    def enqueue_request(self, request: Request) -> bool:
        claim = request.meta.pop(META_CLAIM, None)
        parent = request.meta.pop(META_PARENT, None)
        # A request that carries a claim replaces the claimed one (a retry or redirect): it is not
        # filtered, so a redirect loop still ends at REDIRECT_MAX_TIMES and is recorded.
        try:
            pushed = claim is not None or request.dont_filter or not self.df.request_seen(request)
            if pushed:
                self.queue.push(request)
        except RedisError as exc:
            # Unacknowledged, the parent claim is redone after this worker stops or dies.
            logger.error("could not queue %s: %s", request.url, exc)
            return False
        if pushed and self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        elif not pushed:
            self.df.log(request, self.spider)
        if claim is not None:
            self.claims.forget(claim)
            self.queue.ack(claim)
        if parent is not None:
            self.claims.release(request)
        return pushed

    def next_request(self) -> Request | None:
        try:
            request: Request | None = self.queue.pop(self.idle_before_close)
        except RedisError as exc:
            if not self._redis_down:
                logger.error("Redis unavailable, waiting for it: %s", exc)
            self._redis_down = True
            return None
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        try:
            return len(self) > 0
        except RedisError:
            return False
