"""Storing extracted articles: new pages, reprints, changes, withdrawals and the re-check schedule.

Functions flush but never commit: the caller owns the transaction. Nothing per-article is kept in
Python between calls except what the near-duplicate index holds (ids and signatures).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, is_dataclass, replace
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any, Literal, Protocol, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.config import Topic, default_topics
from core.urls import canonicalize_url
from crawler.article import Article as Record
from crawler.article import Attachment
from crawler.dedupe.fingerprint import (
    MinHashSignature,
    minhash_of_hashes,
    normalize_text,
    normalized_codes,
    shingle_hashes,
    shingle_set,
)
from storage.attachments import store_attachments
from storage.changes import TextChange, text_change
from storage.db import insert_row
from storage.errors import NotAnArticle
from storage.models import Article, ArticleVersion, Source, Story, utcnow
from storage.neardup import (
    CANDIDATE_THRESHOLD,
    MAX_CONTAINMENT_CANDIDATES,
    DupIndex,
    ShingledText,
    contained_copy,
)
from storage.outbox import add_alert, insert_alert
from storage.recheck import seen_again
from storage.rules import RecheckPolicy, SourceRef, kind_rank, may_alert, next_check
from storage.search import index_article, search_document
from storage.source_rows import source_row

Outcome = Literal["new", "duplicate", "changed", "unchanged"]
# Article.to_json keys kept in their own columns; the rest go to Article.extra.
_COLUMNS = (
    "title",
    "text",
    "published_at",
    "authors",
    "source",
    "editor",
    "site_name",
    "region",
    "topics",
    "categories",
    "flags",
    "simhash",
    "language",
    "url",
)

# A new article's rows are written with Core statements, built once: nothing reads them back as
# ORM objects in the transaction, and the unit of work cost more than the statements themselves.
_STORIES = cast(Table, Story.__table__)
_INSERT_ARTICLE = insert(cast(Table, Article.__table__))
_INSERT_VERSION = insert(cast(Table, ArticleVersion.__table__))
_INSERT_STORY = insert(_STORIES)
_POINT_NEW_STORY = (
    update(_STORIES)
    .where(_STORIES.c.id == bindparam("story"))
    .values(
        canonical_article_id=bindparam("article"),
        first_article_id=bindparam("article"),
        new_alert_id=bindparam("alert"),
    )
)
_ARTICLE_BY_URL = select(Article).where(Article.url == bindparam("url"))
_STORY_BY_CONTENT = (
    select(Article.story_id).where(Article.content_hash == bindparam("digest")).order_by(Article.id).limit(1)
)
_STORY_OF_ARTICLE = select(Article.story_id).where(Article.id == bindparam("id"))
_CANDIDATE_TEXTS = select(Article.id, Article.story_id, Article.title, Article.text).where(
    Article.id.in_(bindparam("ids", expanding=True))
)
# Shingle sets of stored texts kept for the containment check (about 10 KB each for a notice).
STORED_SHINGLES_KEPT = 256
# Estimated Jaccard above which a truncated copy joins a story (the index's default is 0.7).
TRUNCATED_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class Validators:
    """What a full answer said to revalidate it with: its ETag and Last-Modified headers."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What storing one page did."""

    outcome: Outcome
    article_id: int
    story_id: int
    alert_ids: tuple[int, ...] = ()
    version: int = 1


class _Member(Protocol):
    """A story member as _update_story sees it (an Article, or a row of the members query)."""

    @property
    def id(self) -> int: ...

    @property
    def published_at(self) -> str | None: ...


class _Announced(_Member, Protocol):
    """What the story's "new" alert tells of the member raising it (an Article, or a _NewRow)."""

    @property
    def title(self) -> str | None: ...

    @property
    def url(self) -> str: ...

    @property
    def region(self) -> str | None: ...

    @property
    def categories(self) -> list[str]: ...

    @property
    def alertable(self) -> bool: ...

    @property
    def status(self) -> str: ...


@dataclass(frozen=True, slots=True)
class _NewRow:
    """What _add_new keeps of the article row it inserted (there is no ORM object for it)."""

    id: int
    title: str | None
    url: str
    published_at: str | None
    region: str | None
    categories: list[str]
    alertable: bool
    status: str = "active"


@dataclass(frozen=True, slots=True)
class _Page:
    """What is computed once per stored page."""

    prints: Fingerprints  # of the record's text
    url: str  # canonical
    fetched_url: str
    list_date: str | None
    digest: str  # content hash of the text
    alertable: bool
    validators: Validators | None
    attachment_texts: Mapping[str, str]  # SHA-256 -> text of the attachments fetched with the page
    attachment_validators: Mapping[str, tuple[str | None, str | None]]  # URL -> (ETag, Last-Modified)


def ingest_article(
    session: Session,
    article: Record,
    *,
    source: SourceRef,
    fetched_url: str,
    list_date: str | None = None,
    index: DupIndex | None = None,
    topics: Mapping[str, Topic] | None = None,
    recheck: RecheckPolicy | None = None,
    validators: Validators | None = None,
    attachment_texts: Mapping[str, str] | None = None,
    attachment_validators: Mapping[str, tuple[str | None, str | None]] | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Store one extracted page: new, a duplicate of a known story, changed, or unchanged.

    `topics` holds the alert rules (default: the built-in topics); `index` finds near-duplicates
    (without it only exact duplicates join a story); `validators` are the answer's ETag and
    Last-Modified, kept for conditional re-checks; `attachment_texts` the text of each fetched
    attachment by SHA-256 (the record's attachments say which were fetched). Raises NotAnArticle for
    a record without a body.
    """
    if article.page_kind != "article" or "not_article" in article.flags or not article.text.strip():
        raise NotAnArticle(f"{fetched_url}: not an article page ({article.page_kind}); nothing stored")
    if article.region is None and source.region:
        # A county bureau's notice often names no place: the source's configured region stands in.
        article = replace(article, region=source.region)
    now = now or utcnow()
    policy = recheck or RecheckPolicy()
    rules = topics or default_topics()
    prints = fingerprints(article.text)
    page = _Page(
        prints=prints,
        url=canonicalize_url(fetched_url, mobile_hosts=source.mobile_hosts),
        fetched_url=fetched_url,
        list_date=list_date,
        digest=prints.digest,
        alertable=may_alert(source.kind, article.topics, article.categories, article.flags, rules),
        validators=validators,
        attachment_texts=attachment_texts or {},
        attachment_validators=attachment_validators or {},
    )
    src = source_row(session, source, now)
    row = session.scalar(_ARTICLE_BY_URL, {"url": page.url})
    if row is None:
        try:
            with session.begin_nested():
                return _add_new(session, article, page, src, index, policy, now)
        except IntegrityError:
            # Another worker stored this URL first; treat ours as a re-check of theirs.
            row = session.scalars(select(Article).where(Article.url == page.url)).one()
    return _revisit(session, row, article, page, src, index, policy, now)


def _extra(article: Record) -> dict[str, Any]:
    """The record's keys that have no column of their own, as JSON values."""
    out: dict[str, Any] = {}
    for f in fields(article):
        if f.name in _COLUMNS:
            continue
        value = getattr(article, f.name)
        if isinstance(value, list):
            value = [asdict(v) if is_dataclass(v) and not isinstance(v, type) else v for v in value]
        out[f.name] = value
    return out


def _record_columns(article: Record, page: _Page) -> dict[str, Any]:
    """The article columns that follow the record's current text (list_date aside)."""
    return {
        "fetched_url": page.fetched_url,
        "title": article.title,
        "text": article.text,
        "published_at": article.published_at,
        "authors": list(article.authors),
        "publication": article.source,
        "editor": article.editor,
        "site_name": article.site_name,
        "region": article.region,
        "topics": list(article.topics),
        "categories": list(article.categories),
        "flags": list(article.flags),
        "simhash": article.simhash,
        "language": article.language,
        "extra": _extra(article),
        "content_hash": page.digest,
        "alertable": page.alertable,
    }


def _fill(row: Article, article: Record, page: _Page) -> None:
    for name, value in _record_columns(article, page).items():
        setattr(row, name, value)
    row.list_date = page.list_date or row.list_date


class Fingerprints:
    """The content hash, MinHash signature and shingle set of one text, normalised once for all three.

    Each used to normalise the text on its own; in the crawl's writer thread that was a third of
    the CPU of fingerprinting, paid for every stored page.
    """

    def __init__(self, text: str) -> None:
        self.codes = normalized_codes(text)
        self._hashes: npt.NDArray[np.uint64] | None = None
        self._signature: MinHashSignature | None = None
        self._shingles: npt.NDArray[np.uint64] | None = None

    def _shingle_hashes(self) -> npt.NDArray[np.uint64]:
        if self._hashes is None:
            self._hashes = shingle_hashes(self.codes)
        return self._hashes

    @cached_property
    def digest(self) -> str:
        """As `content_hash(text)`."""
        return hashlib.sha256(self.codes.tobytes().decode("utf-32-le").encode("utf-8")).hexdigest()

    def signature(self) -> MinHashSignature | None:
        """As `minhash_signature(text)`, None for a text without letters or digits."""
        if self._signature is None:
            self._signature = minhash_of_hashes(self._shingle_hashes())
        return None if self._signature.empty else self._signature

    def shingles(self) -> npt.NDArray[np.uint64]:
        """As `shingle_set(text)` (computed once; do not modify it)."""
        if self._shingles is None:
            self._shingles = np.unique(self._shingle_hashes())
        return self._shingles


@lru_cache(maxsize=128)
def fingerprints(text: str) -> Fingerprints:
    """The Fingerprints of a text, kept for the last few texts: a distributed write batch (up to 64
    items) takes its articles' locks from them (storage/article_locks.py) just before it stores them."""
    return Fingerprints(text)


def _add_new(
    session: Session,
    article: Record,
    page: _Page,
    src: Source,
    index: DupIndex | None,
    policy: RecheckPolicy,
    now: datetime,
) -> IngestResult:
    connection = session.connection()
    sig = page.prints.signature()
    story_id = connection.scalar(_STORY_BY_CONTENT, {"digest": page.digest})
    if story_id is None and index is not None and sig is not None:
        # A truncated copy shares only part of the story's shingles (Jaccard 0.5-0.7 measured on the
        # labelled set), so it is matched at a lower threshold.
        threshold = TRUNCATED_THRESHOLD if "truncated" in article.flags else index.threshold
        # One query at the lowest threshold serves both checks (best first, so the near-duplicates
        # are its head): on the database index that is one round trip, not two.
        matches = index.query(sig, min(threshold, CANDIDATE_THRESHOLD))
        story_id = _near_duplicate_story(session, [m for m in matches if m[1] >= threshold])
        if story_id is None:
            story_id = _containing_story(connection, matches, article.title, page.prints)
    outcome: Outcome = "new" if story_id is None else "duplicate"
    # FOR UPDATE: a copy joining the story at the same moment re-points it after this one commits.
    story = (
        session.get(Story, story_id, with_for_update=True, populate_existing=True)
        if story_id is not None
        else None
    )
    if story is None:
        # The story's only member is this article: it is its canonical and first member, and its
        # first publisher. The article ids are set once the article row exists (below).
        stored_in = insert_row(
            connection,
            _INSERT_STORY,
            {"created_at": now, "first_publisher": src.name, "earliest_published_at": article.published_at},
        )
    else:
        stored_in = story.id
    values = _record_columns(article, page)
    values.update(
        url=page.url,
        source_id=src.id,
        story_id=stored_in,
        list_date=page.list_date,
        signature=sig.to_bytes() if sig is not None else None,
        status="active",
        gone_count=0,
        version=1,
        first_seen=now,
        last_seen=now,
        last_checked=now,
        last_changed=now,
        next_check_at=next_check(now, now, policy),
        withdrawn_at=None,
        etag=page.validators.etag if page.validators is not None else None,
        last_modified=page.validators.last_modified if page.validators is not None else None,
    )
    article_id = insert_row(connection, _INSERT_ARTICLE, values)
    connection.execute(
        _INSERT_VERSION,
        {
            "article_id": article_id,
            "version": 1,
            "title": article.title,
            "text": article.text,
            "content_hash": page.digest,
            "diff": "",
            "seen_at": now,
        },
    )
    index_article(session, article_id, search_document(article.title, article.text), new=True)
    if article.attachments:
        # The attachments rewrite the stored record's list, through the ORM row.
        row = session.get(Article, article_id)
        assert row is not None
        store_attachments(
            session,
            row,
            article.attachments,
            page.attachment_texts,
            now,
            validators=page.attachment_validators,
        )
    if index is not None and sig is not None:
        index.add(article_id, sig)
    new = _NewRow(
        id=article_id,
        title=article.title,
        url=page.url,
        published_at=article.published_at,
        region=article.region,
        categories=values["categories"],
        alertable=page.alertable,
    )
    if story is None:
        alert_id = _announce_new_story(connection, stored_in, new, src, now)
        connection.execute(_POINT_NEW_STORY, {"story": stored_in, "article": article_id, "alert": alert_id})
        return IngestResult(outcome, article_id, stored_in, (alert_id,) if alert_id is not None else ())
    _update_story(session, story)
    alert_ids = _announce(session, story, new, src, now)
    return IngestResult(outcome, article_id, story.id, alert_ids)


def _near_duplicate_story(session: Session, matches: list[tuple[int, float]]) -> int | None:
    # Best match first; ids of rows rolled back after they were indexed are simply not found.
    connection = session.connection()
    for doc_id, _score in sorted(matches, key=lambda m: (-m[1], m[0])):
        story_id: int | None = connection.scalar(_STORY_OF_ARTICLE, {"id": doc_id})
        if story_id is not None:
            return story_id
    return None


@lru_cache(maxsize=STORED_SHINGLES_KEPT)
def _stored_shingles(text: str) -> npt.NDArray[np.uint64]:
    """The shingle set of a stored text read as a containment candidate, kept for the next pages.

    A story's original is the candidate of each of its copies as they arrive; shingling its text
    again for each was most of the cost of the containment check. Keyed by the text itself, so a
    text that changed is shingled anew.
    """
    return shingle_set(text)


def _containing_story(
    connection: Connection, matches: list[tuple[int, float]], title: str | None, prints: Fingerprints
) -> int | None:
    """The story of a candidate this page is mostly contained in, or that is mostly contained in it."""
    candidates = [m for m in matches if m[1] >= CANDIDATE_THRESHOLD][:MAX_CONTAINMENT_CANDIDATES]
    if not candidates:
        return None
    rows = {
        row.id: row
        for row in connection.execute(_CANDIDATE_TEXTS, {"ids": [doc_id for doc_id, _ in candidates]})
    }
    page = ShingledText(title, prints.shingles())
    for doc_id, _score in candidates:
        row = rows.get(doc_id)
        if row is not None and contained_copy(page, ShingledText(row.title, _stored_shingles(row.text))):
            return int(row.story_id)
    return None


def _version(row: Article, number: int, diff: str, now: datetime) -> ArticleVersion:
    return ArticleVersion(
        article_id=row.id,
        version=number,
        title=row.title,
        text=row.text,
        content_hash=row.content_hash,
        diff=diff,
        seen_at=now,
    )


def _keep_validators(row: Article, page: _Page) -> None:
    if page.validators is not None:
        row.etag = page.validators.etag
        row.last_modified = page.validators.last_modified


def _revisit(
    session: Session,
    row: Article,
    article: Record,
    page: _Page,
    src: Source,
    index: DupIndex | None,
    policy: RecheckPolicy,
    now: datetime,
) -> IngestResult:
    seen_again(row, policy, now)
    _keep_validators(row, page)
    change: TextChange | None = None
    if page.digest != row.content_hash or normalize_text(article.title or "") != normalize_text(
        row.title or ""
    ):
        change = text_change(row.title, row.text, article.title, article.text)
    was_alertable = row.alertable
    if change is not None:
        _fill(row, article, page)
        sig = page.prints.signature()
        row.signature = sig.to_bytes() if sig is not None else None
        if index is not None:
            index.remove(row.id)
            if sig is not None:
                index.add(row.id, sig)
    replaced = store_attachments(
        session, row, article.attachments, page.attachment_texts, now, validators=page.attachment_validators
    )
    if replaced:
        # A file replaced under the same link is a change even when the page reads the same.
        change = (
            TextChange(row.title, row.title, tuple(replaced))
            if change is None
            else replace(change, lines=change.lines + tuple(replaced))
        )
    if change is None:
        return IngestResult("unchanged", row.id, row.story_id, (), row.version)
    alert_ids = _new_version(session, row, src, change, was_alertable or page.alertable, now)
    return IngestResult("changed", row.id, row.story_id, tuple(alert_ids), row.version)


def _new_version(
    session: Session, row: Article, src: Source, change: TextChange, alertable: bool, now: datetime
) -> list[int]:
    """Number a new version with its diff; raise the "changed" alert and re-point the story."""
    row.version += 1
    row.last_changed = now
    session.add(_version(row, row.version, change.as_text(), now))
    index_article(session, row.id, search_document(row.title, row.text))
    alert_ids: list[int] = []
    if alertable:
        payload = {
            "title": row.title,
            "url": row.url,
            "source": src.name,
            "version": row.version,
            "added": change.added,
            "removed": change.removed,
            "diff": change.short(),
        }
        alert_id, created = add_alert(
            session,
            kind="changed",
            key=f"changed:article:{row.id}:v{row.version}",
            payload=payload,
            article_id=row.id,
            story_id=row.story_id,
            source_id=src.id,
            now=now,
        )
        if created:
            alert_ids.append(alert_id)
    story = session.get(Story, row.story_id, with_for_update=True, populate_existing=True)
    assert story is not None
    _update_story(session, story)
    alert_ids.extend(_announce(session, story, row, src, now))
    return alert_ids


def recheck_attachment(
    session: Session,
    article_url: str,
    attachment: Attachment,
    text: str,
    *,
    validators: tuple[str | None, str | None] = (None, None),
    mobile_hosts: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> IngestResult | None:
    """A stored article's attachment fetched again on its own: "changed" when the file was replaced.

    None when the article is not stored (any more).
    """
    row = session.scalar(
        select(Article).where(Article.url == canonicalize_url(article_url, mobile_hosts=mobile_hosts))
    )
    if row is None:
        return None
    now = now or utcnow()
    texts = {attachment.sha256: text} if attachment.sha256 else {}
    links = [replace(a, flags=list(a.flags)) for a in _record_attachments(row)]
    merged = [attachment if a.url == attachment.url else a for a in links]
    if attachment.url not in {a.url for a in links}:
        merged.append(attachment)
    replaced = store_attachments(session, row, merged, texts, now, validators={attachment.url: validators})
    if not replaced:
        return IngestResult("unchanged", row.id, row.story_id, (), row.version)
    src = session.get(Source, row.source_id)
    assert src is not None
    change = TextChange(row.title, row.title, tuple(replaced))
    alert_ids = _new_version(session, row, src, change, row.alertable, now)
    return IngestResult("changed", row.id, row.story_id, tuple(alert_ids), row.version)


def _record_attachments(row: Article) -> list[Attachment]:
    """The attachments of a stored article's record, as Attachment values."""
    out = []
    for item in row.extra.get("attachments") or []:
        if isinstance(item, dict) and item.get("url"):
            out.append(
                Attachment(
                    title=str(item.get("title") or ""),
                    url=str(item["url"]),
                    sha256=item.get("sha256"),
                    bytes=item.get("bytes"),
                    text_chars=item.get("text_chars"),
                    flags=list(item.get("flags") or []),
                    error=item.get("error"),
                )
            )
    return out


def _update_story(session: Session, story: Story) -> None:
    """Point the story at its most official member and at its first publisher."""
    members = session.execute(
        select(Article.id, Article.published_at, Article.first_seen, Source.name, Source.kind)
        .join(Source, Source.id == Article.source_id)
        .where(Article.story_id == story.id)
    ).all()
    if not members:
        return
    canonical = min(members, key=lambda m: (kind_rank(m.kind), m.published_at or "9999", m.first_seen, m.id))
    first = min(members, key=lambda m: (m.published_at is None, m.published_at or "", m.first_seen, m.id))
    _set_story_members(story, canonical=canonical, first=first, first_publisher=first.name)


def _set_story_members(story: Story, *, canonical: _Member, first: _Member, first_publisher: str) -> None:
    story.canonical_article_id = canonical.id
    story.first_article_id = first.id
    story.first_publisher = first_publisher
    story.earliest_published_at = first.published_at


def _new_alert_payload(row: _Announced, src: Source) -> dict[str, Any]:
    return {
        "title": row.title,
        "url": row.url,
        "source": src.name,
        "source_kind": src.kind,
        "published_at": row.published_at,
        "region": row.region,
        "categories": list(row.categories),
    }


def _announce(session: Session, story: Story, row: _Announced, src: Source, now: datetime) -> tuple[int, ...]:
    """Raise the story's one "new" alert when this member is the first that may raise it."""
    if story.new_alert_id is not None or not row.alertable or row.status != "active":
        return ()
    alert_id, created = add_alert(
        session,
        kind="new",
        key=f"new:story:{story.id}",
        payload=_new_alert_payload(row, src),
        article_id=row.id,
        story_id=story.id,
        source_id=src.id,
        now=now,
    )
    story.new_alert_id = alert_id
    return (alert_id,) if created else ()


def _announce_new_story(
    connection: Connection, story_id: int, row: _NewRow, src: Source, now: datetime
) -> int | None:
    """The "new" alert of a story this transaction has just created, when its first member may raise it.

    No savepoint guards the alert key here, as add_alert's does: no other row can hold the key of a
    story created in this transaction. On PostgreSQL the story's id comes from a sequence, which
    never hands an id out twice, and no other transaction sees the uncommitted story to alert on it;
    on SQLite there is one writer, and story rows are never deleted, so an id used again is one whose
    story was rolled back, and its alert with it (the same savepoint or transaction held both).
    """
    if not row.alertable:
        return None
    return insert_alert(
        connection,
        kind="new",
        key=f"new:story:{story_id}",
        payload=_new_alert_payload(row, src),
        article_id=row.id,
        story_id=story_id,
        source_id=src.id,
        now=now,
    )
