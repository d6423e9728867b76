"""The pathological-page corpus (replica.pathological) through the extraction pipeline and its
process pool: each page gets its right outcome, a page over the per-page budget is an
`over_budget` error for its URL, and the pool goes on extracting the next page.

Time and memory are measured by bench/pathological.py, not here: the one time-dependent case
(100k attributes, about a minute of CPU in libxml2) runs with a 5 s budget, far below what it needs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from scrapy.exceptions import DropItem

from crawler.runtime.items import PageItem
from crawler.runtime.pipelines.extraction import ExtractPipeline
from crawler.runtime.tally import read_source_stats
from replica.pathological import MARKER, PARAGRAPHS, PATHOLOGICAL, TITLE
from tests.crawl_support import ZHENPING, make_crawler

URL = "http://jyj.zhenping.gov.cn/art/2024/4/19/art_1234_{}.html"
BODY = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
NORMAL = f"<html><head><title>{TITLE}</title></head><body><h1>{TITLE}</h1>{BODY}</body></html>"


def extract_all(kinds: list[str], settings: dict[str, Any]) -> tuple[list[PageItem | str], dict[str, int]]:
    """Each page of `kinds`, then a normal page, through one pipeline: item or DropItem message."""
    crawler = make_crawler([ZHENPING], {"COUNTYWATCH_EXTRACT_WORKERS": 1, **settings})
    pipeline = ExtractPipeline.from_crawler(crawler)
    pages = [(kind, PATHOLOGICAL[kind]()) for kind in kinds] + [("normal", NORMAL.encode())]

    async def go() -> list[PageItem | str]:
        pipeline.open_spider()
        out: list[PageItem | str] = []
        try:
            for kind, body in pages:
                item = PageItem(
                    source="zhenping", url=URL.format(kind), requested_url=URL.format(kind), body=body
                )
                try:
                    out.append(await pipeline.process_item(item))
                except DropItem as exc:
                    out.append(str(exc))
        finally:
            pipeline.close_spider()
        return out

    results = asyncio.run(go())
    assert crawler.stats is not None
    return results, read_source_stats(crawler.stats.get_stats(), "zhenping").errors


def article_text(result: PageItem | str) -> str:
    assert isinstance(result, PageItem) and result.article is not None, result
    return result.article.text


def test_pages_that_must_extract_keep_their_text_and_nothing_else() -> None:
    results, errors = extract_all(["nested_elements", "many_links", "invalid_bytes"], {})
    nested, links, invalid, normal = results
    assert MARKER in article_text(nested)
    assert MARKER in article_text(links) and "相关信息第" not in article_text(links)
    assert MARKER in article_text(invalid)
    assert MARKER in article_text(normal)
    assert errors == {}


def test_pages_that_cannot_extract_are_errors_of_their_url_and_the_pool_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    results, errors = extract_all(
        ["huge_attributes", "fifty_megabytes", "binary"], {"COUNTYWATCH_EXTRACT_TIME_LIMIT": 5.0}
    )
    attributes, huge, binary, normal = results
    # libxml2 keeps the worker in C past the alarm: the CPU limit ends it (twice: once per attempt)
    assert isinstance(attributes, str) and "5s" in attributes and "limit" in attributes
    assert isinstance(huge, str) and "extraction size limit" in huge
    assert isinstance(binary, str) and "not an HTML page" in binary
    assert MARKER in article_text(normal)  # a fresh worker, after the page ended two
    assert errors == {"over_budget": 2, "extraction": 1}
    logged = [r.getMessage() for r in caplog.records if r.name == "crawler.runtime.pipelines.extraction"]
    assert any(URL.format("huge_attributes") in line for line in logged)
    assert any(URL.format("fifty_megabytes") in line for line in logged)
