"""ExtractPipeline: pages become records in the extraction pool, off the reactor thread."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from scrapy.exceptions import DropItem

from crawler.runtime.items import PageItem
from crawler.runtime.pipelines.extraction import ExtractPipeline
from crawler.runtime.tally import read_source_stats
from tests.crawl_support import ZHENPING, make_crawler

PAGE = Path(__file__).parent / "fixtures" / "lists" / "articles" / "hanweb_article.html"
URL = "http://jyj.zhenping.gov.cn/art/2023/9/8/art_1234_56781.html"


def run(pipeline: ExtractPipeline, item: PageItem) -> PageItem:
    async def go() -> PageItem:
        pipeline.open_spider()
        try:
            return await pipeline.process_item(item)
        finally:
            pipeline.close_spider()

    return asyncio.run(go())


@pytest.mark.parametrize("workers", [0, 1], ids=["in_process", "process_pool"])
def test_page_becomes_a_record_with_the_list_date(workers: int) -> None:
    crawler = make_crawler([ZHENPING], {"COUNTYWATCH_EXTRACT_WORKERS": workers})
    item = PageItem(
        source="zhenping",
        url=URL,
        requested_url=URL,
        body=PAGE.read_bytes(),
        http_charset="utf-8",
        list_date="2023-09-08",
    )
    out = run(ExtractPipeline.from_crawler(crawler), item)
    assert out.article is not None
    assert out.article.title == "镇坪县召开教育高质量发展大会"
    assert out.article.text.startswith("9月7日、第39个教师节来临之际")
    # the page itself has no date: the list's date is taken
    assert out.article.published_at == "2023-09-08"
    assert out.body == b""


def test_unusable_page_is_counted_and_dropped() -> None:
    crawler = make_crawler([ZHENPING], {"COUNTYWATCH_EXTRACT_WORKERS": 0})
    item = PageItem(source="zhenping", url=URL, requested_url=URL, body=b"")
    with pytest.raises(DropItem):
        run(ExtractPipeline.from_crawler(crawler), item)
    assert crawler.stats is not None
    assert read_source_stats(crawler.stats.get_stats(), "zhenping").errors == {"extraction": 1}
