"""Stories as digests show them: who published one first, and how many articles it gathers."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Article, Story


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
