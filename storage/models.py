"""The database schema as SQLAlchemy 2.0 typed models.

Timestamps are stored in UTC and always come back timezone-aware, on SQLite as on PostgreSQL.
Constraint names follow `NAMING_CONVENTION`, so migrations can refer to them on every backend.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ARTICLE_STATUSES = ("active", "withdrawn")
ALERT_KINDS = ("new", "changed", "withdrawn", "health")
DELIVERY_STATES = ("pending", "sent", "failed")
HEALTH_STATES = ("ok", "empty", "blocked", "failing", "stale")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime kept in UTC; SQLite, which drops the offset, gets it back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; storage needs timezone-aware times")
        value = value.astimezone(UTC)
        # SQLite stores the text as given: keep it offset-free so string comparisons order correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


IntPK = Annotated[int, mapped_column(Integer, primary_key=True)]
Timestamp = Annotated[datetime, mapped_column(UTCDateTime())]
Name = Annotated[str, mapped_column(String(200))]
Label = Annotated[str, mapped_column(String(40))]
Url = Annotated[str, mapped_column(String(2048))]
Hash = Annotated[str, mapped_column(String(64))]
LongText = Annotated[str, mapped_column(Text)]
StrList = Annotated[list[str], mapped_column(JSON)]
JsonObject = Annotated[dict[str, Any], mapped_column(JSON)]


class Base(DeclarativeBase):
    """Base of every model; its metadata carries the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Source(Base):
    """A configured site, with its current health."""

    __tablename__ = "sources"
    __table_args__ = (
        UniqueConstraint("name"),
        Index(None, "next_due_at"),
        CheckConstraint(_in("health", HEALTH_STATES), name="health"),
    )

    id: Mapped[IntPK]
    name: Mapped[Name]
    kind: Mapped[Label]
    health: Mapped[Label | None]
    health_changed_at: Mapped[Timestamp | None]
    last_run_at: Mapped[Timestamp | None]
    # When the daemon's tick crawls it next (from its schedule); None: not scheduled (disabled,
    # removed from the configuration, or no daemon has scheduled it yet).
    next_due_at: Mapped[Timestamp | None]
    created_at: Mapped[Timestamp]


class Story(Base):
    """Articles that are the same story: an official original and its reprints and mirrors."""

    __tablename__ = "stories"

    id: Mapped[IntPK]
    # The member readers should be sent to: the most official source (see repository.KIND_RANK).
    canonical_article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", use_alter=True, name="fk_stories_canonical_article_id_articles")
    )
    # Who published the story first (earliest published_at, else earliest seen).
    first_article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", use_alter=True, name="fk_stories_first_article_id_articles")
    )
    first_publisher: Mapped[Name | None]
    earliest_published_at: Mapped[Label | None]
    new_alert_id: Mapped[int | None]  # set once the story's one "new" alert exists
    created_at: Mapped[Timestamp]


class Article(Base):
    """One page (by canonical URL) and its current text; history is in ArticleVersion."""

    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("url"),
        Index(None, "content_hash"),
        Index(None, "source_id", "next_check_at"),
        Index(None, "story_id"),
        # Newest first is how every list (web page, API cursor, `countywatch articles`) reads them.
        Index(None, "first_seen", "id"),
        # Per-source counts and weekly chart (/sources), a source's newest articles: index only.
        Index(None, "source_id", "first_seen", "status"),
        CheckConstraint(_in("status", ARTICLE_STATUSES), name="status"),
    )

    id: Mapped[IntPK]
    url: Mapped[Url]  # canonical
    fetched_url: Mapped[Url]
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    title: Mapped[LongText | None]
    text: Mapped[LongText]
    published_at: Mapped[Label | None]  # ISO 8601 as extracted; a bare date stays YYYY-MM-DD
    list_date: Mapped[Label | None]  # the date the list page showed next to the link
    authors: Mapped[StrList]
    publication: Mapped[Name | None]  # 来源 (Article.source)
    editor: Mapped[Name | None]
    site_name: Mapped[Name | None]
    region: Mapped[Name | None]
    topics: Mapped[StrList]
    categories: Mapped[StrList]
    flags: Mapped[StrList]
    simhash: Mapped[Label | None]
    language: Mapped[Label]
    extra: Mapped[JsonObject]  # the other keys of Article.to_json (section, attachments, ...)
    content_hash: Mapped[Hash]
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)  # MinHash, for the near-dup index
    alertable: Mapped[bool]  # may raise new/changed/withdrawn alerts (official, education, whole)
    status: Mapped[Label]
    gone_count: Mapped[int]  # consecutive 404/410 answers
    version: Mapped[int]  # number of the current ArticleVersion
    first_seen: Mapped[Timestamp]
    last_seen: Mapped[Timestamp]
    last_checked: Mapped[Timestamp]
    last_changed: Mapped[Timestamp]
    next_check_at: Mapped[Timestamp | None]  # None: old enough not to be re-checked
    withdrawn_at: Mapped[Timestamp | None]
    # The validators of the last full answer, sent back in conditional re-checks (If-None-Match,
    # If-Modified-Since) so that an unchanged page costs a 304.
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[Label | None]

    source: Mapped[Source] = relationship(lazy="raise")


class ArticleVersion(Base):
    """A material state of an article's text; version 1 is the first one seen."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: Mapped[IntPK]
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    version: Mapped[int]
    title: Mapped[LongText | None]
    text: Mapped[LongText]
    content_hash: Mapped[Hash]
    diff: Mapped[LongText]  # paragraph diff against the previous version ("" for version 1)
    seen_at: Mapped[Timestamp]


class AttachmentFile(Base):
    """The text of one attachment file, stored once by the SHA-256 of its bytes."""

    __tablename__ = "attachment_files"
    __table_args__ = (UniqueConstraint("sha256"),)

    id: Mapped[IntPK]
    sha256: Mapped[Hash]
    bytes: Mapped[int]
    text: Mapped[LongText]  # extracted text ("" when the format has no reader or extraction failed)
    created_at: Mapped[Timestamp]


class ArticleAttachment(Base):
    """An attachment (附件) linked from an article, and what fetching it gave."""

    __tablename__ = "article_attachments"
    __table_args__ = (UniqueConstraint("article_id", "url"), Index(None, "sha256"))

    id: Mapped[IntPK]
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    url: Mapped[Url]
    title: Mapped[LongText | None]
    sha256: Mapped[Hash | None]  # None: not fetched (out of scope, too large, failed)
    bytes: Mapped[int | None]
    text_chars: Mapped[int | None]
    flags: Mapped[StrList]  # unreadable, too_large, offsite, robots, failed, timeout, text_cut
    error: Mapped[LongText | None]
    etag: Mapped[str | None] = mapped_column(String(200))  # validators of the file's last answer
    last_modified: Mapped[Label | None]
    fetched_at: Mapped[Timestamp]


class CrawlRun(Base):
    """One crawl of one source; the runs of a source are its health history."""

    __tablename__ = "crawl_runs"
    __table_args__ = (
        Index(None, "source_id", "started_at"),
        CheckConstraint(_in("health", HEALTH_STATES), name="health"),
    )

    id: Mapped[IntPK]
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    started_at: Mapped[Timestamp]
    finished_at: Mapped[Timestamp | None]
    health: Mapped[Label | None]  # None once finished: interrupted (its process died)
    stats: Mapped[JsonObject]
    error: Mapped[LongText | None]
    # The process running it (standalone crawls; None for distributed runs, which no process owns).
    pid: Mapped[int | None]
    host: Mapped[Name | None]


class Alert(Base):
    """The outbox: something to tell subscribers (or operators), created exactly once per key."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("key"),
        Index(None, "created_at"),
        Index(None, "story_id"),  # a story's page lists its alerts
        CheckConstraint(_in("kind", ALERT_KINDS), name="kind"),
    )

    id: Mapped[IntPK]
    kind: Mapped[Label]
    key: Mapped[Name]  # idempotency key, e.g. new:story:12, changed:article:7:v3
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    payload: Mapped[JsonObject]
    created_at: Mapped[Timestamp]


class Delivery(Base):
    """One alert sent (or to be sent) to one subscription over one channel."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("key"),
        Index(None, "state", "next_attempt_at"),
        Index(None, "digest_key"),
        CheckConstraint(_in("state", DELIVERY_STATES), name="state"),
    )

    id: Mapped[IntPK]
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    subscription: Mapped[Name]
    channel: Mapped[Name]
    key: Mapped[str] = mapped_column(String(500))  # <alert key>|<subscription>|<channel>
    state: Mapped[Label]
    attempts: Mapped[int]
    next_attempt_at: Mapped[Timestamp | None]
    last_error: Mapped[LongText | None]
    sent_at: Mapped[Timestamp | None]
    created_at: Mapped[Timestamp]
    # The digest this delivery went out in, fixed when the digest is first claimed: every retry of
    # that digest carries the same deliveries under this idempotency key (None: not claimed yet).
    digest_key: Mapped[str | None] = mapped_column(String(64))


class NearDupBand(Base):
    """One LSH band hash of an article's MinHash signature: the near-duplicate index, on disk.

    Looked up by band hash (the primary key leads with it); the article_id index serves removing
    an article's bands when its text changes and pruning articles older than the dedupe window.
    """

    __tablename__ = "neardup_bands"
    __table_args__ = (Index(None, "article_id"), {"sqlite_with_rowid": False})

    band: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # 64-bit hash, signed
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), primary_key=True)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only kind of time storage accepts)."""
    return datetime.now(UTC)
