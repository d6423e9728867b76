"""ExtractPipeline: page bytes to an `Article`, in the extraction process pool.

The reactor only awaits the pool, so downloads continue while both cores extract. A page that
cannot be extracted is counted (`extraction`) and dropped; one over the per-page budget
(COUNTYWATCH_EXTRACT_TIME_LIMIT seconds, COUNTYWATCH_EXTRACT_MAX_BYTES bytes) is counted as
`over_budget` and dropped. Neither stops the crawl.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures.process import BrokenProcessPool
from typing import Any, NoReturn, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from crawler.article import Article
from crawler.discovery.listdates import apply_list_date
from crawler.errors import ExtractionError
from crawler.runtime import settings as defaults
from crawler.runtime.items import AttachmentItem, PageItem
from crawler.runtime.pipelines.attachment_fetch import AttachmentFetcher, AttachmentLimits
from crawler.runtime.pool import ExtractionPool, OverBudget
from crawler.runtime.tally import PREFIX, count_error

logger = logging.getLogger(__name__)
EXTRACT_CPU_STAT = f"{PREFIX}/extract_cpu_seconds"


class ExtractPipeline:
    """Extracts PageItems in an ExtractionPool of COUNTYWATCH_EXTRACT_WORKERS processes."""

    def __init__(
        self,
        crawler: Crawler,
        workers: int,
        *,
        time_limit: float,
        max_bytes: int,
        limits: AttachmentLimits | None = None,
    ) -> None:
        self.crawler = crawler
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.workers = workers
        self.time_limit = time_limit
        self.max_bytes = max_bytes
        self.pool: ExtractionPool | None = None
        self.attachments = AttachmentFetcher(crawler, limits or AttachmentLimits())

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        workers = settings.getint("COUNTYWATCH_EXTRACT_WORKERS", defaults.COUNTYWATCH_EXTRACT_WORKERS)
        time_limit = settings.getfloat(
            "COUNTYWATCH_EXTRACT_TIME_LIMIT", defaults.COUNTYWATCH_EXTRACT_TIME_LIMIT
        )
        max_bytes = settings.getint("COUNTYWATCH_EXTRACT_MAX_BYTES", defaults.COUNTYWATCH_EXTRACT_MAX_BYTES)
        return cls(
            crawler,
            workers,
            time_limit=time_limit,
            max_bytes=max_bytes,
            limits=AttachmentLimits.from_settings(settings),
        )

    def _new_pool(self) -> ExtractionPool:
        topics = getattr(self.crawler.spider, "topics", None) or {}
        return ExtractionPool(self.workers, topics, time_limit=self.time_limit, max_bytes=self.max_bytes)

    def open_spider(self) -> None:
        self.pool = self._new_pool()

    def _add_cpu(self, pool: ExtractionPool) -> None:
        spent = float(self.stats.get_value(EXTRACT_CPU_STAT, 0.0)) + pool.cpu_seconds
        self.stats.set_value(EXTRACT_CPU_STAT, round(spent, 3))

    def close_spider(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self._add_cpu(self.pool)
            self.pool = None

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem | AttachmentItem):
            return item
        if isinstance(item, AttachmentItem):
            await self.attachments.read(item, self._pool())
            return item
        article = await self._extract(item)
        apply_list_date(article, item.list_date)
        item.article = article
        item.body = b""  # the bytes are not needed past this point
        await self.attachments.fetch(item, self._pool())
        return item

    def _pool(self) -> ExtractionPool:
        if self.pool is None:
            self.pool = self._new_pool()
        return self.pool

    async def _extract(self, item: PageItem) -> Article:
        # A worker that dies (out of memory, a crash in a C library, the CPU limit of a page over
        # its budget) breaks the pool and every page in flight in it: each is tried once more in a
        # fresh pool, so only the page that kills a worker twice is lost, as an error of its URL.
        for attempt in (1, 2):
            pool = self._pool()
            started = time.monotonic()
            try:
                return await pool.extract(item.body, item.url, item.http_charset)
            except OverBudget as exc:
                self._over_budget(item, str(exc))
            except ExtractionError as exc:
                count_error(self.stats, item.source, "extraction")
                raise DropItem(f"{item.url}: {exc}") from None
            except BrokenProcessPool:
                if self.pool is pool:  # the first of the failed extractions replaces the pool
                    pool.close(wait=False)
                    self._add_cpu(pool)
                    self.pool = None
                if attempt == 1:
                    continue
                if pool.time_limit and time.monotonic() - started >= pool.time_limit:
                    why = f"its extraction worker was ended past the {pool.time_limit:g}s limit"
                    self._over_budget(item, why)
                count_error(self.stats, item.source, "extraction")
                raise DropItem(f"{item.url}: the extraction worker died") from None
        raise AssertionError("unreachable")

    def _over_budget(self, item: PageItem, why: str) -> NoReturn:
        # Recorded against the URL (the log line) and the source (the counter); the crawl goes on.
        count_error(self.stats, item.source, "over_budget")
        logger.warning("%s of %s: %s", item.url, item.source, why)
        raise DropItem(f"{item.url}: {why}")
