"""StorePipeline: extracted, unmodified and vanished pages into the database, from one writer.

Attachments re-fetched on their own (AttachmentItem) are compared with what is stored: a file
replaced under the same link makes a new version of its article.

A page that came back as a "deleted" notice (crawler.html.deleted) is not stored: for a stored
article it is a GoneItem with DELETED_NOTICE, which withdraws the article at once; for a page
storage does not know it is counted as `not_article` and dropped.

SQLite allows one writer, so every write goes through a single writer thread of the crawl process,
never the reactor thread. Items queue for it and are written in batches, one transaction per batch
(the items waiting when the thread is free, at most BATCH_ITEMS, after waiting up to BATCH_SECONDS
for more): one commit (one fsync) per batch instead of one per article. With extraction workers
(COUNTYWATCH_EXTRACT_WORKERS > 0) the thread hands each batch to a writer process
(crawler.runtime.pipelines.writer_process), started with the first page to store, so storing does
not compete with the reactor for the interpreter; with none, or before the first page, the thread
writes itself (crawler.runtime.pipelines.batch_writer holds the writes either way). Each item runs
in a savepoint of the batch, so a page that cannot be stored is rolled back alone. An item's
`process_item` returns only once its batch is committed: the HTTP cache commits a list page as
"seen" only when every item of the crawl went through the pipelines
(crawler.runtime.middlewares.cache), so a crash mid-batch loses no article: the uncommitted ones are
fetched and stored again by the next crawl, exactly once. The near-duplicate index is the
`neardup_bands` table (storage.neardup_stored), written in the same transaction as the articles, so
it cannot disagree with them after a crash. The counters are updated back on the reactor thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.statscollectors import StatsCollector
from sqlalchemy.exc import SQLAlchemyError

from core.config import Source
from crawler.html.deleted import DELETED_NOTICE_FLAG
from crawler.runtime import settings as defaults
from crawler.runtime.items import AttachmentItem, CheckedItem, GoneItem, PageItem
from crawler.runtime.pipelines.writer_process import StoreUnavailable, WriterProcess
from crawler.runtime.pipelines.writer_spec import Job, JobKind, Outcome, WriterSpec
from crawler.runtime.tally import PREFIX, count, count_error
from storage.db import make_engine
from storage.errors import NotAnArticle
from storage.recheck import DELETED_NOTICE
from storage.rules import RecheckPolicy

if TYPE_CHECKING:
    from crawler.runtime.pipelines.batch_writer import BatchWriter

logger = logging.getLogger(__name__)

# A batch is what is queued when the writer is free, up to BATCH_ITEMS; with fewer waiting, the
# writer waits up to BATCH_SECONDS for more (extraction hands pages over a few at a time), which
# delays an item by at most that much while the reactor goes on downloading.
BATCH_ITEMS = 64
BATCH_SECONDS = 0.05
# CPU seconds the writer process spent (its own process: not in the crawl process's CPU time).
STORE_CPU_STAT = f"{PREFIX}/store_cpu_seconds"


@dataclass(slots=True)
class _Job:
    """One item's write, waiting for the writer thread; settled on the reactor once its batch is committed."""

    kind: JobKind
    item: Any
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        self.loop.call_soon_threadsafe(_settle, self.future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the awaiting coroutine was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


_STOP = object()


def _without_body(item: Any) -> Any:
    """The item as the writer needs it: the page's bytes stay behind (they are not stored)."""
    if isinstance(item, PageItem | AttachmentItem) and item.body:
        return dataclasses.replace(item, body=b"")
    return item


class StorePipeline:
    """Stores PageItems (ingest_article), CheckedItems (mark_checked) and GoneItems (record_gone)."""

    # Distributed workers (crawler.distributed.shared_store) lock what a batch's articles could meet.
    LOCK_BATCHES = False

    def __init__(
        self,
        crawler: Crawler,
        database_url: str,
        recheck: RecheckPolicy,
        dedupe_window: timedelta,
        *,
        use_process: bool = False,
    ) -> None:
        self.crawler = crawler
        self.dedupe_window = dedupe_window
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.database_url = database_url
        self.recheck = recheck
        self.use_process = use_process
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._local: BatchWriter | None = None
        self._process: WriterProcess | None = None
        self._process_cpu = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        url = crawler.settings.get("COUNTYWATCH_DATABASE_URL")
        if not url:
            raise NotConfigured("COUNTYWATCH_DATABASE_URL is not set")
        settings = crawler.settings
        recheck = RecheckPolicy(
            after=timedelta(
                seconds=settings.getfloat("COUNTYWATCH_RECHECK_AFTER", defaults.COUNTYWATCH_RECHECK_AFTER)
            ),
            max_age=timedelta(
                seconds=settings.getfloat("COUNTYWATCH_RECHECK_MAX", defaults.COUNTYWATCH_RECHECK_MAX)
            ),
        )
        window = timedelta(
            seconds=settings.getfloat("COUNTYWATCH_DEDUPE_WINDOW", defaults.COUNTYWATCH_DEDUPE_WINDOW)
        )
        workers = settings.getint("COUNTYWATCH_EXTRACT_WORKERS", defaults.COUNTYWATCH_EXTRACT_WORKERS)
        return cls(crawler, url, recheck, window, use_process=workers > 0)

    def _sources(self) -> dict[str, Source]:
        sources = getattr(self.crawler.spider, "sources", None)
        return sources if isinstance(sources, dict) else {}

    def _spec(self) -> WriterSpec:
        return WriterSpec(
            database_url=self.database_url,
            recheck=self.recheck,
            dedupe_window=self.dedupe_window,
            sources=self._sources(),
            topics=getattr(self.crawler.spider, "topics", None) or None,
            lock_batches=self.LOCK_BATCHES,
        )

    async def open_spider(self) -> None:
        loop = asyncio.get_running_loop()
        opened: asyncio.Future[Any] = loop.create_future()
        self._thread = threading.Thread(target=self._run, args=(loop, opened), name="store", daemon=True)
        self._thread.start()
        await opened

    def close_spider(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
        self._retire_process()
        if self._process_cpu:
            self.stats.set_value(STORE_CPU_STAT, round(self._process_cpu, 3))
        if self._local is not None:
            self._local.close()
            self._local = None

    # -- the writer thread ------------------------------------------------------------------------

    def _run(self, loop: asyncio.AbstractEventLoop, opened: asyncio.Future[Any]) -> None:
        try:
            # The database is reached here, so a bad URL fails the crawl's start, not its first page.
            # The writer itself (and the write path it imports) waits for a first item to write: a
            # crawl that stores nothing never loads it.
            _reach(self.database_url)
        except BaseException as exc:  # reported to open_spider, which raises it
            loop.call_soon_threadsafe(_settle, opened, None, exc)
            return
        loop.call_soon_threadsafe(_settle, opened, None, None)
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            assert isinstance(first, _Job)
            batch = [first]
            stop = self._gather(batch)
            self._write(batch)
            if stop:
                return

    def _gather(self, batch: list[_Job]) -> bool:
        """Add to `batch` what is queued, waiting up to BATCH_SECONDS; True when told to stop."""
        deadline = time.monotonic() + BATCH_SECONDS
        while len(batch) < BATCH_ITEMS:
            try:
                job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
            if job is _STOP:
                return True
            assert isinstance(job, _Job)
            batch.append(job)
        return False

    def _write(self, batch: list[_Job]) -> None:
        """One transaction for the batch, a savepoint per item; then every item learns its outcome."""
        logger.debug("storing a batch of %d items", len(batch))
        jobs: list[Job] = [(job.kind, job.item) for job in batch]
        try:
            outcomes = self._writer(jobs)
        except StoreUnavailable as exc:
            logger.error("%s", exc)
            self._retire_process()
            for job in batch:
                job.settle(error=exc)
            return
        except Exception as exc:  # the writer could not be set up: a storage error for each item
            reason = f"{exc.__class__.__name__}: {exc}"
            unavailable = StoreUnavailable(f"the store writer could not start: {reason}")
            logger.error("%s", unavailable)
            for job in batch:
                job.settle(error=unavailable)
            return
        for job, (result, error) in zip(batch, outcomes, strict=True):
            job.settle(result, error)

    def _writer(self, jobs: list[Job]) -> list[Outcome]:
        """The batch's outcomes, from the writer process once a page has been seen, else from here."""
        if self.use_process and (self._process is not None or any(kind == "ingest" for kind, _ in jobs)):
            if self._process is None:
                self._process = WriterProcess(self._spec())
                logger.debug("store writer process %d started", self._process.pid)
            return self._process.write([(kind, _without_body(item)) for kind, item in jobs])
        if self._local is None:
            from crawler.runtime.pipelines.batch_writer import BatchWriter

            self._local = BatchWriter(self._spec())
        return self._local.write(jobs)

    def _retire_process(self) -> None:
        """End the writer process (or forget one that died; the next batch starts another)."""
        if self._process is not None:
            self._process_cpu += self._process.close()
            self._process = None

    async def _store(self, kind: JobKind, item: Any) -> Any:
        """Queue the write of `item`; returns its result once its batch is committed."""
        loop = asyncio.get_running_loop()
        job = _Job(kind, item, loop, loop.create_future())
        self._queue.put(job)
        return await job.future

    # -- on the reactor thread --------------------------------------------------------------------

    async def process_item(self, item: Any) -> Any:
        try:
            if isinstance(item, PageItem) and is_deleted_notice(item):
                # Storage, not the spider's list of known pages, says whether the URL is stored:
                # the spider's list is as old as the run, and workers of a distributed crawl share none.
                gone = GoneItem(source=item.source, url=item.requested_url, status=DELETED_NOTICE)
                result = await self._store("gone", gone)
                if not result.found:
                    count(self.stats, item.source, "not_article")
                    raise DropItem(f"{item.url}: a deleted notice of a page never stored; nothing stored")
                count(self.stats, item.source, "gone")
                if result.newly_withdrawn:
                    count(self.stats, item.source, "withdrawn")
            elif isinstance(item, PageItem):
                outcome = await self._store("ingest", item)
                count(self.stats, item.source, outcome)
            elif isinstance(item, AttachmentItem):
                replaced = await self._store("attachment", item)
                if replaced == "changed":
                    count(self.stats, item.source, "changed")
            elif isinstance(item, CheckedItem):
                if await self._store("checked", item):
                    count(self.stats, item.source, "unchanged")
            elif isinstance(item, GoneItem):
                result = await self._store("gone", item)
                if result.newly_withdrawn:
                    count(self.stats, item.source, "withdrawn")
        except NotAnArticle as exc:
            count(self.stats, item.source, "not_article")
            raise DropItem(str(exc)) from None
        except (SQLAlchemyError, StoreUnavailable) as exc:
            count_error(self.stats, item.source, "storage")
            logger.error("storing %s failed: %s", getattr(item, "url", "?"), exc.__class__.__name__)
            raise DropItem(f"storage error: {exc.__class__.__name__}") from None
        return item


def _reach(database_url: str) -> None:
    """Connect to the database once; raises what connecting raises."""
    engine = make_engine(database_url)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


def is_deleted_notice(item: PageItem) -> bool:
    """Whether the extracted page is a "deleted" notice instead of the article."""
    return item.article is not None and DELETED_NOTICE_FLAG in item.article.flags
