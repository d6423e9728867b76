"""Metadata lines, bylines and closing credits: data-driven cases from tests/cases/*.yaml."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from crawler.text.metaline import parse_byline, parse_closing_credit, parse_meta_line
from crawler.text.names import split_names
from tests.yaml_cases import load_cases, plain

REFERENCE = date(2024, 6, 1)


@pytest.mark.parametrize(("value", "expected"), load_cases("parse_meta_line"))
def test_parse_meta_line(value: str, expected: Any) -> None:
    fields = parse_meta_line(value, reference=REFERENCE)
    result = plain(fields)
    if fields is not None and fields.published_at is not None:
        result["published_at"] = fields.published_at.iso
    assert result == expected


@pytest.mark.parametrize(("value", "expected"), load_cases("parse_byline"))
def test_parse_byline(value: str, expected: Any) -> None:
    assert plain(parse_byline(value)) == expected


@pytest.mark.parametrize(("value", "expected"), load_cases("parse_closing_credit"))
def test_parse_closing_credit(value: str, expected: Any) -> None:
    assert parse_closing_credit(value) == expected


def test_split_names_drops_roles_and_duplicates() -> None:
    assert split_names("记者 杜娟 陆致吉 通讯员 杜娟") == ["杜娟", "陆致吉"]


def test_split_names_drops_media_and_qualifiers_before_roles() -> None:
    assert split_names("南都记者 余毅菁 向雪妮") == ["余毅菁", "向雪妮"]
    assert split_names("职工通讯员 李琴雯 刘会 新华社记者才扬") == ["李琴雯", "刘会", "才扬"]
