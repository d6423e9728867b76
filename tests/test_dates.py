"""parse_date: data-driven cases from tests/cases/parse_date.yaml, plus today-relative behaviour."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from core.timezone import CHINA_TZ
from crawler.facts.dates import parse_date
from tests.yaml_cases import load_cases, plain

REFERENCE = date(2024, 6, 1)


@pytest.mark.parametrize(("value", "expected"), load_cases("parse_date"))
def test_parse_date(value: str, expected: Any) -> None:
    assert plain(parse_date(value, reference=REFERENCE)) == expected


def test_without_reference_future_dates_are_rejected_against_today() -> None:
    future = datetime.now(CHINA_TZ).date() + timedelta(days=30)
    assert parse_date(future.isoformat()) is None


def test_without_reference_month_day_takes_the_current_year() -> None:
    today = datetime.now(CHINA_TZ).date()
    parsed = parse_date(f"{today.month}月{today.day}日")
    assert parsed is not None
    assert (parsed.iso, parsed.inferred) == (today.isoformat(), True)


def test_day_property_gives_the_calendar_day() -> None:
    parsed = parse_date("2022/7/25 18:25:41", reference=REFERENCE)
    assert parsed is not None
    assert parsed.day == date(2022, 7, 25)
