"""find_region, driven by the cases in tests/cases/region.yaml (seeds and short crafted texts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.facts.region import find_region
from crawler.facts.region_data import division_table, short_name
from tests.yaml_cases import load_cases

DEDUP = Path(__file__).parent / "fixtures" / "dedup"


def texts_of(case: dict[str, Any]) -> list[str | None]:
    body = case.get("body")
    if "body_file" in case:
        body = (DEDUP / case["body_file"]).read_text(encoding="utf-8")
    return [case.get("site_name"), case.get("title"), body]


@pytest.mark.parametrize(("case", "expected"), load_cases("region"))
def test_find_region(case: dict[str, Any], expected: dict[str, str] | None) -> None:
    region = find_region(*texts_of(case))
    if expected is None:
        assert region is None
        return
    assert region is not None
    for key, value in expected.items():
        assert getattr(region, key) == value, key


def test_short_names() -> None:
    ethnic = ["苗族", "侗族", "苗", "侗"]
    assert short_name("松桃苗族自治县", "county", ethnic) == "松桃"
    assert short_name("黔东南苗族侗族自治州", "city", ethnic) == "黔东南"
    assert short_name("镇坪县", "county", ethnic) == "镇坪"
    assert short_name("东区", "county", ethnic) is None  # one character is not a name


def test_table_has_every_level_and_no_placeholders() -> None:
    divisions = division_table().divisions
    assert divisions["520628"].name == "松桃苗族自治县"
    assert divisions["520600"].level == "city"
    assert divisions["520000"].level == "province"
    assert not any(d.name in ("市辖区", "县") for d in divisions.values())
    assert len(divisions) > 3000
