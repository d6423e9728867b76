"""The naive baseline of bench/crawl.py: a plain Scrapy CrawlSpider with trafilatura in the callback.

    .venv/bin/python -m bench.crawl_baseline CONFIG.yaml OUT.sqlite

It starts from the same configured start URLs, follows every link on the sources' hosts (the
usual CrawlSpider recipe, bounded by DEPTH_LIMIT), runs `trafilatura.extract` on each page in the
reactor thread, and inserts whatever has text into SQLite. Nothing is incremental: every cycle
fetches everything again. Same politeness settings as countywatch's crawl (robots.txt, user agent,
concurrency, timeouts, size limit). Prints one JSON line: pages stored, requests, seconds.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from typing import Any

import trafilatura
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule

from countywatch.config import load_config


class BaselineSpider(CrawlSpider):
    """Follow every in-domain link; extract and store every page."""

    name = "baseline"
    rules = (Rule(LinkExtractor(), callback="parse_item", follow=True),)

    def __init__(
        self, start_urls: list[str], allowed_domains: list[str], db_path: str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.start_urls = start_urls
        self.allowed_domains = allowed_domains
        self.db = sqlite3.connect(db_path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS pages (url TEXT PRIMARY KEY, title TEXT, text TEXT, date TEXT)"
        )
        self.stored = 0

    def parse_item(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            return
        extracted = trafilatura.extract(
            response.text, url=response.url, output_format="json", with_metadata=True
        )
        if not extracted:
            return
        record = json.loads(extracted)
        if not record.get("text"):
            return
        row = (response.url, record.get("title"), record["text"], record.get("date"))
        self.db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?)", row)
        self.db.commit()
        self.stored += 1
        yield from ()

    def closed(self, reason: str) -> None:
        self.db.close()


def main() -> None:
    config_path, db_path = sys.argv[1], sys.argv[2]
    config = load_config(config_path)
    crawl = config.crawl
    start_urls = [url for source in config.sources for url in source.start_urls]
    domains = sorted({host for source in config.sources for host in source.domains})
    process = CrawlerProcess(
        {
            "USER_AGENT": crawl.user_agent.format(contact=crawl.contact_url),
            "ROBOTSTXT_OBEY": crawl.obey_robots,
            "CONCURRENT_REQUESTS": crawl.concurrent_requests,
            "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_per_domain,
            "DOWNLOAD_DELAY": crawl.download_delay,
            "DOWNLOAD_TIMEOUT": crawl.timeout,
            "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
            "RETRY_TIMES": crawl.retries,
            "COOKIES_ENABLED": False,
            "DEPTH_LIMIT": 12,
            "LOG_LEVEL": "WARNING",
        }
    )
    crawler = process.create_crawler(BaselineSpider)
    started = time.monotonic()
    process.crawl(crawler, start_urls=start_urls, allowed_domains=domains, db_path=db_path)
    process.start()
    assert crawler.stats is not None
    stats = crawler.stats.get_stats()
    out = {
        "seconds": round(time.monotonic() - started, 3),
        "requests": int(stats.get("downloader/request_count", 0)),
        "stored": int(getattr(crawler.spider, "stored", 0)),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
