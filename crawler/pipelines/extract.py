"""ExtractPipeline: page bytes to an `Article`, in the extraction process pool.

The reactor only awaits the pool, so downloads continue while both cores extract. A page that
cannot be extracted is counted (`extraction`) and dropped; it never stops the crawl.
"""

from __future__ import annotations

import logging
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from crawler import settings as defaults
from crawler.errors import ExtractionError
from crawler.items import AttachmentItem, PageItem
from crawler.listdates import apply_list_date
from crawler.pipelines.attachments import AttachmentFetcher, AttachmentLimits
from crawler.pool import ExtractionPool
from crawler.tally import PREFIX, count_error

logger = logging.getLogger(__name__)
EXTRACT_CPU_STAT = f"{PREFIX}/extract_cpu_seconds"


class ExtractPipeline:
    """Extracts PageItems in an ExtractionPool of COUNTYWATCH_EXTRACT_WORKERS processes."""

    def __init__(self, crawler: Crawler, workers: int, limits: AttachmentLimits | None = None) -> None:
        self.crawler = crawler
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.workers = workers
        self.pool: ExtractionPool | None = None
        self.attachments = AttachmentFetcher(crawler, limits or AttachmentLimits())

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        workers = crawler.settings.getint("COUNTYWATCH_EXTRACT_WORKERS", defaults.COUNTYWATCH_EXTRACT_WORKERS)
        return cls(crawler, workers, AttachmentLimits.from_settings(crawler.settings))

    def _new_pool(self) -> ExtractionPool:
        topics = getattr(self.crawler.spider, "topics", None) or {}
        return ExtractionPool(self.workers, topics)

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
        if self.pool is None:
            self.pool = self._new_pool()
        pool = self.pool
        if isinstance(item, AttachmentItem):
            await self.attachments.read(item, pool)
            return item
        try:
            article = await pool.extract(item.body, item.url, item.http_charset)
        except ExtractionError as exc:
            count_error(self.stats, item.source, "extraction")
            raise DropItem(f"{item.url}: {exc}") from None
        except BrokenProcessPool:
            # A worker died (out of memory, a crash in a C library): this page is lost, the crawl is not.
            count_error(self.stats, item.source, "extraction")
            if self.pool is pool:  # the first of the failed extractions replaces the pool
                pool.close(wait=False)
                self._add_cpu(pool)
                self.pool = self._new_pool()
            raise DropItem(f"{item.url}: the extraction worker died") from None
        apply_list_date(article, item.list_date)
        item.article = article
        item.body = b""  # the bytes are not needed past this point
        await self.attachments.fetch(item, pool)
        return item
