"""Stories and "new" alerts: one alert per story, only from a copy that may speak for it.

Cases are data: tests/fixtures/storage/alert_rules.yaml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import Topic, default_topics
from storage.models import Alert, Article, Source, Story
from storage.neardup import NearDupIndex
from storage.repository import ingest_article
from tests.storage_builders import SOURCES, make_article, paragraphs

CASES = yaml.safe_load((Path(__file__).parent / "fixtures/storage/alert_rules.yaml").read_text("utf-8"))


def _topics(overrides: dict[str, dict[str, Any]] | None) -> dict[str, Topic]:
    topics = dict(default_topics())
    for name, changes in (overrides or {}).items():
        topics[name] = topics[name].model_copy(update=changes)
    return topics


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_alert_rules(session: Session, case: dict[str, Any]) -> None:
    index = NearDupIndex()
    topics = _topics(case.get("topics"))
    results = []
    for step in case["steps"]:
        paras = paragraphs(step["text"])
        if "keep_fraction" in step:
            # A paywalled copy: the first part of the text, cut mid-paragraph.
            text = "\n".join(paras)
            paras = text[: int(len(text) * step["keep_fraction"])].split("\n")
        if "lead" in step:
            paras = [step["lead"] + paras[0], *paras[1:]]
        article = make_article(
            step["text"],
            paras=paras[:-1] if step.get("drop_last") else paras,
            flags=step.get("flags", ()),
            categories=step.get("categories", ("会议",)),
            published_at=step.get("published_at"),
        )
        source = SOURCES[step["source"]]
        results.append(
            ingest_article(
                session, article, source=source, fetched_url=step["url"], index=index, topics=topics
            )
        )
        session.commit()
    expect = case["expect"]
    assert [r.outcome for r in results] == expect["outcomes"]
    assert session.scalar(select(func.count()).select_from(Story)) == expect["stories"]
    alerts = list(session.scalars(select(Alert).where(Alert.kind == "new").order_by(Alert.id)))
    assert len(alerts) == expect["new_alerts"]
    assert [a.id for r in results for a in alerts if a.id in r.alert_ids] == [a.id for a in alerts]
    if "alert_step" in expect:
        assert alerts[0].article_id == results[expect["alert_step"]].article_id
        assert alerts[0].key == f"new:story:{alerts[0].story_id}"
    story = session.get(Story, results[0].story_id)
    assert story is not None
    if "canonical_step" in expect:
        assert story.canonical_article_id == results[expect["canonical_step"]].article_id
    if "first_step" in expect:
        assert story.first_article_id == results[expect["first_step"]].article_id
        assert story.first_publisher == expect["first_publisher"]
        assert story.earliest_published_at == expect["earliest_published_at"]


class _Undone(Exception):
    """Raised inside a savepoint to roll back what it stored, as the crawl's writer does."""


def test_a_source_created_in_a_rolled_back_savepoint_is_created_again(session: Session) -> None:
    # One transaction, a savepoint per article: the first article of a new source is rolled back,
    # taking the source's row with it; the next article of that source in the batch recreates it.
    source = SOURCES["newspaper"]
    with pytest.raises(_Undone), session.begin_nested():
        ingest_article(session, make_article("zhenping"), source=source, fetched_url="http://a.cn/1.html")
        raise _Undone
    with session.begin_nested():
        result = ingest_article(
            session, make_article("farming"), source=source, fetched_url="http://a.cn/2.html"
        )
    session.commit()
    stored = session.get(Article, result.article_id)
    assert stored is not None
    row = session.get(Source, stored.source_id)
    assert row is not None and row.name == source.name
    assert session.scalar(select(func.count()).select_from(Source)) == 1
