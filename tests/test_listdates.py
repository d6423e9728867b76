"""List dates: reading them beside links and reconciling them with the article's own date."""

from __future__ import annotations

from datetime import date

import pytest

from crawler.article import Article
from crawler.discovery.listdates import (
    apply_list_date,
    find_list_date,
    infer_years,
    reconcile_date,
    split_trailing_date,
)
from tests.yaml_cases import load_cases


@pytest.mark.parametrize(("text", "expected"), load_cases("find_list_date"))
def test_find_list_date(text: str, expected: str | None) -> None:
    assert find_list_date(text) == expected


@pytest.mark.parametrize(("given", "expected"), load_cases("reconcile_date"))
def test_reconcile_date(given: list, expected: list) -> None:
    published, flags, list_date = given
    assert list(reconcile_date(published, flags, list_date)) == expected


def test_apply_list_date_drops_the_inferred_flag_once_the_list_fixes_the_year() -> None:
    article = Article(text="正文", published_at="2025-05-31", flags=["converted_script", "date_inferred"])
    apply_list_date(article, "2024-05-31")
    assert article.published_at == "2024-05-31"
    assert article.flags == ["converted_script"]


def test_apply_list_date_keeps_an_inferred_year_the_list_cannot_fix() -> None:
    article = Article(text="正文", published_at="2025-05-31", flags=["date_inferred"])
    apply_list_date(article, "--05-31")
    assert (article.published_at, article.flags) == ("2025-05-31", ["date_inferred"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("关于做好暑期学生安全工作的通知 (2023-05-06)", ("关于做好暑期学生安全工作的通知", "2023-05-06")),
        ("关于做好暑期学生安全工作的通知（2023年5月6日）", ("关于做好暑期学生安全工作的通知", "2023-05-06")),
        ("城关小学开展读书节活动…[05-06]", ("城关小学开展读书节活动…", "--05-06")),
        ("城关小学开展读书节活动 2023-05-06", ("城关小学开展读书节活动", "2023-05-06")),
        # A date that starts or is part of the title, and a bracketed range, are the title.
        ("2024年4月19日招生公告", ("2024年4月19日招生公告", None)),
        ("课后服务第一期（3-4）", ("课后服务第一期（3-4）", None)),
        ("关于2023年招生工作的通知（2023年）", ("关于2023年招生工作的通知（2023年）", None)),
    ],
)
def test_split_trailing_date(text: str, expected: tuple[str, str | None]) -> None:
    assert split_trailing_date(text) == expected


@pytest.mark.parametrize(
    ("dates", "today", "expected"),
    [
        # Newest first within a year, across a new year, and a full date guiding those below it.
        (
            ["--06-02", "--05-20", "--01-03", "--12-28", "2022-11-01", "--10-30", None],
            date(2024, 6, 10),
            ["2024-06-02", "2024-05-20", "2024-01-03", "2023-12-28", "2022-11-01", "2022-10-30", None],
        ),
        # Never in the future: a day after today is last year's.
        (["--06-11", "--06-09"], date(2024, 6, 10), ["2023-06-11", "2023-06-09"]),
        # A pinned old item on top does not push the rest into the year before.
        (["--01-05", "--06-01", "--05-20"], date(2024, 6, 10), ["2024-01-05", "2024-06-01", "2024-05-20"]),
        # January: December's items are last year's.
        (["--01-03", "--12-28"], date(2024, 1, 10), ["2024-01-03", "2023-12-28"]),
    ],
)
def test_infer_years(dates: list[str | None], today: date, expected: list[str | None]) -> None:
    assert infer_years(dates, today) == expected
