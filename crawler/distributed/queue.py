"""The reliable request queue: claimed requests stay in Redis until their work is done.

A plain scrapy-redis queue pops a request and forgets it: if the worker dies before the page is
stored, the request is lost. Here `claim` moves a request atomically from the shared priority
queue into the worker's own processing set, and `ack` removes it once everything it led to (items
stored, follow-up requests queued) is done. Each worker renews a heartbeat key with a lease; when
a worker's heartbeat has expired, any live worker's `requeue_dead` puts its claims back into the
queue. Work is therefore done at least once (storage makes a repeat harmless), never lost.

Layout under the prefix (config.distributed.queue_prefix):
  <prefix>:requests              sorted set: request data, scored by -priority
  <prefix>:seen                  sorted set: seen-URL fingerprints scored by expiry (seen.py)
  <prefix>:workers               set of worker ids
  <prefix>:worker:<id>           heartbeat, expires after the lease
  <prefix>:processing:<id>       sorted set: that worker's claimed requests, with their scores
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis import Redis
from scrapy import Request, Spider
from scrapy.utils.request import request_from_dict
from scrapy_redis.queue import Base

# Request meta keys that belong to one worker's process and never travel through Redis.
META_CLAIM = "cw_claim"  # the queue entry this request was made from
META_PARENT = "cw_parent"  # the claim whose response produced this request
LOCAL_META = (META_CLAIM, META_PARENT)
START_ENTRY = "cw_start"  # marks queue entries that are start entries (enqueue.py), not requests

_CLAIM = """
local popped = redis.call('ZPOPMIN', KEYS[1])
if #popped == 0 then
    return false
end
redis.call('ZADD', KEYS[2], popped[2], popped[1])
return popped[1]
"""
# Put a worker's claims back into the queue, unless (ARGV[2] == '0') its heartbeat is still alive.
_REQUEUE = """
if ARGV[2] == '0' and redis.call('EXISTS', KEYS[1]) == 1 then
    return -1
end
local items = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = 1, #items, 2 do
    redis.call('ZADD', KEYS[3], items[i + 1], items[i])
end
redis.call('DEL', KEYS[2])
if ARGV[2] == '1' then
    redis.call('DEL', KEYS[1])
end
redis.call('SREM', KEYS[4], ARGV[1])
return #items / 2
"""


@dataclass(frozen=True, slots=True)
class Keys:
    """The Redis key names under one prefix."""

    prefix: str

    @property
    def requests(self) -> str:
        return f"{self.prefix}:requests"

    @property
    def seen(self) -> str:
        return f"{self.prefix}:seen"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    def heartbeat(self, worker: str) -> str:
        return f"{self.prefix}:worker:{worker}"

    def processing(self, worker: str) -> str:
        return f"{self.prefix}:processing:{worker}"


class WorkQueue:
    """The shared priority queue with per-worker processing sets and heartbeats."""

    def __init__(self, server: Redis, keys: Keys) -> None:
        self.server = server
        self.keys = keys
        self._claim = server.register_script(_CLAIM)
        self._requeue = server.register_script(_REQUEUE)

    def push(self, data: bytes, priority: int = 0) -> None:
        """Queue one entry (higher priority first; an identical entry already queued is kept once)."""
        self.server.zadd(self.keys.requests, {data: -priority})

    def push_many(self, entries: list[tuple[bytes, int]]) -> None:
        """Queue several entries in one round trip."""
        if entries:
            self.server.zadd(self.keys.requests, {data: -priority for data, priority in entries})

    def claim(self, worker: str) -> bytes | None:
        """Move the first entry into `worker`'s processing set and return it (None when empty)."""
        data = self._claim(keys=[self.keys.requests, self.keys.processing(worker)])
        return bytes(data) if data else None

    def ack(self, worker: str, data: bytes) -> bool:
        """The work of a claimed entry is done: forget it. False when it was not claimed by `worker`."""
        return bool(self.server.zrem(self.keys.processing(worker), data))

    def heartbeat(self, worker: str, lease_seconds: float) -> None:
        """`worker` is alive for another `lease_seconds`."""
        with self.server.pipeline() as pipe:
            pipe.set(self.keys.heartbeat(worker), b"1", px=max(1, int(lease_seconds * 1000)))
            pipe.sadd(self.keys.workers, worker)
            pipe.execute()

    def requeue_dead(self) -> int:
        """Put the claims of every worker whose heartbeat expired back into the queue; how many."""
        moved = 0
        for raw in self.server.smembers(self.keys.workers):
            worker = raw.decode() if isinstance(raw, bytes) else str(raw)
            moved += max(0, self._requeue_worker(worker, force=False))
        return moved

    def release(self, worker: str) -> int:
        """A worker leaving: its unfinished claims go back to the queue, its heartbeat is removed."""
        return max(0, self._requeue_worker(worker, force=True))

    def _requeue_worker(self, worker: str, *, force: bool) -> int:
        keys = [
            self.keys.heartbeat(worker),
            self.keys.processing(worker),
            self.keys.requests,
            self.keys.workers,
        ]
        return int(self._requeue(keys=keys, args=[worker, "1" if force else "0"]))

    def __len__(self) -> int:
        return int(self.server.zcard(self.keys.requests))

    def in_flight(self) -> int:
        """Entries claimed by some worker and not yet acknowledged."""
        workers = self.server.smembers(self.keys.workers)
        names = [w.decode() if isinstance(w, bytes) else str(w) for w in workers]
        return sum(int(self.server.zcard(self.keys.processing(w))) for w in names)

    def idle(self) -> bool:
        """Nothing queued and nothing in flight: every pushed request has been done."""
        return len(self) == 0 and self.in_flight() == 0


class ReliableQueue(Base):
    """scrapy-redis queue class over WorkQueue: `pop` claims for this worker, `ack` finishes.

    The worker id comes from the COUNTYWATCH_WORKER_ID setting. Start entries (pushed by
    `enqueue_sources`) are turned into requests by the spider's `request_from_entry`.
    """

    def __init__(self, server: Redis, spider: Spider, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        settings = spider.crawler.settings
        self.worker: str = settings.get("COUNTYWATCH_WORKER_ID")
        self.work = WorkQueue(server, Keys(settings.get("COUNTYWATCH_QUEUE_PREFIX")))

    def _encode_request(self, request: Request) -> bytes:
        meta = {k: v for k, v in request.meta.items() if k not in LOCAL_META}
        data: bytes = super()._encode_request(request.replace(meta=meta))
        return data

    def _decode_request(self, encoded_request: bytes) -> Request | None:
        obj = self.serializer.loads(encoded_request)
        if not isinstance(obj, dict):
            raise ValueError("a queue entry is not a JSON object")
        if obj.get(START_ENTRY):
            make = getattr(self.spider, "request_from_entry", None)
            if make is None:
                raise ValueError("start entries need a spider with request_from_entry")
            request: Request | None = make(obj)
            return request
        obj.pop("_class", None)  # only plain Requests travel: never load a class Redis names
        return request_from_dict(obj, spider=self.spider)

    def __len__(self) -> int:
        return len(self.work)

    def push(self, request: Request) -> None:
        self.work.push(self._encode_request(request), request.priority)

    def pop(self, timeout: int = 0) -> Request | None:
        """The next request for this worker, claimed (skipping entries that make no request)."""
        while (data := self.work.claim(self.worker)) is not None:
            try:
                request = self._decode_request(data)
            except (ValueError, KeyError, TypeError) as exc:
                self.spider.logger.error("dropping an unusable queue entry: %s", exc)
                request = None
            if request is None:
                self.work.ack(self.worker, data)
                continue
            request.meta[META_CLAIM] = data.decode("utf-8")
            return request
        return None

    def ack(self, claim: str) -> bool:
        """Finish a claim made by this worker."""
        return self.work.ack(self.worker, claim.encode("utf-8"))
