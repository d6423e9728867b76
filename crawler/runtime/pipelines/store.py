"""StorePipeline: extracted, unmodified and vanished pages into the database, from one writer thread.

Attachments re-fetched on their own (AttachmentItem) are compared with what is stored: a file
replaced under the same link makes a new version of its article.

A page that came back as a "deleted" notice (crawler.html.deleted) is not stored: for a stored
article it is a GoneItem with DELETED_NOTICE, which withdraws the article at once; for a page
storage does not know it is counted as `not_article` and dropped.

SQLite allows one writer, so every write happens in a single thread of the crawl process, never on
the reactor thread. Items queue for it and are written in batches, one transaction per batch (the
items waiting when the thread is free, at most BATCH_ITEMS, after waiting up to BATCH_SECONDS for
more): one commit (one fsync) per batch instead of one per article. Each item runs in a savepoint of
the batch, so a page that cannot be stored is rolled back alone. An item's `process_item` returns
only once its batch is committed: the HTTP cache commits a list page as "seen" only when every item
of the crawl went through the pipelines (crawler.runtime.middlewares.cache), so a crash mid-batch loses no
article: the uncommitted ones are fetched and stored again by the next crawl, exactly once. The
near-duplicate index is the `neardup_bands` table (storage.neardup_stored), written in the same
transaction as the articles, so it cannot disagree with them after a crash. The counters are updated
back on the reactor thread.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.statscollectors import StatsCollector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.config import Source
from crawler.html.deleted import DELETED_NOTICE_FLAG
from crawler.runtime import settings as defaults
from crawler.runtime.items import AttachmentItem, CheckedItem, GoneItem, PageItem
from crawler.runtime.tally import count, count_error
from storage.db import make_engine, make_session_factory
from storage.models import utcnow
from storage.neardup_stored import StoredNearDupIndex, prune
from storage.repository import (
    DELETED_NOTICE,
    GoneResult,
    NotAnArticle,
    RecheckPolicy,
    SourceRef,
    Validators,
    ingest_article,
    mark_checked,
    recheck_attachment,
    record_gone,
)

logger = logging.getLogger(__name__)

# A batch is what is queued when the writer is free, up to BATCH_ITEMS; with fewer waiting, the
# writer waits up to BATCH_SECONDS for more (extraction hands pages over a few at a time), which
# delays an item by at most that much while the reactor goes on downloading.
BATCH_ITEMS = 64
BATCH_SECONDS = 0.05


@dataclass(slots=True)
class _Job:
    """One item's write, run in the writer thread inside its batch's transaction."""

    work: Callable[[Session, StoredNearDupIndex], Any]
    item: Any  # what is written, for the batch's first step (the distributed pipeline's locks)
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


class StorePipeline:
    """Stores PageItems (ingest_article), CheckedItems (mark_checked) and GoneItems (record_gone)."""

    def __init__(
        self, crawler: Crawler, database_url: str, recheck: RecheckPolicy, dedupe_window: timedelta
    ) -> None:
        self.crawler = crawler
        self.dedupe_window = dedupe_window
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.database_url = database_url
        self.recheck = recheck
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._pruned = False

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
        return cls(crawler, url, recheck, window)

    def _sources(self) -> dict[str, Source]:
        sources = getattr(self.crawler.spider, "sources", None)
        return sources if isinstance(sources, dict) else {}

    def _open(self) -> None:
        self._engine = make_engine(self.database_url)
        self._sessions = make_session_factory(self._engine)

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
        if self._engine is not None:
            self._engine.dispose()

    # -- the writer thread ------------------------------------------------------------------------

    def _run(self, loop: asyncio.AbstractEventLoop, opened: asyncio.Future[Any]) -> None:
        try:
            self._open()
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
        assert self._sessions is not None
        logger.debug("storing a batch of %d items", len(batch))
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        try:
            with self._sessions() as session, session.begin():
                self._begin_batch(session, [job.item for job in batch])
                index = StoredNearDupIndex(session, since=utcnow() - self.dedupe_window)
                if not self._pruned:
                    # Once per crawl process: articles that left the dedupe window leave the index.
                    prune(session, index.since or utcnow())
                    self._pruned = True
                for job in batch:
                    try:
                        with session.begin_nested():
                            outcomes.append((job, job.work(session, index), None))
                    except Exception as exc:  # this item's own failure, raised in its process_item
                        outcomes.append((job, None, exc))
        except SQLAlchemyError as exc:
            if len(batch) > 1:
                # The commit itself failed (a lost connection, a serialisation failure): each item
                # is tried again on its own, so one item's trouble does not drop the others.
                logger.warning(
                    "storing a batch of %d items failed (%s); storing them one by one",
                    len(batch),
                    exc.__class__.__name__,
                )
                for job in batch:
                    self._write([job])
                return
            batch[0].settle(error=exc)
            return
        except Exception as exc:  # the batch's own steps failed: every item of it hears of it
            for job in batch:
                job.settle(error=exc)
            return
        for job, result, error in outcomes:
            job.settle(result, error)

    async def _store(self, work: Callable[[Session, StoredNearDupIndex], Any], item: Any) -> Any:
        """Queue `work` on `item` for the writer thread; returns its result once its batch is committed."""
        loop = asyncio.get_running_loop()
        job = _Job(work, item, loop, loop.create_future())
        self._queue.put(job)
        return await job.future

    def _begin_batch(self, session: Session, items: list[Any]) -> None:
        """First step of a batch's transaction, given its items (the distributed pipeline locks here)."""

    # -- the writes (in the writer thread) --------------------------------------------------------

    def _ingest(self, item: PageItem, session: Session, index: StoredNearDupIndex) -> str:
        assert item.article is not None
        source = self._sources()[item.source]
        topics = getattr(self.crawler.spider, "topics", None) or None
        result = ingest_article(
            session,
            item.article,
            source=SourceRef.from_config(source),
            fetched_url=item.requested_url,
            list_date=item.list_date,
            index=index,
            topics=topics,
            recheck=self.recheck,
            validators=Validators(item.etag, item.last_modified),
            attachment_texts=item.attachment_texts,
            attachment_validators=item.attachment_validators,
        )
        return result.outcome

    def _attachment(self, item: AttachmentItem, session: Session, index: StoredNearDupIndex) -> str | None:
        source = self._sources().get(item.source)
        mobile = dict(source.mobile_hosts) if source is not None else None
        result = recheck_attachment(
            session,
            item.article_url,
            item.attachment,
            item.text,
            validators=(item.etag, item.last_modified),
            mobile_hosts=mobile,
        )
        return result.outcome if result is not None else None

    def _gone(self, item: GoneItem, session: Session, index: StoredNearDupIndex) -> GoneResult:
        source = self._sources().get(item.source)
        mobile = dict(source.mobile_hosts) if source is not None else None
        return record_gone(session, item.url, status=item.status, recheck=self.recheck, mobile_hosts=mobile)

    def _checked(self, item: CheckedItem, session: Session, index: StoredNearDupIndex) -> bool:
        source = self._sources().get(item.source)
        mobile = dict(source.mobile_hosts) if source is not None else None
        return mark_checked(session, item.url, recheck=self.recheck, mobile_hosts=mobile)

    # -- on the reactor thread --------------------------------------------------------------------

    async def process_item(self, item: Any) -> Any:
        try:
            if isinstance(item, PageItem) and is_deleted_notice(item):
                # Storage, not the spider's list of known pages, says whether the URL is stored:
                # the spider's list is as old as the run, and workers of a distributed crawl share none.
                gone = GoneItem(source=item.source, url=item.requested_url, status=DELETED_NOTICE)
                result = await self._store(lambda s, i: self._gone(gone, s, i), gone)
                if not result.found:
                    count(self.stats, item.source, "not_article")
                    raise DropItem(f"{item.url}: a deleted notice of a page never stored; nothing stored")
                count(self.stats, item.source, "gone")
                if result.newly_withdrawn:
                    count(self.stats, item.source, "withdrawn")
            elif isinstance(item, PageItem):
                outcome = await self._store(lambda s, i: self._ingest(item, s, i), item)
                count(self.stats, item.source, outcome)
            elif isinstance(item, AttachmentItem):
                replaced = await self._store(lambda s, i: self._attachment(item, s, i), item)
                if replaced == "changed":
                    count(self.stats, item.source, "changed")
            elif isinstance(item, CheckedItem):
                if await self._store(lambda s, i: self._checked(item, s, i), item):
                    count(self.stats, item.source, "unchanged")
            elif isinstance(item, GoneItem):
                result = await self._store(lambda s, i: self._gone(item, s, i), item)
                if result.newly_withdrawn:
                    count(self.stats, item.source, "withdrawn")
        except NotAnArticle as exc:
            count(self.stats, item.source, "not_article")
            raise DropItem(str(exc)) from None
        except SQLAlchemyError as exc:
            count_error(self.stats, item.source, "storage")
            logger.error("storing %s failed: %s", getattr(item, "url", "?"), exc.__class__.__name__)
            raise DropItem(f"storage error: {exc.__class__.__name__}") from None
        return item


def is_deleted_notice(item: PageItem) -> bool:
    """Whether the extracted page is a "deleted" notice instead of the article."""
    return item.article is not None and DELETED_NOTICE_FLAG in item.article.flags
