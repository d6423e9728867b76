"""What the incremental crawl needs from storage: known pages, re-check times, pages that are gone."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from core.urls import canonicalize_url
from storage.models import Article, ArticleAttachment, Source, utcnow
from storage.outbox import add_alert
from storage.rules import RecheckPolicy, is_recent, next_check

# The status a crawler passes when the page answered 200 but now shows a "this item was deleted"
# notice (信息已删除 / 该信息不存在) instead of the article: the page is withdrawn at once.
DELETED_NOTICE = 0
GONE_STATUSES = (404, 410)
# Consecutive 404/410 answers after which an article counts as withdrawn (one may be a hiccup).
GONE_CHECKS = 2


@dataclass(frozen=True, slots=True)
class KnownAttachment:
    """A fetched attachment of a stored article, with the validators of its last answer."""

    url: str
    title: str | None
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class KnownPage:
    """A stored page, as the incremental crawl sees it."""

    url: str
    first_seen: datetime
    last_checked: datetime
    next_check_at: datetime | None  # None: too old to be re-checked
    content_hash: str
    status: str
    gone_count: int
    etag: str | None = None
    last_modified: str | None = None
    published_at: str | None = None  # as stored: ISO 8601, or the list page's date
    attachments: tuple[KnownAttachment, ...] = ()

    def due(self, now: datetime) -> bool:
        """Whether the page should be fetched again now (its decaying re-check schedule)."""
        return self.next_check_at is not None and self.next_check_at <= now

    def revalidatable(self) -> bool:
        """Whether a conditional GET can ask for it: the site sent validators and it is not withdrawn."""
        return self.status == "active" and bool(self.etag or self.last_modified)

    def recent(self, now: datetime, window: timedelta) -> bool:
        """Whether it is recent (storage.rules.is_recent): asked every cycle when revalidatable."""
        return is_recent(self.first_seen, self.published_at, now, window)


@dataclass(frozen=True, slots=True)
class GoneResult:
    """What a 404/410 or a deleted notice did."""

    found: bool  # the URL is a stored article
    article_id: int | None = None
    gone_count: int = 0
    withdrawn: bool = False  # the article is withdrawn now
    alert_id: int | None = None  # the withdrawn alert raised by this call
    newly_withdrawn: bool = False  # this call withdrew it (it was active before)


# Source names per query of `known_pages_of`: well under every database's limit of bound parameters.
KNOWN_CHUNK = 500


def known_pages(session: Session, source_name: str) -> dict[str, KnownPage]:
    """Canonical URL -> KnownPage for every stored article of the source."""
    return known_pages_of(session, [source_name])[source_name]


def known_pages_of(session: Session, source_names: Sequence[str]) -> dict[str, dict[str, KnownPage]]:
    """`known_pages` of several sources at once: two queries per KNOWN_CHUNK sources, not two per source.

    A batch crawl reads what it knows of hundreds of sources before it starts; one round trip per
    source was a fixed cost of every cycle, changed or not.
    """
    known: dict[str, dict[str, KnownPage]] = {name: {} for name in source_names}
    names = list(known)
    for start in range(0, len(names), KNOWN_CHUNK):
        chunk = names[start : start + KNOWN_CHUNK]
        for name, url, page in _known_rows(session, chunk):
            known[name][url] = page
    return known


def _known_rows(session: Session, names: Sequence[str]) -> Iterator[tuple[str, str, KnownPage]]:
    attachments: dict[int, list[KnownAttachment]] = {}
    linked = (
        select(
            ArticleAttachment.article_id,
            ArticleAttachment.url,
            ArticleAttachment.title,
            ArticleAttachment.etag,
            ArticleAttachment.last_modified,
        )
        .join(Article, Article.id == ArticleAttachment.article_id)
        .join(Source, Source.id == Article.source_id)
        .where(Source.name.in_(names), ArticleAttachment.sha256.is_not(None))
        .order_by(ArticleAttachment.id)
    )
    for link in session.execute(linked):
        attachments.setdefault(link.article_id, []).append(KnownAttachment(*link[1:]))
    stmt = (
        select(
            Source.name.label("source_name"),
            Article.id,
            Article.url,
            Article.first_seen,
            Article.last_checked,
            Article.next_check_at,
            Article.content_hash,
            Article.status,
            Article.gone_count,
            Article.etag,
            Article.last_modified,
            Article.published_at,
            Article.list_date,
        )
        .join(Source, Source.id == Article.source_id)
        .where(Source.name.in_(names))
    )
    for row in session.execute(stmt):
        page = KnownPage(
            url=row.url,
            first_seen=row.first_seen,
            last_checked=row.last_checked,
            next_check_at=row.next_check_at,
            content_hash=row.content_hash,
            status=row.status,
            gone_count=row.gone_count,
            etag=row.etag,
            last_modified=row.last_modified,
            published_at=row.published_at or row.list_date,
            attachments=tuple(attachments.get(row.id, ())),
        )
        yield row.source_name, row.url, page


def mark_early_checked(session: Session, urls: Sequence[str], *, now: datetime) -> int:
    """Record that early re-checks of these stored articles (canonical URLs) found them unchanged.

    Only `last_checked` moves: the decaying schedule (`next_check_at`) and everything else stay as
    they were. A recent article is not asked early again until its last check is
    `crawl.recheck_recent_every` old. One UPDATE per KNOWN_CHUNK URLs; returns the rows updated.
    """
    updated = 0
    for start in range(0, len(urls), KNOWN_CHUNK):
        chunk = list(urls[start : start + KNOWN_CHUNK])
        stmt = (
            update(Article)
            .where(Article.url.in_(chunk), Article.status == "active")
            .values(last_checked=now)
            .execution_options(synchronize_session=False)
        )
        result = session.execute(stmt)
        updated += result.rowcount if isinstance(result, CursorResult) else 0
    return updated


def _article(session: Session, url: str, mobile_hosts: Mapping[str, str] | None) -> Article | None:
    canonical = canonicalize_url(url, mobile_hosts=mobile_hosts)
    return session.scalar(select(Article).where(Article.url == canonical))


def mark_checked(
    session: Session,
    url: str,
    *,
    recheck: RecheckPolicy | None = None,
    mobile_hosts: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> bool:
    """Record a fetch that found the page unchanged (e.g. 304): re-schedule it, clear gone counts.

    Returns False when the URL is not a stored article.
    """
    row = _article(session, url, mobile_hosts)
    if row is None:
        return False
    seen_again(row, recheck or RecheckPolicy(), now or utcnow())
    session.flush()
    return True


def record_gone(
    session: Session,
    url: str,
    *,
    status: int,
    recheck: RecheckPolicy | None = None,
    mobile_hosts: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> GoneResult:
    """Record a 404/410 (`status`) or a deleted notice (`DELETED_NOTICE`) for a stored page.

    The second consecutive 404/410, or one deleted notice, withdraws the article; an article that
    may alert then raises its one "withdrawn" alert. A later successful fetch reactivates it.
    """
    if status != DELETED_NOTICE and status not in GONE_STATUSES:
        raise ValueError(f"status {status} does not mean gone (use 404, 410 or DELETED_NOTICE)")
    row = _article(session, url, mobile_hosts)
    if row is None:
        return GoneResult(found=False)
    now = now or utcnow()
    row.gone_count += 1
    row.last_checked = now
    row.next_check_at = next_check(row.first_seen, now, recheck or RecheckPolicy())
    alert_id: int | None = None
    newly = row.status == "active" and (status == DELETED_NOTICE or row.gone_count >= GONE_CHECKS)
    if newly:
        row.status = "withdrawn"
        row.withdrawn_at = now
        if row.alertable:
            source = session.get(Source, row.source_id)
            assert source is not None
            payload = {"title": row.title, "url": row.url, "source": source.name, "status": status}
            new_id, created = add_alert(
                session,
                kind="withdrawn",
                key=f"withdrawn:article:{row.id}",
                payload=payload,
                article_id=row.id,
                story_id=row.story_id,
                source_id=row.source_id,
                now=now,
            )
            alert_id = new_id if created else None
    session.flush()
    return GoneResult(True, row.id, row.gone_count, row.status == "withdrawn", alert_id, newly)


def seen_again(row: Article, policy: RecheckPolicy, now: datetime) -> None:
    """A successful fetch: the page is there, so it is not gone (and no longer withdrawn)."""
    row.last_seen = row.last_checked = now
    row.gone_count = 0
    if row.status == "withdrawn":
        row.status = "active"
        row.withdrawn_at = None
    row.next_check_at = next_check(row.first_seen, now, policy)
