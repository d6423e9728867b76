"""When a claimed request's work is done, so the reliable queue may forget it.

A response is done when the spider's callback (or errback) has finished, every item it produced
has left the item pipelines (stored, dropped or failed) and every request it produced is in the
Redis queue. Scrapy processes a callback's output concurrently after the callback returns, so the
tracker counts what is still out: items until an item signal names them, child requests until the
scheduler has pushed them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.distributed.queue import META_CLAIM, META_PARENT
from crawler.distributed.runs import META_RUN

META_CYCLE = "cw_cycle"  # the enqueue run a request descends from (enqueue.py)


@dataclass(slots=True)
class _Open:
    scopes: int = 0
    pending: set[int] = field(default_factory=set)


class ClaimTracker:
    """Counts the open work of each claim and calls `on_done(claim)` when none is left."""

    def __init__(self, on_done: Callable[[str], Any] | None = None) -> None:
        self.on_done = on_done
        self._open: dict[str, _Open] = {}
        self._owner: dict[int, str] = {}

    def begin(self, claim: str) -> None:
        """A callback or errback of the claim's request starts producing output."""
        self._open.setdefault(claim, _Open()).scopes += 1

    def end(self, claim: str) -> None:
        """That callback or errback has produced all its output."""
        state = self._open.get(claim)
        if state is not None:
            state.scopes -= 1
            self._settle(claim, state)

    def track(self, claim: str, obj: object) -> None:
        """An item or request produced for `claim` that is not yet stored or queued."""
        self._open.setdefault(claim, _Open()).pending.add(id(obj))
        self._owner[id(obj)] = claim

    def release(self, obj: object) -> None:
        """`obj` (tracked earlier) is stored, dropped or queued."""
        claim = self._owner.pop(id(obj), None)
        if claim is None:
            return
        state = self._open.get(claim)
        if state is not None:
            state.pending.discard(id(obj))
            self._settle(claim, state)

    def forget(self, claim: str) -> None:
        """Stop tracking `claim` (its request was replaced by a queued retry or redirect)."""
        state = self._open.pop(claim, None)
        if state is not None:
            for key in state.pending:
                self._owner.pop(key, None)

    def open_claims(self) -> int:
        """Claims with work still out."""
        return len(self._open)

    def _settle(self, claim: str, state: _Open) -> None:
        if state.scopes <= 0 and not state.pending:
            del self._open[claim]
            if self.on_done is not None:
                self.on_done(claim)


class ClaimMiddleware:
    """Spider middleware (the outermost): tracks a response's output and tags child requests.

    Child requests inherit the enqueue cycle and crawl run of their response, so the spider knows
    which crawl cycle a list page belongs to and the queue which run an entry counts for.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self._item_done, signal=signal)
        # A child request the engine drops before the scheduler sees it is done too.
        crawler.signals.connect(self._request_dropped, signal=signals.request_dropped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _tracker(self) -> ClaimTracker | None:
        tracker = getattr(self.crawler.spider, "claims", None)
        return tracker if isinstance(tracker, ClaimTracker) else None

    def _item_done(self, item: Any, **_: Any) -> None:
        tracker = self._tracker()
        if tracker is not None:
            tracker.release(item)

    def _request_dropped(self, request: Request, **_: Any) -> None:
        tracker = self._tracker()
        if tracker is not None and request.meta.pop(META_PARENT, None) is not None:
            tracker.release(request)

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        claim = response.meta.get(META_CLAIM)
        cycle = response.meta.get(META_CYCLE)
        run = response.meta.get(META_RUN)
        tracker = self._tracker()
        if claim is None or tracker is None:
            async for out in result:
                yield out
            return
        tracker.begin(claim)
        try:
            async for out in result:
                if isinstance(out, Request):
                    if cycle is not None:
                        out.meta.setdefault(META_CYCLE, cycle)
                    if run is not None:
                        out.meta.setdefault(META_RUN, run)
                    out.meta[META_PARENT] = claim
                tracker.track(claim, out)
                yield out
        finally:
            tracker.end(claim)
