"""The floor of bench/crawl.py's unchanged cycle: a bare Scrapy process asking each entry page once.

    .venv/bin/python -m bench.crawl_floor CONFIG.yaml

It requests every configured list page, feed and sitemap once (what an unchanged cycle must ask,
at least) with the crawl's concurrency, and does nothing with the answers: no robots.txt, no cache,
no parsing, no database, no configuration model (the YAML is read as plain data). Whatever a
Scrapy-based crawler does in a cycle where nothing changed, it cannot take less than this process's
start-up and requests. Prints one JSON line: requests, seconds.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import yaml
from scrapy import Request, Spider
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response


class FloorSpider(Spider):
    """Each entry URL once; the answers are dropped."""

    name = "floor"

    def __init__(self, urls: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls

    async def start(self) -> AsyncIterator[Request]:
        for url in self.urls:
            yield Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response: Response) -> None:
        return None


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        config = yaml.safe_load(f)
    crawl = config.get("crawl", {})
    urls = [
        url
        for source in config["sources"]
        for key in ("start_urls", "feeds", "sitemaps")
        for url in source.get(key) or ()
    ]
    process = CrawlerProcess(
        {
            "ROBOTSTXT_OBEY": False,
            "CONCURRENT_REQUESTS": crawl.get("concurrent_requests", 16),
            "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.get("concurrent_per_domain", 8),
            "DOWNLOAD_TIMEOUT": crawl.get("timeout", 30),
            "RETRY_ENABLED": False,
            "COOKIES_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "LOG_LEVEL": "WARNING",
        }
    )
    crawler = process.create_crawler(FloorSpider)
    started = time.monotonic()
    process.crawl(crawler, urls=urls)
    process.start()
    assert crawler.stats is not None
    requests = int(crawler.stats.get_value("downloader/request_count", 0))
    print(json.dumps({"seconds": round(time.monotonic() - started, 3), "requests": requests}))


if __name__ == "__main__":
    main()
