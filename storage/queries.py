"""Reading stored articles back: filters for `countywatch articles` and the record each one prints."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from storage.models import Article, ArticleAttachment, AttachmentFile, Source

_BATCH = 200


@dataclass(frozen=True, slots=True)
class ArticleFilter:
    """Which stored articles to list; every field narrows the selection."""

    search: str | None = None  # in title, text or the text of an attachment
    source: str | None = None  # configured source name
    region: str | None = None  # part of the region, e.g. 镇坪县
    category: str | None = None  # category label, e.g. 招生入学
    status: str | None = None  # active | withdrawn
    since: date | None = None  # published on or after (first seen, when the date is unknown)
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """A stored article as `countywatch articles` prints it."""

    record: dict[str, Any]  # the keys of Article.to_json (the `extract` output)
    id: int
    source_name: str
    story_id: int
    status: str
    first_seen: datetime
    last_changed: datetime
    versions: int

    def to_json(self) -> dict[str, Any]:
        """The `extract` keys plus story_id, status, first_seen, last_changed and versions."""
        return {
            **self.record,
            "story_id": self.story_id,
            "status": self.status,
            "first_seen": self.first_seen.isoformat(),
            "last_changed": self.last_changed.isoformat(),
            "versions": self.versions,
        }


def article_record(row: Article) -> dict[str, Any]:
    """The stored article as the JSON object `countywatch extract` printed for it."""
    record: dict[str, Any] = {
        "url": row.url,
        "title": row.title,
        "text": row.text,
        "published_at": row.published_at,
        "authors": list(row.authors),
        "source": row.publication,
        "editor": row.editor,
        "site_name": row.site_name,
        "region": row.region,
        "topics": list(row.topics),
        "categories": list(row.categories),
        "flags": list(row.flags),
        "simhash": row.simhash,
        "language": row.language,
    }
    record.update(row.extra)
    return record


def iter_articles(session: Session, filters: ArticleFilter) -> Iterator[StoredArticle]:
    """Stored articles matching `filters`, newest first, streamed in batches."""
    stmt = select(Article, Source.name).join(Source, Source.id == Article.source_id)
    if filters.search:
        # Words only in an attachment (附件) count too: the 岗位表 is often the whole notice.
        in_attachment = (
            select(ArticleAttachment.article_id)
            .join(AttachmentFile, AttachmentFile.sha256 == ArticleAttachment.sha256)
            .where(AttachmentFile.text.contains(filters.search, autoescape=True))
        )
        stmt = stmt.where(
            or_(
                Article.title.contains(filters.search, autoescape=True),
                Article.text.contains(filters.search, autoescape=True),
                Article.id.in_(in_attachment),
            )
        )
    if filters.source:
        stmt = stmt.where(Source.name == filters.source)
    if filters.region:
        stmt = stmt.where(Article.region.contains(filters.region, autoescape=True))
    if filters.status:
        stmt = stmt.where(Article.status == filters.status)
    if filters.since:
        start = datetime.combine(filters.since, time(), tzinfo=UTC)
        stmt = stmt.where(
            or_(
                Article.published_at >= filters.since.isoformat(),
                and_(Article.published_at.is_(None), Article.first_seen >= start),
            )
        )
    stmt = stmt.order_by(Article.first_seen.desc(), Article.id.desc()).execution_options(yield_per=_BATCH)
    emitted = 0
    for row, source_name in session.execute(stmt):
        # Categories are a JSON list; matching them in Python keeps the query portable.
        if filters.category and filters.category not in row.categories:
            continue
        yield StoredArticle(
            article_record(row),
            row.id,
            source_name,
            row.story_id,
            row.status,
            row.first_seen,
            row.last_changed,
            row.version,
        )
        # Rows already printed need not stay in the session: an export holds one batch at a time.
        session.expunge(row)
        emitted += 1
        if filters.limit is not None and emitted >= filters.limit:
            return
