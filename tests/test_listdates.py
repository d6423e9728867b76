"""List dates: reading them beside links and reconciling them with the article's own date."""

from __future__ import annotations

import pytest

from crawler.article import Article
from crawler.discovery.listdates import apply_list_date, find_list_date, reconcile_date
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
