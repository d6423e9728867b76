"""The worker's scheduler: scrapy-redis's, with claims acknowledged only when their work is done.

On top of `scrapy_redis.scheduler.Scheduler` (persistent queue, shared dupefilter), this one
- acknowledges a claim when its request is replaced by a queued retry or redirect, or when the
  ClaimTracker says its response's items are stored and its child requests queued;
- keeps the worker's heartbeat alive, requeues the claims of dead workers and trims expired
  seen-URL entries, every `COUNTYWATCH_WORKER_TICK` seconds;
- hands its unfinished claims back to the queue when the worker stops;
- finishes a crawl run when this worker acknowledged its last pending entry (runs.py);
- sends each push with its seen-filter check in one script call; the requests a page leads to
  wait until the reactor is free and go in one round trip together, and the acknowledgements of
  done claims go with the next round trip (a push, a claim or the tick), never one of their own
  (queue.py).
A Redis outage is logged and waited out: nothing is acknowledged that was not done.
"""

from __future__ import annotations

import logging
from typing import Any, Self

from redis.exceptions import RedisError
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.utils.misc import load_object
from scrapy.utils.reactor import CallLaterOnce
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

from crawler.distributed.claims import ClaimTracker
from crawler.distributed.queue import META_CLAIM, META_PARENT, ReliableQueue
from crawler.distributed.runs import RunRecorder
from crawler.distributed.scripts import RoundTrip
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
        self._workers: set[str] = set()  # the worker set as the last tick read it
        self._send_pushes: CallLaterOnce[None] = CallLaterOnce(self._flush_pushes)

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
        self.claims.on_done = self.queue.ack_later
        self.queue.on_pushed = self._pushed
        self.queue.seen = (self.df.seen.key, self.df.seen.ttl_ms)
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
        self._send_pushes.cancel()
        try:
            self.queue.flush()
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
        """Heartbeat, requeue the claims of dead workers, trim the seen filter, wake the engine.

        One round trip, with the acknowledgements waiting for one; the workers whose heartbeat it
        checks are the ones the previous tick saw.
        """
        work, worker = self.queue.work, self.queue.worker
        others = sorted(self._workers - {worker})

        def tick(trip: RoundTrip) -> None:
            work.tick_on(trip, worker, self.lease, others)
            self.df.seen.trim_on(trip)

        try:
            results = self.queue.round_trip(tick)
        except RedisError as exc:
            if not self._redis_down:
                logger.error("Redis unavailable, waiting for it: %s", exc)
            self._redis_down = True
            return
        requeued = results[2 : 2 + len(others)]
        queued, members = results[2 + len(others)], results[3 + len(others)]
        moved = sum(max(0, int(n)) for n in requeued)
        self._workers = {m.decode() if isinstance(m, bytes) else str(m) for m in members}
        if self._redis_down:
            logger.info("Redis is back")
            self._redis_down = False
        if moved:
            logger.warning("requeued %d requests claimed by workers that died", moved)
        if queued:
            self.queue.wake()
            # The engine polls the scheduler only on its own events and a 5 s heartbeat; requests
            # pushed by other workers should start now. Scrapy has no public call for this.
            slot = getattr(self.crawler.engine, "_slot", None)
            if slot is not None:
                slot.nextcall.schedule()

    def enqueue_request(self, request: Request) -> bool:
        claim = request.meta.pop(META_CLAIM, None)
        parent = request.meta.pop(META_PARENT, None)
        # A request that carries a claim replaces the claimed one (a retry or redirect): it is not
        # filtered, so a redirect loop still ends at REDIRECT_MAX_TIMES and is recorded; the claim is
        # acknowledged in the same round trip, after the push.
        filtered = claim is None and not request.dont_filter
        seen = self.df.fingerprint_of(request) if filtered else None
        if claim is None and parent is not None:
            # A page's child: queued with its siblings once the reactor is free (one round trip),
            # before its parent's acknowledgement. Accepted here; `_pushed` hears whether the seen
            # filter let it in. Unsent when the worker dies, the parent claim is redone.
            self.queue.push_later(request, seen=seen)
            self._send_pushes.schedule()
            self.claims.release(request)
            return True
        try:
            pushed = self.queue.push(request, seen=seen, replaces=claim)
        except RedisError as exc:
            # Unacknowledged, the parent claim is redone after this worker stops or dies.
            logger.error("could not queue %s: %s", request.url, exc)
            return False
        self._pushed(request, pushed)
        if claim is not None:
            self.claims.forget(claim)
        if parent is not None:
            self.claims.release(request)
        return pushed

    def _pushed(self, request: Request, pushed: bool) -> None:
        if pushed and self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        elif not pushed:
            self.df.log(request, self.spider)

    def _flush_pushes(self) -> None:
        """Send the waiting child requests (with whatever else waits for a round trip)."""
        try:
            self.queue.flush()
        except RedisError as exc:
            # Kept: the next round trip that gets through (at the latest the tick's) sends them.
            if not self._redis_down:
                logger.error("Redis unavailable, waiting for it: %s", exc)
            self._redis_down = True

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
