"""The near-duplicate index loads only articles first seen within the dedupe window."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from storage.repository import ingest_article, load_neardup_index
from tests.storage_builders import SOURCES, T0, make_article


def test_the_index_holds_only_articles_first_seen_within_the_window(session: Session) -> None:
    old = ingest_article(
        session,
        make_article("zhenping"),
        source=SOURCES["government"],
        fetched_url="http://a.gov.cn/1.html",
        now=T0,
    )
    recent = ingest_article(
        session,
        make_article("dongqu"),
        source=SOURCES["government"],
        fetched_url="http://a.gov.cn/2.html",
        now=T0 + timedelta(days=200),
    )
    session.commit()
    everything = load_neardup_index(session)
    windowed = load_neardup_index(session, since=T0 + timedelta(days=20))
    assert old.article_id in everything and recent.article_id in everything
    assert old.article_id not in windowed and recent.article_id in windowed
