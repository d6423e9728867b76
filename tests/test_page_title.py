"""Headline and title cleanup, driven by the cases in tests/cases/page_titles.yaml."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import lxml.html
import pytest
import yaml

from crawler.html.headline import find_headline, split_source_prefix, strip_site_suffix

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "cases" / "page_titles.yaml").read_text(encoding="utf-8")
)


def build_page(case: dict[str, Any]) -> str:
    headline = f"<h3>{escape(case['breadcrumb'])}</h3>" if case.get("breadcrumb") else ""
    if case.get("headline"):
        headline += f"<h1>{escape(case['headline'])}</h1>"
    return (
        f"<html><head><title>{escape(case['page_title'])}</title></head>"
        f"<body><div class='nav'><a href='/'>首页</a></div>{headline}<p>正文。</p></body></html>"
    )


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_find_headline(case: dict[str, Any]) -> None:
    tree = lxml.html.document_fromstring(build_page(case))
    headline = find_headline(
        tree,
        meta_title=case.get("meta_title"),
        site_name=case.get("site_name"),
        keywords=case.get("keywords", ()),
    )
    assert headline.title == case["title"]
    assert headline.source == case.get("source")


def test_cases_are_named_uniquely() -> None:
    assert len({case["name"] for case in CASES}) == len(CASES) >= 12


def test_strip_site_suffix_needs_a_site_word_after_a_bare_hyphen() -> None:
    assert strip_site_suffix("关于开展2024-2025学年资助工作的通知") == "关于开展2024-2025学年资助工作的通知"
    assert strip_site_suffix("资助工作的通知-县教育局") == "资助工作的通知"


def test_split_source_prefix_only_for_media_names() -> None:
    assert split_source_prefix("【安康日报】镇坪县召开教育大会").source == "安康日报"
    assert split_source_prefix("【通知】镇坪县召开教育大会").title == "【通知】镇坪县召开教育大会"


def test_the_title_part_the_body_prints_alone_is_the_headline() -> None:
    # A Founder 数字报 prints its headline in <founder-title>, which no headline selector knows.
    page = (
        "<html><head><title>湘潭日报数字报-县域商业体系建设让农村消费热起来</title></head><body>"
        "<table><tr><td class='font01'>"
        "<founder-title>县域商业体系建设让农村消费热起来</founder-title></td></tr>"
        "<tr><td><p>今年以来，湘潭县加快县域商业体系建设。</p></td></tr></table></body></html>"
    )
    headline = find_headline(lxml.html.document_fromstring(page), meta_title=None, site_name=None)
    assert headline.title == "县域商业体系建设让农村消费热起来"


def test_a_hyphen_inside_a_headline_the_body_never_prints_alone_stays() -> None:
    page = (
        "<html><head><title>全县1-10月规模工业增加值增长8.2%</title></head><body>"
        "<p>10月规模工业增加值增长8.2%，增速比上月加快。</p></body></html>"
    )
    headline = find_headline(lxml.html.document_fromstring(page), meta_title=None, site_name=None)
    assert headline.title == "全县1-10月规模工业增加值增长8.2%"
