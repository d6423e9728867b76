"""A time budget per source inside one crawl, so a slow or hanging site cannot hold a batch.

A batch crawl runs hundreds of sources in one process; the process's own time limit is for the
whole batch. Each source's clock starts with its first request. Every request of the source is
given at most the time left as its download timeout (so a request still open when the budget runs
out is closed then), and once nothing is left its further requests are dropped as
`SourceOverBudget` (counted as the error kind `budget`). Requests that carry no source (robots.txt)
are not counted: they have DOWNLOAD_TIMEOUT.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.runtime.middlewares import SourceOverBudget
from crawler.runtime.tally import source_of


class SourceBudgetMiddleware:
    """Caps each request's download timeout at its source's remaining budget; drops it when none is left."""

    def __init__(
        self, limit: float, download_timeout: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.download_timeout = download_timeout
        self.clock = clock
        self._started: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        limit = crawler.settings.getfloat("COUNTYWATCH_SOURCE_TIME_LIMIT")
        if limit <= 0:
            raise NotConfigured("no per-source time limit")
        return cls(limit, crawler.settings.getfloat("DOWNLOAD_TIMEOUT"))

    def remaining(self, source: str) -> float:
        """Seconds the source has left (its clock starts now if it has not started)."""
        now = self.clock()
        return self._started.setdefault(source, now) + self.limit - now

    def process_request(self, request: Request) -> None:
        source = source_of(request)
        if source is None:
            return
        left = self.remaining(source)
        if left <= 0:
            raise SourceOverBudget(f"{source}: its time limit of {self.limit:g}s in this crawl is used up")
        timeout = float(request.meta.get("download_timeout") or self.download_timeout)
        if left < timeout:
            # DownloadTimeoutMiddleware only sets a timeout that is not there yet.
            request.meta["download_timeout"] = left
