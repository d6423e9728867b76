"""Golden pages: each real page in tests/fixtures/pages/ against its hand-checked expected.json.

Regenerate expectations only deliberately: `python -m tests.golden --update [CASE ...]` prints the
diff; review it before committing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.golden import (
    CHECKED_FIELDS,
    TEXT_CHECKS,
    Case,
    dev_cases,
    held_out_cases,
    is_held_out,
    labelled_cases,
    mismatches,
    record,
    updated_expectations,
)

CASES = labelled_cases()


@pytest.fixture(scope="module")
def records() -> dict[str, dict[str, Any]]:
    """Records by case name, extracted once per module however many checks use them."""
    return {}


def cached_record(records: dict[str, dict[str, Any]], case: Case) -> dict[str, Any]:
    if case.name not in records:
        records[case.name] = record(case)
    return records[case.name]


def test_enough_golden_pages() -> None:
    kinds = [case.expected()["page_kind"] for case in CASES]
    assert len(CASES) >= 25
    assert kinds.count("list") >= 3
    assert all(set(case.expected()) >= {"title", "page_kind", "gold_text"} for case in CASES)


def test_held_out_split_is_by_name_and_splits_the_pages() -> None:
    # The split depends on the name only: a case cannot move between halves when it is relabelled.
    assert [is_held_out(case.name) for case in CASES] == [case.held_out for case in CASES]
    assert is_held_out("traf_hebei_play") is False and is_held_out("list_tieba") is True
    dev, held = dev_cases(), held_out_cases()
    assert {case.name for case in dev} | {case.name for case in held} == {case.name for case in CASES}
    assert len(dev) >= len(CASES) // 4 and len(held) >= len(CASES) // 4


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_golden_page(records: dict[str, dict[str, Any]], case: Case) -> None:
    gaps = case.expected().get("known_gaps", {})
    assert set(gaps) <= set(CHECKED_FIELDS) | set(TEXT_CHECKS), f"unknown check in known_gaps: {gaps}"
    found = mismatches(case, cached_record(records, case))
    problems = [message for check, message in found if check not in gaps]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_known_gaps_are_still_gaps(records: dict[str, dict[str, Any]], case: Case) -> None:
    # A gap that the code has closed must leave known_gaps, so the check guards it from then on.
    gaps = case.expected().get("known_gaps", {})
    failing = {name for name, _ in mismatches(case, cached_record(records, case))}
    closed = sorted(set(gaps) - failing)
    assert not closed, f"known gaps now pass, remove them from known_gaps: {closed}"


def test_update_never_writes_gold_text(tmp_path: Path) -> None:
    case = Case("some_case", tmp_path)
    (tmp_path / "expected.json").write_text(
        json.dumps({"title": "旧标题", "gold_text": "手写的正文。", "known_gaps": {}}), encoding="utf-8"
    )
    new = updated_expectations(case, {"title": "新标题", "text": "程序输出的正文。"})
    assert new["title"] == "新标题"
    assert new["gold_text"] == "手写的正文。"


def test_text_check_compares_the_whole_gold_text(tmp_path: Path) -> None:
    case = Case("some_case", tmp_path)
    gold = "第一段正文，讲述事情的起因。\n第二段正文，讲述事情的经过。\n第三段正文，讲述事情的结果。"
    (tmp_path / "expected.json").write_text(json.dumps({"gold_text": gold}), encoding="utf-8")
    # Same first and last line, the middle paragraph lost: the old edge check would pass.
    lost_middle = "第一段正文，讲述事情的起因。\n第三段正文，讲述事情的结果。"
    assert [check for check, _ in mismatches(case, {"text": lost_middle})] == ["text_f1"]
    assert mismatches(case, {"text": gold}) == []
