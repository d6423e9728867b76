"""classify with the built-in topics, driven by tests/cases/classify.yaml, and its own rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from countywatch.config import Category, Topic
from countywatch.topics import DEFAULT_TOPICS
from crawler.classify import MAX_CATEGORIES, classify, count_hits

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "cases" / "classify.yaml").read_text(encoding="utf-8")
)
TOPICS = {name: Topic.model_validate(data) for name, data in DEFAULT_TOPICS.items()}


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_classify(case: dict[str, Any]) -> None:
    topics, categories = classify(case["title"], case.get("body", ""), TOPICS)
    assert topics == case["topics"]
    assert categories == case["categories"]


def test_cases_cover_every_category_and_negatives() -> None:
    labels = {c.label for c in TOPICS["education"].categories.values()}
    assert labels <= {label for case in CASES for label in case["categories"]}
    assert sum(not case["topics"] for case in CASES) >= 8


def test_keywords_count_leftmost_longest_without_set_phrases() -> None:
    assert count_hits("教育局教育教育体育局", ["教育", "教育局", "教育体育局"]) == 3
    assert count_hits("开展主题教育和警示教育", ["教育"]) == 0
    assert count_hits("开展主题教育", ["主题教育"]) == 1  # a user's own keyword still counts
    assert count_hits("", ["教育"]) == 0


def test_exclude_words_veto_a_topic() -> None:
    topics = {"edu": Topic(keywords=["学校"], exclude=["驾驶"], min_hits=1)}
    assert classify("驾驶学校招生", "", topics) == ([], [])
    assert classify("学校招生", "", topics) == (["edu"], [])


def test_title_only_category_ignores_body() -> None:
    topic = Topic(
        keywords=["学校"],
        categories={"p": Category(label="政策", keywords=["办法"], title_only=True)},
    )
    assert classify("学校管理办法", "", {"t": topic}) == (["t"], ["政策"])
    assert classify("学校新闻", "办法很多", {"t": topic}) == (["t"], [])


def test_categories_are_capped_and_ordered_by_strength() -> None:
    title = "关于印发招生入学、教师招聘、中考、寒假放假、学生资助、采购工作实施方案的通知"
    _, categories = classify(title, "", TOPICS)
    assert len(categories) == MAX_CATEGORIES
    _, categories = classify("学校工作简报", "招标招标招标采购;会议", TOPICS)
    assert categories == ["招标", "会议"]


def test_missing_title_uses_body() -> None:
    body = "镇坪县教育体育局组织全县中小学校长开展培训,学校、教师代表参加。"
    assert classify(None, body, TOPICS)[0] == ["education"]
