"""The five seed texts are the specification: each must give exactly its hand-checked record.

Expected records are tests/fixtures/seeds/<name>.expected.json; `python -m tests.seed_golden
--update` rewrites them from current output and prints the diff (only ever on purpose).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crawler.text.text_reader import extract_text_article
from tests import seed_golden
from tests.seed_golden import extract_seed, problems, seed_names


def test_all_five_seeds_have_expected_records() -> None:
    assert len(seed_names()) == 5


@pytest.mark.parametrize("name", seed_names())
def test_seed_record(name: str) -> None:
    issues = problems(name)
    assert not issues, "\n".join(issues)


@pytest.mark.parametrize("name", seed_names())
def test_seed_is_classified_as_education(name: str) -> None:
    assert "education" in extract_seed(name).topics


@pytest.mark.parametrize("name", seed_names())
def test_seed_record_is_stable_under_reextraction(name: str) -> None:
    # Cleaning the clean text again changes nothing: no step keeps eating into the body.
    first = extract_seed(name)
    again = extract_text_article(first.text)
    assert again.text == first.text


def test_update_prints_the_diff_and_keeps_hand_written_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "001_7eeca6bc7d9faaa1"
    shutil.copy(seed_golden.SEEDS_DIR / f"{name}.txt", tmp_path)
    expected = seed_golden.load_expected(name) | {"title": "旧标题"}
    (tmp_path / f"{name}.expected.json").write_text(
        json.dumps(expected, ensure_ascii=False), encoding="utf-8"
    )
    monkeypatch.setattr(seed_golden, "SEEDS_DIR", tmp_path)

    seed_golden.main(["--update", name])

    diff = capsys.readouterr().out
    assert '-  "title": "旧标题",' in diff
    assert '+  "title": "镇坪县召开教育高质量发展大会",' in diff
    rewritten = seed_golden.load_expected(name)
    assert rewritten["must_exclude"] == expected["must_exclude"]
    assert seed_golden.problems(name) == []
