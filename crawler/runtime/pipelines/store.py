"""StorePipeline: extracted, unmodified and vanished pages into the database, from one writer thread.

Attachments re-fetched on their own (AttachmentItem) are compared with what is stored: a file
replaced under the same link makes a new version of its article.

A page that came back as a "deleted" notice (crawler.html.deleted) is not stored: for a stored
article it is a GoneItem with DELETED_NOTICE, which withdraws the article at once; for a page
storage does not know it is counted as `not_article` and dropped.

SQLite allows one writer, and the near-duplicate index is not thread-safe, so every write happens
in a single thread of the crawl process, one short transaction per item: a crash loses at most the
page being written. The reactor awaits the thread and keeps downloading meanwhile; the counters
are updated back on the reactor thread.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
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
from storage.neardup import NearDupIndex
from storage.repository import (
    DELETED_NOTICE,
    GoneResult,
    NotAnArticle,
    RecheckPolicy,
    SourceRef,
    Validators,
    ingest_article,
    load_neardup_index,
    mark_checked,
    recheck_attachment,
    record_gone,
)

logger = logging.getLogger(__name__)


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
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._index: NearDupIndex | None = None

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

    def _neardup_index(self) -> NearDupIndex:
        # Built on the first page to store: a run in which nothing changed never pays for it.
        if self._index is None:
            assert self._sessions is not None
            with self._sessions() as session:
                self._index = load_neardup_index(session, since=utcnow() - self.dedupe_window)
        return self._index

    async def open_spider(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._writer, self._open)

    def close_spider(self) -> None:
        self._writer.shutdown(wait=True)
        if self._engine is not None:
            self._engine.dispose()

    def _ingest(self, item: PageItem) -> str:
        assert self._sessions is not None and item.article is not None
        index = self._neardup_index()
        source = self._sources()[item.source]
        topics = getattr(self.crawler.spider, "topics", None) or None
        with self._sessions() as session, session.begin():
            self._begin_ingest(session, item)
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

    def _attachment(self, item: AttachmentItem) -> str | None:
        assert self._sessions is not None
        source = self._sources().get(item.source)
        mobile = dict(source.mobile_hosts) if source is not None else None
        with self._sessions() as session, session.begin():
            result = recheck_attachment(
                session,
                item.article_url,
                item.attachment,
                item.text,
                validators=(item.etag, item.last_modified),
                mobile_hosts=mobile,
            )
        return result.outcome if result is not None else None

    def _begin_ingest(self, session: Session, item: PageItem) -> None:
        """First step of an article's store transaction (the distributed pipeline locks here)."""

    def _gone(self, item: GoneItem) -> GoneResult:
        assert self._sessions is not None
        source = self._sources().get(item.source)
        mobile = dict(source.mobile_hosts) if source is not None else None
        with self._sessions() as session, session.begin():
            return record_gone(
                session, item.url, status=item.status, recheck=self.recheck, mobile_hosts=mobile
            )

    def _checked(self, item: CheckedItem) -> bool:
        assert self._sessions is not None
        source = self._sources().get(item.source)
        mobile = dict(source.mobile_hosts) if source is not None else None
        with self._sessions() as session, session.begin():
            return mark_checked(session, item.url, recheck=self.recheck, mobile_hosts=mobile)

    async def process_item(self, item: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            if isinstance(item, PageItem) and is_deleted_notice(item):
                # Storage, not the spider's list of known pages, says whether the URL is stored:
                # the spider's list is as old as the run, and workers of a distributed crawl share none.
                gone = GoneItem(source=item.source, url=item.requested_url, status=DELETED_NOTICE)
                result = await loop.run_in_executor(self._writer, self._gone, gone)
                if not result.found:
                    count(self.stats, item.source, "not_article")
                    raise DropItem(f"{item.url}: a deleted notice of a page never stored; nothing stored")
                count(self.stats, item.source, "gone")
                if result.newly_withdrawn:
                    count(self.stats, item.source, "withdrawn")
            elif isinstance(item, PageItem):
                outcome = await loop.run_in_executor(self._writer, self._ingest, item)
                count(self.stats, item.source, outcome)
            elif isinstance(item, AttachmentItem):
                replaced = await loop.run_in_executor(self._writer, self._attachment, item)
                if replaced == "changed":
                    count(self.stats, item.source, "changed")
            elif isinstance(item, CheckedItem):
                if await loop.run_in_executor(self._writer, self._checked, item):
                    count(self.stats, item.source, "unchanged")
            elif isinstance(item, GoneItem):
                result = await loop.run_in_executor(self._writer, self._gone, item)
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
