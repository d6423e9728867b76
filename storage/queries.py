"""Reading stored articles back: filters for `countywatch articles` and the record each one prints."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, cast, exists, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from storage import search
from storage.models import Article, ArticleAttachment, ArticleVersion, AttachmentFile, Source

_BATCH = 200


@dataclass(frozen=True, slots=True)
class ArticleFilter:
    """Which stored articles to list; every field narrows the selection."""

    search: str | None = None  # terms in title or text (the search index), or in an attachment's text
    source: str | None = None  # configured source name
    region: str | None = None  # part of the region, e.g. 镇坪县
    category: str | None = None  # category label, e.g. 招生入学
    status: str | None = None  # active | withdrawn
    since: date | None = None  # published on or after (first seen, when the date is unknown)
    until: date | None = None  # published on or before (first seen, when the date is unknown)
    limit: int | None = None
    # Keyset pagination: only articles after this (first_seen, id) in newest-first order.
    after: tuple[datetime, int] | None = None


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


@dataclass(frozen=True, slots=True)
class VersionRow:
    """One stored version of an article (`diff` against the version before it)."""

    version: int
    title: str | None
    seen_at: datetime
    diff: str
    text: str


@dataclass(frozen=True, slots=True)
class ArticleDetail:
    """One stored article with what only its own page shows: fetch facts and every version."""

    stored: StoredArticle
    fetched_url: str
    last_checked: datetime
    withdrawn_at: datetime | None
    attachments: list[dict[str, Any]]  # the record's attachment entries that are objects
    versions: list[VersionRow]  # newest first


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


def _has_category(dialect: str, label: str) -> ColumnElement[bool]:
    """Article.categories (a JSON list) holds `label`."""
    if dialect == "postgresql":
        return cast(Article.categories, JSONB).contains([label])
    element = func.json_each(Article.categories).table_valued("value")
    return exists(select(1).select_from(element).where(element.c.value == label))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def article_query(session: Session, filters: ArticleFilter) -> Select[Article, str]:
    """(article, source name) of the articles matching `filters`, newest first seen first.

    With a limit, the matching ids are found first and only those rows are read: ordering ids on
    the (first_seen, id) index is cheap, ordering thousands of whole rows (text included) is not.
    """
    dialect = session.get_bind().dialect.name
    chosen = search.plan(session, filters.search) if filters.search else None
    rows = select(Article, Source.name).join(Source, Source.id == Article.source_id)

    def found(article_id: Any) -> ColumnElement[bool] | None:
        return _search(chosen, filters.search or "", article_id) if chosen is not None else None

    if filters.limit is None:
        return _matching(rows, dialect, filters, found(Article.id))
    if chosen is not None and chosen.scanned and dialect == "postgresql":
        # PostgreSQL guesses that few articles match a per-row check and would sort them all;
        # OFFSET 0 keeps the newest-first index scan intact, the checks then stop at a page.
        newest = (
            _matching(select(Article.id, Article.first_seen), dialect, filters, None).offset(0).subquery()
        )
        ids = (
            select(newest.c.id, newest.c.first_seen)
            .where(_search(chosen, filters.search or "", newest.c.id))
            .order_by(newest.c.first_seen.desc(), newest.c.id.desc())
        )
    else:
        ids = _matching(select(Article.id, Article.first_seen), dialect, filters, found(Article.id))
    page = ids.limit(filters.limit).subquery()
    return rows.where(Article.id.in_(select(page.c.id))).order_by(
        Article.first_seen.desc(), Article.id.desc()
    )


def _search(chosen: search.SearchPlan, query: str, article_id: Any) -> ColumnElement[bool]:
    """The search's condition on an article id: its document matches, or one of its attachments."""
    # Words only in an attachment (附件) count too: the 岗位表 is often the whole notice.
    in_attachment = (
        select(ArticleAttachment.article_id)
        .join(AttachmentFile, AttachmentFile.sha256 == ArticleAttachment.sha256)
        .where(AttachmentFile.text.contains(query, autoescape=True))
    )
    return or_(chosen.condition(article_id), article_id.in_(in_attachment))


S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def _matching(stmt: S, dialect: str, filters: ArticleFilter, found: ColumnElement[bool] | None) -> S:
    """The statement narrowed by `filters` (`found`: the search condition) and ordered newest first."""
    if found is not None:
        stmt = stmt.where(found)
    if filters.source:
        stmt = stmt.where(Article.source_id.in_(select(Source.id).where(Source.name == filters.source)))
    if filters.region:
        stmt = stmt.where(Article.region.contains(filters.region, autoescape=True))
    if filters.category:
        stmt = stmt.where(_has_category(dialect, filters.category))
    if filters.status:
        stmt = stmt.where(Article.status == filters.status)
    if filters.since:
        stmt = stmt.where(
            or_(
                Article.published_at >= filters.since.isoformat(),
                and_(Article.published_at.is_(None), Article.first_seen >= _day_start(filters.since)),
            )
        )
    if filters.until:
        # Published dates are ISO text: everything of the day sorts below the next day's date.
        next_day = filters.until + timedelta(days=1)
        stmt = stmt.where(
            or_(
                Article.published_at < next_day.isoformat(),
                and_(Article.published_at.is_(None), Article.first_seen < _day_start(next_day)),
            )
        )
    if filters.after:
        seen, article_id = filters.after
        stmt = stmt.where(
            or_(Article.first_seen < seen, and_(Article.first_seen == seen, Article.id < article_id))
        )
    return stmt.order_by(Article.first_seen.desc(), Article.id.desc())


def stored_article(row: Article, source_name: str) -> StoredArticle:
    """The record `countywatch articles` prints for a row."""
    return StoredArticle(
        article_record(row),
        row.id,
        source_name,
        row.story_id,
        row.status,
        row.first_seen,
        row.last_changed,
        row.version,
    )


def iter_articles(session: Session, filters: ArticleFilter) -> Iterator[StoredArticle]:
    """Stored articles matching `filters`, newest first, streamed in batches."""
    stmt = article_query(session, filters).execution_options(yield_per=_BATCH)
    for row, source_name in session.execute(stmt):
        yield stored_article(row, source_name)
        # Rows already printed need not stay in the session: an export holds one batch at a time.
        session.expunge(row)


def stored_articles(session: Session, filters: ArticleFilter) -> list[StoredArticle]:
    """Stored articles matching `filters`, newest first, read at once (give a limit: one page)."""
    rows = session.execute(article_query(session, filters))
    return [stored_article(row, source_name) for row, source_name in rows]


def article_detail(session: Session, article_id: int) -> ArticleDetail | None:
    """The article with this id and its versions, newest first; None when there is none."""
    found = session.execute(
        select(Article, Source.name)
        .join(Source, Source.id == Article.source_id)
        .where(Article.id == article_id)
    ).first()
    if found is None:
        return None
    row, source_name = found
    versions = session.scalars(
        select(ArticleVersion)
        .where(ArticleVersion.article_id == row.id)
        .order_by(ArticleVersion.version.desc())
    ).all()
    attachments = row.extra.get("attachments") or []
    return ArticleDetail(
        stored=stored_article(row, source_name),
        fetched_url=row.fetched_url,
        last_checked=row.last_checked,
        withdrawn_at=row.withdrawn_at,
        attachments=[a for a in attachments if isinstance(a, dict)],
        versions=[VersionRow(v.version, v.title, v.seen_at, v.diff, v.text) for v in versions],
    )


def article_id_by_url(session: Session, urls: Collection[str]) -> int | None:
    """The id of a stored article whose canonical URL is one of `urls`, or None."""
    return session.scalar(select(Article.id).where(Article.url.in_(urls)))
