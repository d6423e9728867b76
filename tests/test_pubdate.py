"""The publication-date readers of crawler/html/pubdate.py: data-driven cases from tests/cases/*.yaml."""

from __future__ import annotations

import lxml.html
import pytest

from crawler.facts.dates import ParsedDate
from crawler.html.pubdate import script_date, shown_date, signing_date, url_date
from tests.yaml_cases import load_cases


def iso(found: ParsedDate | None) -> str | None:
    return found.iso if found else None


@pytest.mark.parametrize(("line", "expected"), load_cases("shown_date"))
def test_shown_date(line: str, expected: str | None) -> None:
    assert iso(shown_date(line)) == expected


@pytest.mark.parametrize(("html", "expected"), load_cases("script_date"))
def test_script_date(html: str, expected: str | None) -> None:
    assert iso(script_date(html)) == expected


@pytest.mark.parametrize(("url", "expected"), load_cases("url_date"))
def test_url_date(url: str, expected: str | None) -> None:
    assert iso(url_date(url)) == expected


@pytest.mark.parametrize(("body", "expected"), load_cases("signing_date"))
def test_signing_date(body: str, expected: str | None) -> None:
    tree = lxml.html.document_fromstring(f"<html><body>{body}</body></html>")
    assert iso(signing_date(tree)) == expected
