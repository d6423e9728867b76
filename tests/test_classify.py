"""classify with the built-in topics, driven by tests/cases/classify.yaml, and its own rules."""

from __future__ import annotations

from typing import Any

import pytest

from core.config import DEFAULT_TOPICS, Category, Topic
from crawler.facts.classify import MAX_CATEGORIES, classify, count_hits
from tests.yaml_cases import load_cases

CASES = load_cases("classify")
TOPICS = {name: Topic.model_validate(data) for name, data in DEFAULT_TOPICS.items()}


@pytest.mark.parametrize(("case", "expected"), CASES)
def test_classify(case: dict[str, str], expected: dict[str, list[str]]) -> None:
    topics, categories = classify(case["title"], case.get("body", ""), TOPICS)
    assert topics == expected["topics"]
    assert categories == expected["categories"]


def test_cases_cover_every_category_and_negatives() -> None:
    expectations: list[Any] = [param.values[1] for param in CASES]
    labels = {c.label for c in TOPICS["education"].categories.values()}
    assert labels <= {label for expected in expectations for label in expected["categories"]}
    assert sum(not expected["topics"] for expected in expectations) >= 8


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
    _, categories = classify("学校工作简报", "招标招标招标采购;会议会议", TOPICS)
    assert categories == ["招标", "会议"]
    _, categories = classify("学校工作简报", "招标招标;会议", TOPICS)
    assert categories == ["招标"]  # one passing mention in the body is not a category


def test_missing_title_uses_body() -> None:
    body = "镇坪县教育体育局组织全县中小学校长开展培训,学校、教师代表参加。"
    assert classify(None, body, TOPICS)[0] == ["education"]
