"""Finding the next list page (cases in tests/cases/next_page.yaml)."""

from __future__ import annotations

from typing import Any

import pytest

from crawler.discovery.pagination import increment_page_url, next_page, trs_next_page
from tests.test_links import list_page
from tests.yaml_cases import load_cases


@pytest.mark.parametrize(("case_input", "expected"), load_cases("next_page"))
def test_next_page(case_input: dict[str, Any], expected: str | None) -> None:
    html = list_page(case_input) if "page" in case_input else case_input["html"]
    assert next_page(html, case_input["url"]) == expected


def test_trs_pager_gives_every_page_then_stops() -> None:
    url = "http://www.ytq.gov.cn/jyj/tzgg/index.html"
    pages = []
    for current in range(4):
        following = trs_next_page(f'createPageHTML(4, {current}, "index", "html")', url)
        pages.append(following)
    assert pages == [
        "http://www.ytq.gov.cn/jyj/tzgg/index_1.html",
        "http://www.ytq.gov.cn/jyj/tzgg/index_2.html",
        "http://www.ytq.gov.cn/jyj/tzgg/index_3.html",
        None,
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://a.gov.cn/col/index_3.html", "http://a.gov.cn/col/index_4.html"),
        ("http://a.gov.cn/list?cat=2&pageNum=7", "http://a.gov.cn/list?cat=2&pageNum=8"),
        ("http://a.gov.cn/col/index.html", None),
        ("http://a.gov.cn/art/2024/1/1/art_1_2.html", None),
    ],
)
def test_increment_page_url(url: str, expected: str | None) -> None:
    assert increment_page_url(url) == expected
