"""Building Scrapy components for unit tests: a crawler with a ListSpider over given sources."""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from core.config import Source
from crawler.runtime.spiders.lists import ListSpider
from crawler.runtime.tally import META_KIND, META_SOURCE

ZHENPING = Source(
    name="zhenping",
    start_urls=["http://jyj.zhenping.gov.cn/col/col1003/index.html"],
    kind="education_bureau",
    mobile_hosts={"m.zhenping.gov.cn": "jyj.zhenping.gov.cn"},
)
YUETANG = Source(
    name="yuetang",
    start_urls=["http://www.ytq.gov.cn/jyj/tzgg/index.html"],
    include_subdomains=True,
)


def make_crawler(
    sources: list[Source], settings: dict[str, Any] | None = None, **spider_kwargs: Any
) -> Crawler:
    """A crawler whose spider is a ListSpider over `sources` (not started)."""
    crawler = get_crawler(ListSpider, settings or {})
    crawler.spider = crawler._create_spider(sources=sources, **spider_kwargs)
    return crawler


def request(url: str, source: str | None = "zhenping", kind: str = "article", **meta: Any) -> Request:
    """A request tagged the way the spider tags its own."""
    tags: dict[str, Any] = {META_KIND: kind, **meta}
    if source is not None:
        tags[META_SOURCE] = source
    return Request(url, meta=tags)


def response(
    req: Request, body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> HtmlResponse:
    """A response to `req` with the given body."""
    return HtmlResponse(url=req.url, body=body, status=status, headers=headers, request=req)
