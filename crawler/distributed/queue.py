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
  <prefix>:runs, <prefix>:run:<id>:pending|stats   open crawl runs and their counts (runs.py)
An entry pushed for a crawl run adds one to the run's pending count in the same script; its
acknowledgement takes one off, so a run is done when its count reaches zero.

Round trips: a worker claims up to `CLAIM_BATCH` entries in one script call and hands them out one
by one; a push checks the shared seen filter and queues in one script call, and the requests a page
leads to wait for the worker's next round trip (the scheduler sends them as soon as the reactor is
free, all of a page's in one pipeline); acknowledgements (with the run counters) wait for the next
round trip too (a push, a claim or its heartbeat tick) instead of taking one of their own. An
acknowledgement only ever follows the pushes of its children (they were sent first, in the same
round trip or an earlier one), and one that is lost with a dead worker only means its request is
redone.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from scrapy import Request, Spider
from scrapy.utils.request import request_from_dict
from scrapy_redis.queue import Base

from crawler.distributed.runs import (
    META_RUN,
    RunStatsCollector,
    add_deltas,
    add_early,
    run_pending_key,
    runs_key,
)
from crawler.distributed.scripts import RoundTrip

# Request meta keys that belong to one worker's process and never travel through Redis.
META_CLAIM = "cw_claim"  # the queue entry this request was made from
META_PARENT = "cw_parent"  # the claim whose response produced this request
LOCAL_META = (META_CLAIM, META_PARENT)
START_ENTRY = "cw_start"  # marks queue entries that are start entries (enqueue.py), not requests
# Entries a worker claims per round trip. Small against the hundreds each worker does per crawl, so
# the work stays evenly shared; large enough that a claim costs an eighth of a round trip.
CLAIM_BATCH = 8

_CLAIM = """
local popped = redis.call('ZPOPMIN', KEYS[1])
if #popped == 0 then
    return false
end
redis.call('ZADD', KEYS[2], popped[2], popped[1])
return popped[1]
"""
# Claim up to ARGV[1] entries at once: a flat list of data, score, data, score...
_CLAIM_MANY = """
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
for i = 1, #popped, 2 do
    redis.call('ZADD', KEYS[2], popped[i + 1], popped[i])
end
return popped
"""
# Queue one entry unless its fingerprint ARGV[1] is in the seen filter KEYS[2] (then 0); '' = no filter.
# ARGV: fingerprint, ttl ms, score, data, run ('' = none; KEYS[3] its pending count, KEYS[4] the runs).
_PUSH_UNSEEN = """
if ARGV[1] ~= '' then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local expires = redis.call('ZSCORE', KEYS[2], ARGV[1])
    if expires and tonumber(expires) > now then
        return 0
    end
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
end
local added = redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
if ARGV[5] ~= '' and added > 0 then
    redis.call('INCRBY', KEYS[3], added)
    redis.call('SADD', KEYS[4], ARGV[5])
end
return 1
"""
# Acknowledge claims ARGV[i] of processing set KEYS[1]; KEYS[i + 1] is the pending count of the
# claim's run (KEYS[1] again for none). Per claim: -1 not claimed, -2 done (no run), else pending left.
_ACK_MANY = """
local out = {}
for i = 1, #ARGV do
    if redis.call('ZREM', KEYS[1], ARGV[i]) == 0 then
        out[i] = -1
    elseif KEYS[i + 1] == KEYS[1] then
        out[i] = -2
    else
        out[i] = redis.call('DECR', KEYS[i + 1])
    end
end
return out
"""
# Push score/data pairs (ARGV[2..]) for run ARGV[1]: the run's pending count grows by the entries added.
_PUSH_RUN = """
local added = 0
for i = 2, #ARGV, 2 do
    added = added + redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1])
end
if added > 0 then
    redis.call('INCRBY', KEYS[2], added)
    redis.call('SADD', KEYS[3], ARGV[1])
end
return added
"""
# Acknowledge a claim of a run: -1 when it was not claimed, else the run's entries still pending.
_ACK_RUN = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
    return -1
end
return redis.call('DECR', KEYS[2])
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
class Push:
    """A request waiting to be queued with the worker's next round trip."""

    request: Request
    data: bytes
    run: int | None
    seen: tuple[str, bytes, int] | None  # (filter key, fingerprint, ttl ms)


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
        self._push_run = server.register_script(_PUSH_RUN)
        self._ack_run = server.register_script(_ACK_RUN)
        self._claim_many = server.register_script(_CLAIM_MANY)
        self._push_unseen = server.register_script(_PUSH_UNSEEN)
        self._ack_many = server.register_script(_ACK_MANY)

    def push(self, data: bytes, priority: int = 0, run: int | None = None) -> None:
        """Queue one entry (higher priority first; an identical entry already queued is kept once)."""
        if run is None:
            self.server.zadd(self.keys.requests, {data: -priority})
        else:
            self.push_many([(data, priority)], run=run)

    def push_many(self, entries: list[tuple[bytes, int]], run: int | None = None) -> int:
        """Queue several entries (of crawl run `run`) in one round trip; how many were added."""
        if not entries:
            return 0
        if run is None:
            added = self.server.zadd(self.keys.requests, {data: -priority for data, priority in entries})
            return int(added or 0)
        args: list[bytes | int] = [run]
        for data, priority in entries:
            args += [-priority, data]
        keys = [self.keys.requests, run_pending_key(self.keys.prefix, run), runs_key(self.keys.prefix)]
        return int(self._push_run(keys=keys, args=args))

    def push_runs(self, runs: list[tuple[int, list[tuple[bytes, int]]]]) -> list[int]:
        """Queue the entries of several crawl runs, (run, entries) each, in one round trip.

        A batch of due sources is pushed with one pipeline instead of one call per source; the
        result is how many entries of each run were added, in order.
        """
        if not runs:
            return []
        with self.server.pipeline(transaction=False) as pipe:
            for run, entries in runs:
                args: list[bytes | int] = [run]
                for data, priority in entries:
                    args += [-priority, data]
                keys = [
                    self.keys.requests,
                    run_pending_key(self.keys.prefix, run),
                    runs_key(self.keys.prefix),
                ]
                self._push_run(keys=keys, args=args, client=pipe)
            return [int(added) for added in pipe.execute()]

    def claim(self, worker: str) -> bytes | None:
        """Move the first entry into `worker`'s processing set and return it (None when empty)."""
        data = self._claim(keys=[self.keys.requests, self.keys.processing(worker)])
        return bytes(data) if data else None

    def claim_on(self, trip: RoundTrip, worker: str, n: int) -> None:
        """Queue on `trip` a claim of up to `n` entries; its result is data, score, data, score..."""
        trip.script(self._claim_many, [self.keys.requests, self.keys.processing(worker)], [n])

    def push_on(
        self,
        trip: RoundTrip,
        data: bytes,
        priority: int,
        run: int | None,
        seen: tuple[str, bytes, int] | None,
    ) -> None:
        """Queue on `trip` the push of one entry; its result is 0 when `seen` = (filter key,
        fingerprint, ttl ms) was already in the seen filter (nothing queued), else 1."""
        seen_key, fingerprint, ttl_ms = seen if seen is not None else (self.keys.seen, b"", 0)
        runs = runs_key(self.keys.prefix)
        keys = [self.keys.requests, seen_key, run_pending_key(self.keys.prefix, run) if run else runs, runs]
        args: list[bytes | int | str] = [fingerprint, ttl_ms, -priority, data, run if run is not None else ""]
        trip.script(self._push_unseen, keys, args)

    def ack_on(self, trip: RoundTrip, worker: str, claims: Sequence[tuple[bytes, int | None]]) -> None:
        """Queue on `trip` the acknowledgement of (data, run) claims; its result is, per claim, -1
        when it was not claimed by `worker`, -2 when done without a run, else the run's pending left."""
        processing = self.keys.processing(worker)
        pending = [
            run_pending_key(self.keys.prefix, run) if run is not None else processing for _, run in claims
        ]
        trip.script(self._ack_many, [processing, *pending], [data for data, _ in claims])

    def tick_on(self, trip: RoundTrip, worker: str, lease_seconds: float, others: Sequence[str]) -> None:
        """Queue on `trip` a worker's periodic upkeep: its heartbeat, the requeue of the claims of
        each of `others` whose heartbeat expired, then the queue's length and the worker set.

        Results: the heartbeat's two, one per other worker (-1 alive, else requeued), length, set.
        """
        trip.pipe.set(self.keys.heartbeat(worker), b"1", px=max(1, int(lease_seconds * 1000)))
        trip.pipe.sadd(self.keys.workers, worker)
        for other in others:
            keys = [
                self.keys.heartbeat(other),
                self.keys.processing(other),
                self.keys.requests,
                self.keys.workers,
            ]
            trip.script(self._requeue, keys, [other, "0"])
        trip.pipe.zcard(self.keys.requests)
        trip.pipe.smembers(self.keys.workers)

    def ack(self, worker: str, data: bytes) -> bool:
        """The work of a claimed entry is done: forget it. False when it was not claimed by `worker`."""
        return bool(self.server.zrem(self.keys.processing(worker), data))

    def ack_run(
        self, worker: str, data: bytes, run: int, deltas: dict[int, Counter[str]] | None = None
    ) -> int:
        """Acknowledge a claim of crawl run `run`, first adding counter `deltas` (one round trip).

        Returns the entries of the run still pending, or -1 when `data` was not claimed by `worker`.
        """
        with self.server.pipeline(transaction=False) as pipe:
            add_deltas(pipe, self.keys.prefix, deltas or {})
            keys = [self.keys.processing(worker), run_pending_key(self.keys.prefix, run)]
            self._ack_run(keys=keys, args=[data], client=pipe)
            return int(pipe.execute()[-1])

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
        self.on_run_done: Callable[[int], object] | None = None
        # The shared seen filter (set by the scheduler): a push checks it in its own round trip.
        self.seen: tuple[str, int] | None = None  # (key, ttl ms)
        self._runs: dict[str, int] = {}  # claim -> its crawl run, until acknowledged
        # Claimed in a batch, not handed out yet: (entry, its object or why it has none).
        self._claimed: deque[tuple[bytes, dict[str, Any] | ValueError]] = deque()
        self._drained = False  # the last claim emptied the queue: no claim until woken
        self._acks: list[tuple[str, int | None]] = []  # done claims not yet sent
        self._early_kept: dict[int, list[str]] = {}  # early re-checks a failed round trip did not send
        self._pushes: list[Push] = []  # child requests waiting for the next round trip
        # Told of each waiting push once sent: (request, False when the seen filter had it).
        self.on_pushed: Callable[[Request, bool], object] | None = None

    def _encode_request(self, request: Request) -> bytes:
        meta = {k: v for k, v in request.meta.items() if k not in LOCAL_META}
        data: bytes = super()._encode_request(request.replace(meta=meta))
        return data

    def _decode_request(self, encoded_request: bytes) -> Request | None:
        return self._request_from(self._load(encoded_request))

    def _load(self, encoded_request: bytes) -> dict[str, Any]:
        obj = self.serializer.loads(encoded_request)
        if not isinstance(obj, dict):
            raise ValueError("a queue entry is not a JSON object")
        return obj

    def _request_from(self, obj: dict[str, Any]) -> Request | None:
        if obj.get(START_ENTRY):
            make = getattr(self.spider, "request_from_entry", None)
            if make is None:
                raise ValueError("start entries need a spider with request_from_entry")
            request: Request | None = make(obj)
            return request
        obj.pop("_class", None)  # only plain Requests travel: never load a class Redis names
        return request_from_dict(obj, spider=self.spider)

    def __len__(self) -> int:
        return len(self.work) + len(self._claimed) + len(self._pushes)

    def wake(self) -> None:
        """The shared queue has entries again (pushed by this or another worker): claim on the next pop."""
        self._drained = False

    def _prepare(self, request: Request, seen: bytes | None) -> Push:
        check = None
        if seen is not None:
            if self.seen is None:
                raise ValueError("a filtered push needs the seen filter (ReliableQueue.seen)")
            check = (self.seen[0], seen, self.seen[1])
        run = request.meta.get(META_RUN)
        return Push(request, self._encode_request(request), int(run) if run is not None else None, check)

    def push(self, request: Request, *, seen: bytes | None = None, replaces: str | None = None) -> bool:
        """Queue `request` now, in one round trip with the pushes and acknowledgements waiting.

        `seen` is the request's fingerprint in the shared seen filter: when it is there the request
        is not queued (False). `replaces` is the claim the request replaces (a retry or redirect),
        acknowledged right after the push.
        """
        push = self._prepare(request, seen)
        replaced = [(replaces, self._runs.get(replaces))] if replaces is not None else []
        results = self.round_trip(
            lambda trip: self.work.push_on(trip, push.data, request.priority, push.run, push.seen), replaced
        )
        if replaces is not None:
            self._runs.pop(replaces, None)
        pushed = bool(results[0])
        if pushed:
            self.wake()
        return pushed

    def push_later(self, request: Request, *, seen: bytes | None = None) -> None:
        """Queue `request` with this worker's next round trip (a push, a claim, the tick or `flush`).

        The requests a page leads to are found together: they go to Redis together, in one round
        trip, before any acknowledgement sent with them (their parent's among them). `on_pushed`
        hears of each once it is sent.
        """
        self._pushes.append(self._prepare(request, seen))

    def pop(self, timeout: int = 0) -> Request | None:
        """The next request for this worker, claimed (skipping entries that make no request)."""
        while True:
            if not self._claimed:
                if self._drained:
                    return None
                (flat,) = self.round_trip(lambda trip: self.work.claim_on(trip, self.worker, CLAIM_BATCH))
                batch = [self._parsed(bytes(data)) for data in flat[::2]]
                self._claimed.extend(batch)
                self._drained = len(batch) < CLAIM_BATCH
                if not batch:
                    return None
                # The batch's sources enter their new cycles together (one database read).
                entering = getattr(self.spider, "entering", None)
                if callable(entering):
                    entering([obj for _, obj in batch if isinstance(obj, dict)])
            data, obj = self._claimed.popleft()
            claim = data.decode("utf-8")
            try:
                if isinstance(obj, Exception):
                    raise obj
                run = _run_of(obj)
                if run is not None:
                    self._runs[claim] = run
                request = self._request_from(obj)
            except (ValueError, KeyError, TypeError) as exc:
                self.spider.logger.error("dropping an unusable queue entry: %s", exc)
                request = None
            if request is None:
                self.ack(claim)
                continue
            request.meta[META_CLAIM] = claim
            claimed = getattr(self.spider, "claimed", None)
            if callable(claimed):
                claimed(request)
            return request

    def _parsed(self, data: bytes) -> tuple[bytes, dict[str, Any] | ValueError]:
        """A claimed entry and its object (or why it has none)."""
        try:
            return data, self._load(data)
        except ValueError as exc:  # json.JSONDecodeError included
            return data, exc

    def _deltas(self) -> dict[int, Counter[str]]:
        stats = self.spider.crawler.stats
        return stats.take_deltas() if isinstance(stats, RunStatsCollector) else {}

    def _early(self) -> dict[int, list[str]]:
        early, self._early_kept = self._early_kept, {}
        take = getattr(self.spider, "take_early_checked", None)
        if callable(take):
            for early_run, urls in take().items():
                early.setdefault(early_run, []).extend(urls)
        return early

    def ack(self, claim: str) -> bool:
        """Finish a claim made by this worker now, in one round trip with what waits for one.

        When the claim was the last pending entry of its crawl run, `on_run_done(run)` is called.
        False when the claim was not (or no longer) this worker's.
        """
        _, acked = self._send(None, [(claim, self._runs.pop(claim, None))])
        return int(acked[-1]) != -1

    def ack_later(self, claim: str) -> None:
        """Finish a claim with this worker's next round trip (`flush` sends it at once)."""
        self._acks.append((claim, self._runs.pop(claim, None)))

    def flush(self) -> None:
        """Send the pushes, acknowledgements and run counters waiting for a round trip."""
        self.round_trip(None)

    def round_trip(
        self, first: Callable[[RoundTrip], None] | None, then: list[tuple[str, int | None]] | None = None
    ) -> list[Any]:
        """`_send`, returning the results of `first`'s commands (none without it)."""
        return self._send(first, then)[0]

    def _send(
        self, first: Callable[[RoundTrip], None] | None, then: list[tuple[str, int | None]] | None = None
    ) -> tuple[list[Any], list[Any]]:
        """One round trip: the waiting pushes, `first`'s commands, the run counters and early
        re-checks, the waiting acknowledgements and `then`.

        Returns the results of `first`'s commands and those of the acknowledgements (per claim:
        -1 not this worker's, -2 done without a run, else the run's pending left). Counters and
        early re-checks go before the acknowledgements, so a run whose pending count reaches zero
        has all of them in Redis. `then` (the claim a pushed request replaces) is acknowledged only
        if this round trip gets through; the waiting ones are kept for the next, with the pushes
        and early re-checks.
        """
        waiting, self._acks = self._acks, []
        pushes, self._pushes = self._pushes, []
        acks = waiting + (then or [])
        deltas = self._deltas()
        early = self._early()
        if first is None and not acks and not deltas and not early and not pushes:
            return [], []
        try:
            with RoundTrip(self.server) as trip:
                for push in pushes:
                    self.work.push_on(trip, push.data, push.request.priority, push.run, push.seen)
                if first is not None:
                    first(trip)
                mine = len(trip)
                add_deltas(trip.pipe, self.work.keys.prefix, deltas)
                add_early(trip.pipe, self.work.keys.prefix, early)
                if acks:
                    self.work.ack_on(trip, self.worker, [(c.encode("utf-8"), run) for c, run in acks])
                results = trip.execute()
        except RedisError:
            self._acks = waiting + self._acks  # sent with the next round trip that gets through
            self._pushes = pushes + self._pushes
            for early_run, urls in early.items():
                self._early_kept.setdefault(early_run, []).extend(urls)
            raise
        outcomes = [bool(result) for result in results[: len(pushes)]]
        if any(outcomes):
            self.wake()
        if self.on_pushed is not None:
            for push, pushed in zip(pushes, outcomes, strict=True):
                self.on_pushed(push.request, pushed)
        acked = list(results[-1]) if acks else []
        for (_, run), remaining in zip(acks, acked, strict=True):
            if run is not None and int(remaining) == 0 and self.on_run_done is not None:
                self.on_run_done(run)
        return results[len(pushes) : mine], acked


def _run_of(obj: dict[str, Any]) -> int | None:
    """The crawl run of a queue entry (a start entry's `run`, a request's `cw_run` meta)."""
    run = obj.get("run") if obj.get(START_ENTRY) else (obj.get("meta") or {}).get(META_RUN)
    return int(run) if run is not None else None
