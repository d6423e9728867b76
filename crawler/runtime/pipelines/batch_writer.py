"""The store writer's work: a batch of items in one transaction, each item in its own savepoint.

`BatchWriter` holds everything a write needs (the database, the sources, the topics, the re-check
policy) and nothing of Scrapy, so the same code runs in the crawl's writer thread or in a writer
process of its own (crawler.runtime.pipelines.writer_process). A job is `(kind, item)`; `write`
answers each job with `(result, None)` or `(None, error)`, in order. The item's own failure (a
list page, a page of an unknown source) is rolled back alone; a failed commit is retried item by
item, so one item's trouble does not drop the others.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.urls import canonicalize_url
from crawler.runtime.items import AttachmentItem, CheckedItem, GoneItem, PageItem
from crawler.runtime.pipelines.writer_spec import Job, JobKind, Outcome, WriterSpec
from storage.article_locks import lock_articles
from storage.db import make_engine, make_session_factory
from storage.models import utcnow
from storage.neardup_stored import StoredNearDupIndex, prune
from storage.repository import (
    SourceRef,
    Validators,
    ingest_article,
    mark_checked,
    recheck_attachment,
    record_gone,
)

logger = logging.getLogger(__name__)


class BatchWriter:
    """Writes batches of jobs under `spec`, one transaction a batch."""

    def __init__(self, spec: WriterSpec) -> None:
        self.spec = spec
        self._engine: Engine = make_engine(spec.database_url)
        self._sessions: sessionmaker[Session] = make_session_factory(self._engine)
        self._pruned = False

    def close(self) -> None:
        self._engine.dispose()

    def write(self, jobs: list[Job]) -> list[Outcome]:
        """Store the jobs in one transaction, a savepoint each; each job's result or error, in order."""
        outcomes: list[Outcome] = []
        try:
            with self._sessions() as session, session.begin():
                if self.spec.lock_batches:
                    self._lock(session, jobs)
                index = StoredNearDupIndex(session, since=utcnow() - self.spec.dedupe_window)
                if not self._pruned:
                    # Once per writer: articles that left the dedupe window leave the index.
                    prune(session, index.since or utcnow())
                    self._pruned = True
                for kind, item in jobs:
                    try:
                        with session.begin_nested():
                            outcomes.append((self._run(kind, item, session, index), None))
                    except Exception as exc:  # this item's own failure, raised in its process_item
                        outcomes.append((None, exc))
        except SQLAlchemyError as exc:
            if len(jobs) > 1:
                # The commit itself failed (a lost connection, a serialisation failure): each item
                # is tried again on its own, so one item's trouble does not drop the others.
                logger.warning(
                    "storing a batch of %d items failed (%s); storing them one by one",
                    len(jobs),
                    exc.__class__.__name__,
                )
                return [outcome for job in jobs for outcome in self.write([job])]
            return [(None, exc)]
        except Exception as exc:  # the batch's own steps failed: every item of it hears of it
            return [(None, exc) for _ in jobs]
        return outcomes

    def _lock(self, session: Session, jobs: list[Job]) -> None:
        pages: list[tuple[str, str]] = []
        for _kind, item in jobs:
            if isinstance(item, PageItem) and item.article is not None and item.source in self.spec.sources:
                hosts = self.spec.sources[item.source].mobile_hosts
                pages.append((canonicalize_url(item.requested_url, mobile_hosts=hosts), item.article.text))
        lock_articles(session, pages)

    def _run(self, kind: JobKind, item: Any, session: Session, index: StoredNearDupIndex) -> Any:
        if kind == "ingest":
            return self._ingest(item, session, index)
        if kind == "attachment":
            return self._attachment(item, session)
        if kind == "gone":
            return self._gone(item, session)
        return self._checked(item, session)

    def _mobile_hosts(self, name: str) -> dict[str, str] | None:
        source = self.spec.sources.get(name)
        return dict(source.mobile_hosts) if source is not None else None

    def _ingest(self, item: PageItem, session: Session, index: StoredNearDupIndex) -> str:
        assert item.article is not None
        source = self.spec.sources[item.source]
        result = ingest_article(
            session,
            item.article,
            source=SourceRef.from_config(source),
            fetched_url=item.requested_url,
            list_date=item.list_date,
            index=index,
            topics=self.spec.topics or None,
            recheck=self.spec.recheck,
            validators=Validators(item.etag, item.last_modified),
            attachment_texts=item.attachment_texts,
            attachment_validators=item.attachment_validators,
        )
        return result.outcome

    def _attachment(self, item: AttachmentItem, session: Session) -> str | None:
        result = recheck_attachment(
            session,
            item.article_url,
            item.attachment,
            item.text,
            validators=(item.etag, item.last_modified),
            mobile_hosts=self._mobile_hosts(item.source),
        )
        return result.outcome if result is not None else None

    def _gone(self, item: GoneItem, session: Session) -> Any:
        return record_gone(
            session,
            item.url,
            status=item.status,
            recheck=self.spec.recheck,
            mobile_hosts=self._mobile_hosts(item.source),
        )

    def _checked(self, item: CheckedItem, session: Session) -> bool:
        return mark_checked(
            session, item.url, recheck=self.spec.recheck, mobile_hosts=self._mobile_hosts(item.source)
        )
