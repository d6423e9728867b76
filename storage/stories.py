"""Stories as digests and the story page show them: who published one first, its copies, its alerts."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Alert, Article, Source, Story


@dataclass(frozen=True, slots=True)
class StoryRow:
    """A story as stored: its first publisher and which of its articles came first / is canonical."""

    id: int
    first_publisher: str | None
    earliest_published_at: str | None
    first_article_id: int | None
    canonical_article_id: int | None


@dataclass(frozen=True, slots=True)
class StoryMember:
    """One stored copy of a story, with the source it came from."""

    id: int
    title: str | None
    url: str
    site_name: str | None  # the name the page gives its site
    publication: str | None  # the 来源 the page names
    source_name: str  # the configured source
    source_kind: str
    published_at: str | None
    first_seen: datetime
    status: str


@dataclass(frozen=True, slots=True)
class StoryAlert:
    """One alert a story raised."""

    kind: str
    created_at: datetime
    key: str


def story_summaries(session: Session, story_ids: Collection[int]) -> dict[int, tuple[str | None, int]]:
    """story id -> (first publisher, number of articles in the story)."""
    if not story_ids:
        return {}
    sizes = dict(
        session.execute(
            select(Article.story_id, func.count(Article.id))
            .where(Article.story_id.in_(story_ids))
            .group_by(Article.story_id)
        ).all()
    )
    # The first publisher is shown by the name its site gives itself (安康市教育体育局) when the
    # first article has one; the configured source name (ankang_jyj) is the fallback.
    query = (
        select(Story.id, Story.first_publisher, Article.site_name)
        .outerjoin(Article, Article.id == Story.first_article_id)
        .where(Story.id.in_(story_ids))
    )
    publishers = {sid: site or name for sid, name, site in session.execute(query).all()}
    return {sid: (publishers.get(sid), sizes.get(sid, 1)) for sid in story_ids}


def story_row(session: Session, story_id: int) -> StoryRow | None:
    """The story with this id, or None."""
    story = session.get(Story, story_id)
    if story is None:
        return None
    return StoryRow(
        story.id,
        story.first_publisher,
        story.earliest_published_at,
        story.first_article_id,
        story.canonical_article_id,
    )


def story_members(session: Session, story_id: int) -> list[StoryMember]:
    """The story's copies, earliest published first (undated ones last, then by first seen)."""
    query = (
        select(Article, Source.name, Source.kind)
        .join(Source, Source.id == Article.source_id)
        .where(Article.story_id == story_id)
        .order_by(Article.published_at.is_(None), Article.published_at, Article.first_seen, Article.id)
    )
    return [
        StoryMember(
            id=a.id,
            title=a.title,
            url=a.url,
            site_name=a.site_name,
            publication=a.publication,
            source_name=name,
            source_kind=kind,
            published_at=a.published_at,
            first_seen=a.first_seen,
            status=a.status,
        )
        for a, name, kind in session.execute(query)
    ]


def story_alerts(session: Session, story_id: int) -> list[StoryAlert]:
    """The alerts the story raised, oldest first."""
    rows = session.execute(
        select(Alert.kind, Alert.created_at, Alert.key)
        .where(Alert.story_id == story_id)
        .order_by(Alert.created_at, Alert.id)
    )
    return [StoryAlert(kind, at, key) for kind, at, key in rows]
