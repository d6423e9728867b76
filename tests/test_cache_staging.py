"""StagedCacheStorage: a response counts as seen (304 next time) only after the crawl that read it
went idle with the source's list pages answered and its articles stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcache import HttpCacheMiddleware

from crawler.runtime.middlewares.cache import STAGING_DIR, StagedCacheStorage
from crawler.runtime.tally import count_error
from tests.crawl_support import ZHENPING, make_crawler, request, response

LIST = "http://jyj.zhenping.gov.cn/col/col1003/index.html"
PAGE_2 = "http://jyj.zhenping.gov.cn/col/col1003/index_2.html"
VALIDATORS = {"ETag": '"v1"', "Last-Modified": "Fri, 19 Apr 2024 00:00:00 GMT"}


def open_cache(folder: Path) -> tuple[HttpCacheMiddleware, Crawler]:
    """A cache middleware on `folder` with the staged storage, as one crawl process opens it."""
    crawler = make_crawler(
        [ZHENPING],
        {
            "HTTPCACHE_ENABLED": True,
            "HTTPCACHE_DIR": str(folder),
            "HTTPCACHE_POLICY": "crawler.runtime.middlewares.cache.RevalidatingPolicy",
            "HTTPCACHE_STORAGE": "crawler.runtime.middlewares.cache.StagedCacheStorage",
        },
    )
    middleware = HttpCacheMiddleware.from_crawler(crawler)
    assert crawler.spider is not None
    middleware.spider_opened(crawler.spider)
    return middleware, crawler


def fetch(cache: HttpCacheMiddleware, url: str, status: int = 200) -> bytes | None:
    """Request `url` through the cache; returns the If-None-Match sent (None: not cached)."""
    req = request(url, kind="list")
    assert cache.process_request(req) is None
    sent = req.headers.get("If-None-Match")
    cache.process_response(req, response(req, b"<html>list</html>", status=status, headers=VALIDATORS))
    return sent


def storage(cache: HttpCacheMiddleware) -> StagedCacheStorage:
    assert isinstance(cache.storage, StagedCacheStorage)
    return cache.storage


def test_a_page_is_not_seen_by_the_next_crawl_before_the_crawl_that_read_it_went_idle(
    tmp_path: Path,
) -> None:
    first, _ = open_cache(tmp_path)
    fetch(first, LIST)
    # The crawl dies here (before page 2 was read): the next one must fetch the page afresh.
    second, _ = open_cache(tmp_path)
    assert fetch(second, LIST) is None
    storage(first).commit()
    third, _ = open_cache(tmp_path)
    assert fetch(third, LIST) == b'"v1"'


def test_a_source_whose_list_page_failed_is_not_committed(tmp_path: Path) -> None:
    first, _ = open_cache(tmp_path)
    fetch(first, LIST)
    fetch(first, PAGE_2, status=503)
    storage(first).commit()
    second, _ = open_cache(tmp_path)
    assert fetch(second, LIST) is None


def test_a_source_with_a_storage_error_is_not_committed(tmp_path: Path) -> None:
    first, crawler = open_cache(tmp_path)
    fetch(first, LIST)
    assert crawler.stats is not None
    count_error(crawler.stats, ZHENPING.name, "storage")
    storage(first).commit()
    second, _ = open_cache(tmp_path)
    assert fetch(second, LIST) is None


def test_staging_areas_of_dead_crawls_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    staging = tmp_path / STAGING_DIR
    (staging / f"{dead.stdout.strip()}-abcdef12" / "countywatch").mkdir(parents=True)
    live = staging / f"{os.getppid()}-abcdef12"
    live.mkdir()
    cache, crawler = open_cache(tmp_path)
    assert sorted(p.name for p in staging.iterdir() if p.name.split("-")[0] != str(os.getpid())) == [
        live.name
    ]
    fetch(cache, LIST)
    assert crawler.spider is not None
    cache.spider_closed(crawler.spider)  # closed without going idle: its staged entries are dropped
    assert not any(p.name.startswith(f"{os.getpid()}-") for p in staging.iterdir())
