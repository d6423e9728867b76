"""What each page of `countywatch serve` shows, shaped as plain dataclasses from storage's reads.

Templates get these records and nothing else. The queries themselves are storage.repository
functions (each bounded by a page size or by one article's story); this module names, groups and
paginates what they return.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from alerts.delivery import digest_folder
from alerts.digest import UNTITLED, summarize
from alerts.model import RegionGroup, group_by_region
from core.config import Config, Subscription
from storage.models import Delivery
from storage.repository import (
    ArticleFilter,
    StoredArticle,
    StoryRow,
    article_detail,
    first_seen_per_day,
    recent_deliveries,
    stored_articles,
    story_alerts,
    story_members,
    story_row,
)

# /sources shows these totals as storage counts them; re-exported for the pages' callers.
from storage.repository import article_counts as article_counts

DIGEST_KEY = re.compile(r"^[0-9a-f]{32}$")
CHART_WEEKS = 12


class BadRequest(ValueError):
    """A query parameter that cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class ArticleRow:
    """One article in a list: what the reader needs to decide whether to open it."""

    id: int
    title: str
    url: str
    source: str  # the site's own name, else the configured source name
    source_name: str
    region: str | None
    category: str | None
    categories: list[str]
    published_at: str | None
    first_seen: datetime
    status: str
    versions: int
    summary: str
    story_id: int


@dataclass(frozen=True, slots=True)
class ArticlePage:
    """One list of articles, grouped as digests group them, and the cursor of the next page."""

    rows: list[ArticleRow]
    groups: list[RegionGroup[ArticleRow]]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class VersionView:
    """One stored version of an article and its diff against the previous one."""

    version: int
    title: str
    seen_at: datetime
    diff: list[str]
    text: str


@dataclass(frozen=True, slots=True)
class Member:
    """One copy of a story."""

    id: int
    title: str
    url: str
    source: str
    source_name: str
    source_kind: str
    published_at: str | None
    first_seen: datetime
    status: str
    first: bool
    canonical: bool


@dataclass(frozen=True, slots=True)
class StoryView:
    """A story: its copies, who published first, and the alerts it raised."""

    id: int
    first_publisher: str | None
    earliest_published_at: str | None
    members: list[Member]
    alerts: list[tuple[str, datetime, str]]  # kind, created at, key


@dataclass(frozen=True, slots=True)
class ArticleView:
    """Everything /articles/{id} shows."""

    record: StoredArticle
    fetched_url: str
    last_checked: datetime
    withdrawn_at: datetime | None
    versions: list[VersionView]
    story: StoryView
    attachments: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class DeliveryGroup:
    """Deliveries of one digest to one channel (same channel, state and settle time)."""

    channel: str
    state: str
    alerts: int
    at: datetime | None
    attempts: int
    last_error: str | None
    digest: str | None  # the archived digest's key, when it was kept


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """A subscription: what it receives, and its recent digests."""

    subscription: Subscription
    receives: list[tuple[str, str]]
    deliveries: list[DeliveryGroup] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WeekChart:
    """Articles first seen per week per source, over the last CHART_WEEKS weeks."""

    weeks: list[date]  # Monday of each week, oldest first
    counts: dict[str, list[int]]  # source name -> count per week

    @property
    def peak(self) -> int:
        """The largest weekly count (at least 1, so bars can be scaled by it)."""
        return max((c for counts in self.counts.values() for c in counts), default=0) or 1


def encode_cursor(first_seen: datetime, article_id: int) -> str:
    """An opaque cursor for keyset pagination: where the next page starts."""
    raw = f"{first_seen.astimezone(UTC).isoformat()}|{article_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (first_seen, id) of a cursor; BadRequest when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        seen, article_id = raw.split("|")
        moment = datetime.fromisoformat(seen)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment, int(article_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(f"cursor {cursor[:40]!r} is not a cursor this server gave") from None


def parse_day(name: str, value: str | None) -> date | None:
    """A YYYY-MM-DD query parameter."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name}={value[:40]!r} is not a date (use YYYY-MM-DD)") from None


def _source_label(record: dict[str, Any], source_name: str) -> str:
    # Readers know a site by its own name (安康市教育体育局), as the digests show it.
    return str(record.get("site_name") or record.get("source") or source_name)


def _row(stored: StoredArticle, category: str | None) -> ArticleRow:
    record = stored.record
    categories = list(record.get("categories") or [])
    shown = category if category in categories else (categories[0] if categories else None)
    return ArticleRow(
        id=stored.id,
        title=record.get("title") or UNTITLED,
        url=record["url"],
        source=_source_label(record, stored.source_name),
        source_name=stored.source_name,
        region=record.get("region"),
        category=shown,
        categories=categories,
        published_at=record.get("published_at"),
        first_seen=stored.first_seen,
        status=stored.status,
        versions=stored.versions,
        summary=summarize(record.get("text") or ""),
        story_id=stored.story_id,
    )


def list_articles(
    session: Session, filters: ArticleFilter, page_size: int
) -> tuple[list[StoredArticle], str | None]:
    """One page of stored articles (newest first) and the cursor of the next page, if any."""
    rows = stored_articles(session, ArticleFilter(**{**_fields(filters), "limit": page_size + 1}))
    more = len(rows) > page_size
    rows = rows[:page_size]
    cursor = encode_cursor(rows[-1].first_seen, rows[-1].id) if more and rows else None
    return rows, cursor


def _fields(filters: ArticleFilter) -> dict[str, Any]:
    return {name: getattr(filters, name) for name in ArticleFilter.__dataclass_fields__}


def article_page(session: Session, filters: ArticleFilter, page_size: int) -> ArticlePage:
    """The latest articles matching the filters, grouped by region and category."""
    stored, cursor = list_articles(session, filters, page_size)
    rows = [_row(s, filters.category) for s in stored]
    return ArticlePage(rows, group_by_region(rows), cursor)


def _members(session: Session, story: StoryRow) -> list[Member]:
    return [
        Member(
            id=m.id,
            title=m.title or UNTITLED,
            url=m.url,
            source=m.site_name or m.publication or m.source_name,
            source_name=m.source_name,
            source_kind=m.source_kind,
            published_at=m.published_at,
            first_seen=m.first_seen,
            status=m.status,
            first=m.id == story.first_article_id,
            canonical=m.id == story.canonical_article_id,
        )
        for m in story_members(session, story.id)
    ]


def story_view(session: Session, story_id: int) -> StoryView | None:
    """The story with this id, or None."""
    story = story_row(session, story_id)
    if story is None:
        return None
    members = _members(session, story)
    first = next((m for m in members if m.first), None)
    alerts = story_alerts(session, story.id)
    return StoryView(
        id=story.id,
        # The first publisher by its own name when its page gives one, as the digests show it.
        first_publisher=first.source if first else story.first_publisher,
        earliest_published_at=story.earliest_published_at,
        members=members,
        alerts=[(a.kind, a.created_at, a.key) for a in alerts],
    )


def _diff_lines(diff: str) -> list[str]:
    return [line for line in diff.split("\n") if line.strip()]


def article_view(session: Session, article_id: int) -> ArticleView | None:
    """The article with this id, its versions and its story, or None."""
    detail = article_detail(session, article_id)
    if detail is None:
        return None
    story = story_view(session, detail.stored.story_id)
    assert story is not None  # articles.story_id is a foreign key
    return ArticleView(
        record=detail.stored,
        fetched_url=detail.fetched_url,
        last_checked=detail.last_checked,
        withdrawn_at=detail.withdrawn_at,
        versions=[
            VersionView(v.version, v.title or UNTITLED, v.seen_at, _diff_lines(v.diff), v.text)
            for v in detail.versions
        ],
        story=story,
        attachments=detail.attachments,
    )


def week_chart(session: Session, now: datetime, sources: list[str]) -> WeekChart:
    """Articles first seen per week (Monday to Sunday, UTC) per source, the last CHART_WEEKS weeks."""
    today = now.astimezone(UTC).date()
    weeks = [today - timedelta(days=today.weekday(), weeks=CHART_WEEKS - 1 - i) for i in range(CHART_WEEKS)]
    start = datetime.combine(weeks[0], datetime.min.time(), tzinfo=UTC)
    counts: dict[str, list[int]] = {name: [0] * CHART_WEEKS for name in sources}
    # Storage counts per UTC day in one grouped query; the days are summed into weeks here.
    for name, day, count in first_seen_per_day(session, start):
        week = (day - weeks[0]).days // 7
        if 0 <= week < CHART_WEEKS:  # a clock behind the database's newest row: not a future bar
            counts.setdefault(name, [0] * CHART_WEEKS)[week] += count
    return WeekChart(weeks, counts)


def receives(subscription: Subscription) -> list[tuple[str, str]]:
    """What the subscription receives, as (what, which) lines for people."""
    kinds = ["新公告"] + (["变更"] if subscription.include_changed else [])
    kinds += ["撤回"] if subscription.include_withdrawn else []
    kinds += ["站点状态与投递失败"] if subscription.operators else []
    lines = [("内容", "、".join(kinds)), ("主题", "、".join(subscription.topics) or "全部")]
    lines += [("类别", "、".join(subscription.categories) or "全部")]
    lines += [("地区", "、".join(subscription.regions) or "全部")]
    lines += [("来源", "、".join(subscription.sources) or "全部")]
    if subscription.keywords:
        lines.append(("关键词", "、".join(subscription.keywords)))
    lines += [("时间", subscription.schedule), ("渠道", "、".join(subscription.channels))]
    return lines


def _archived(config: Config) -> set[str]:
    folder = digest_folder(config)
    return {path.stem for path in folder.glob("*/*.html")} if folder.is_dir() else set()


def subscription_views(session: Session, config: Config, limit: int = 10) -> list[SubscriptionView]:
    """Each subscription with its latest digests (claimed, sent or failing) and pending alerts."""
    archived = _archived(config)
    views = []
    for sub in config.notify.subscriptions:
        rows = recent_deliveries(session, sub.name, limit=2000)
        # A digest is the deliveries its first claim fixed under one key (Delivery.digest_key);
        # deliveries not claimed yet wait for the next digest of their channel.
        groups: dict[tuple[str, str | None], list[Delivery]] = {}
        for d in rows:
            groups.setdefault((d.channel, d.digest_key), []).append(d)
        out = []
        for (channel, key), members in list(groups.items())[:limit]:
            states = {d.state for d in members}
            state = "sent" if states == {"sent"} else ("failed" if "failed" in states else "pending")
            sent = [d.sent_at for d in members if d.sent_at is not None]
            waiting = [d.next_attempt_at for d in members if d.next_attempt_at is not None]
            out.append(
                DeliveryGroup(
                    channel=channel,
                    state=state,
                    alerts=len(members),
                    at=max(sent) if state == "sent" and sent else min(waiting, default=None),
                    attempts=max(d.attempts for d in members),
                    last_error=next((d.last_error for d in members if d.last_error), None),
                    digest=key if key is not None and key in archived else None,
                )
            )
        views.append(SubscriptionView(sub, receives(sub), out))
    return views


def archived_digest(config: Config, key: str) -> Path | None:
    """The archived HTML digest with this key, or None (keys are 32 hex digits, nothing else)."""
    if not DIGEST_KEY.match(key):
        return None
    folder = digest_folder(config)
    if not folder.is_dir():
        return None
    return next(iter(sorted(folder.glob(f"*/{key}.html"))), None)
