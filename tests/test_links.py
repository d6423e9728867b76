"""Link discovery on saved list pages (cases in tests/cases/discover_links.yaml)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from crawler.discovery.links import LinkRules, discover_links
from tests.yaml_cases import load_cases

LISTS = Path(__file__).parent / "fixtures" / "lists"


def list_page(case_input: dict[str, Any]) -> str:
    """The saved page of a case, decoded."""
    return (LISTS / case_input["page"]).read_bytes().decode(case_input["encoding"])


@pytest.mark.parametrize(("case_input", "expected"), load_cases("discover_links"))
def test_discover_links(case_input: dict[str, Any], expected: dict[str, Any]) -> None:
    host = urlsplit(case_input["url"]).hostname
    rules = LinkRules(**case_input.get("rules", {}))
    found = discover_links(
        list_page(case_input), case_input["url"], rules, in_scope=lambda url: urlsplit(url).hostname == host
    )
    urls = [link.url for link in found]
    assert len(urls) == len(set(urls)), "each URL is reported once"
    if "links" in expected:
        assert [[link.url, link.date] for link in found] == expected["links"]
    if "min_links" in expected:
        assert len(found) >= expected["min_links"]
    if "all_match" in expected:
        assert [u for u in urls if not re.search(expected["all_match"], u)] == []
    for url in expected.get("include", []):
        assert url in urls
    for url in expected.get("exclude", []):
        assert url not in urls
    titles = {link.url: link.text for link in found}
    for url, title in expected.get("titles", {}).items():
        assert titles[url] == title


def test_scope_filter_drops_other_hosts() -> None:
    html = (
        '<ul><li><a href="http://a.gov.cn/art/2024/1/2/art_1_100001.html">本站的文章标题</a> 2024-01-02</li>'
        '<li><a href="http://b.gov.cn/art/2024/1/2/art_1_100002.html">外站的文章标题</a> 2024-01-02</li></ul>'
    )
    found = discover_links(html, "http://a.gov.cn/col/index.html", in_scope=lambda u: "//a.gov.cn/" in u)
    assert [link.url for link in found] == ["http://a.gov.cn/art/2024/1/2/art_1_100001.html"]


def test_base_href_and_fragments() -> None:
    html = (
        '<html><head><base href="http://a.gov.cn/jyj/"></head><body><ul>'
        '<li><a href="t20240102_123456.html#top">一篇文章标题足够长的通知</a></li>'
        '<li><a href="javascript:void(0)">一篇文章标题足够长的通知</a></li>'
        '<li><a href="mailto:x@a.gov.cn">联系我们的邮箱地址很长</a></li></ul></body></html>'
    )
    found = discover_links(html, "http://a.gov.cn/other/index.html")
    assert [link.url for link in found] == ["http://a.gov.cn/jyj/t20240102_123456.html"]


def test_date_inside_title_is_not_a_list_date() -> None:
    html = '<ul><li><a href="/content/123456.html">2024年5月1日放假安排的通知</a></li></ul>'
    found = discover_links(html, "http://a.gov.cn/list.html")
    assert [(link.url, link.date) for link in found] == [("http://a.gov.cn/content/123456.html", None)]


def test_empty_page_has_no_links() -> None:
    assert discover_links("", "http://a.gov.cn/") == []
    assert discover_links("<html><body><p>网站改版中</p></body></html>", "http://a.gov.cn/") == []


def test_nav_links_without_article_shape_are_not_articles() -> None:
    nav = "".join(f'<li><a href="/col/col{i}/index.html">栏目{i}</a></li>' for i in range(10))
    assert discover_links(f"<ul>{nav}</ul>", "http://a.gov.cn/") == []
