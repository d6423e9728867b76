"""The store writer process: what the crawl stores goes through it, and its death loses nothing stored."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from crawler.runtime.items import CheckedItem, PageItem
from crawler.runtime.pipelines.store import STORE_CPU_STAT, StorePipeline
from crawler.runtime.pipelines.writer_process import StoreFailure, portable
from crawler.runtime.tally import read_source_stats
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Article as StoredArticle
from tests.crawl_support import ZHENPING, make_crawler
from tests.polling import wait_for
from tests.storage_builders import make_article

URL = "http://jyj.zhenping.gov.cn/art/2023/9/8/art_1234_{}.html"


def crawler_with(sqlite_url: str, workers: int) -> Crawler:
    upgrade(sqlite_url)
    return make_crawler(
        [ZHENPING], {"COUNTYWATCH_DATABASE_URL": sqlite_url, "COUNTYWATCH_EXTRACT_WORKERS": workers}
    )


@pytest.fixture
def crawler(sqlite_url: str) -> Crawler:
    return crawler_with(sqlite_url, 1)


@pytest.fixture
def pipeline(crawler: Crawler) -> Iterator[StorePipeline]:
    store = StorePipeline.from_crawler(crawler)
    asyncio.run(store.open_spider())
    yield store
    store.close_spider()


def page(n: int, body: bytes = b"") -> PageItem:
    article = make_article(paras=[f"镇坪县第{n}号通知：教育局安排本学期第{n}项工作。", "全县学校参照执行。"])
    url = URL.format(n)
    return PageItem(source="zhenping", url=url, requested_url=url, body=body, article=article)


def stored_urls(sqlite_url: str) -> set[str]:
    engine = make_engine(sqlite_url)
    try:
        with make_session_factory(engine)() as session:
            return set(session.scalars(select(StoredArticle.url)))
    finally:
        engine.dispose()


def test_pages_are_written_by_a_process_of_their_own_which_reports_its_cpu(
    pipeline: StorePipeline, crawler: Crawler, sqlite_url: str
) -> None:
    asyncio.run(pipeline.process_item(page(1, body=b"<html>" * 1000)))
    assert pipeline._process is not None
    assert pipeline._process.pid != os.getpid()
    asyncio.run(pipeline.process_item(page(2)))
    assert stored_urls(sqlite_url) == {URL.format(1), URL.format(2)}
    pipeline.close_spider()
    assert crawler.stats is not None
    assert crawler.stats.get_value(STORE_CPU_STAT, 0.0) > 0.0
    stats = read_source_stats(crawler.stats.get_stats(), "zhenping")
    assert stats.new + stats.duplicate == 2  # the two pages are copies of one template


def test_without_extraction_workers_the_crawl_process_writes(sqlite_url: str) -> None:
    crawler = crawler_with(sqlite_url, 0)
    store = StorePipeline.from_crawler(crawler)
    asyncio.run(store.open_spider())
    try:
        asyncio.run(store.process_item(page(1)))
        assert store._process is None
    finally:
        store.close_spider()
    assert stored_urls(sqlite_url) == {URL.format(1)}
    assert crawler.stats is not None
    assert crawler.stats.get_value(STORE_CPU_STAT) is None


def test_a_cycle_with_nothing_new_starts_no_writer_process(pipeline: StorePipeline) -> None:
    # A 304 for an article the database does not know: nothing to reschedule, and no process.
    result = asyncio.run(pipeline.process_item(CheckedItem(source="zhenping", url=URL.format(9))))
    assert isinstance(result, CheckedItem)
    assert pipeline._process is None


def test_a_killed_writer_fails_its_batch_as_a_storage_error_and_the_next_batch_gets_a_new_one(
    pipeline: StorePipeline, crawler: Crawler, sqlite_url: str
) -> None:
    asyncio.run(pipeline.process_item(page(1)))
    assert pipeline._process is not None
    first = pipeline._process.pid
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: not _alive(first), what="the writer process to die")

    with pytest.raises(DropItem, match="storage error"):
        asyncio.run(pipeline.process_item(page(2)))
    assert crawler.stats is not None
    # The storage error keeps the source's cache entries uncommitted: the next crawl asks again.
    assert read_source_stats(crawler.stats.get_stats(), "zhenping").errors == {"storage": 1}

    asyncio.run(pipeline.process_item(page(3)))
    assert pipeline._process is not None and pipeline._process.pid != first
    assert stored_urls(sqlite_url) == {URL.format(1), URL.format(3)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie until the pipeline joins it: dead for our purpose.
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


class Unpicklable(Exception):
    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("cannot pickle this")


class UnpicklableDatabaseError(OperationalError):
    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("cannot pickle this")


def test_errors_that_cannot_travel_come_back_as_their_family_with_their_text() -> None:
    plain = ValueError("a page of an unknown source")
    assert portable(plain) is plain
    other = portable(Unpicklable("odd"))
    assert type(other) is RuntimeError and str(other) == "Unpicklable: odd"
    database = portable(UnpicklableDatabaseError("INSERT", {}, Exception("disk I/O error")))
    assert isinstance(database, StoreFailure)
    assert "UnpicklableDatabaseError" in str(database) and "disk I/O error" in str(database)
    assert portable(None) is None


def test_a_writer_that_cannot_be_set_up_is_a_storage_error_and_the_next_batch_tries_again(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    crawler = crawler_with(sqlite_url, 0)
    store = StorePipeline.from_crawler(crawler)
    asyncio.run(store.open_spider())
    try:
        import crawler.runtime.pipelines.batch_writer as batch_writer

        real = batch_writer.BatchWriter

        def broken(*args: object) -> object:
            raise OSError("disk gone")

        monkeypatch.setattr(batch_writer, "BatchWriter", broken)
        with pytest.raises(DropItem, match="storage error"):
            asyncio.run(store.process_item(page(1)))
        assert crawler.stats is not None
        # A storage error keeps the source's cache entries uncommitted: the next crawl asks again.
        assert read_source_stats(crawler.stats.get_stats(), "zhenping").errors == {"storage": 1}
        monkeypatch.setattr(batch_writer, "BatchWriter", real)
        asyncio.run(store.process_item(page(2)))
    finally:
        store.close_spider()
    assert stored_urls(sqlite_url) == {URL.format(2)}
