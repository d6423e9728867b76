"""StorePipeline: extracted pages and vanished pages reach the database from one writer thread."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from sqlalchemy import func, select

from crawler.article import Article
from crawler.runtime.items import CheckedItem, GoneItem, PageItem
from crawler.runtime.pipelines.store import StorePipeline
from crawler.runtime.tally import read_source_stats
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Alert
from storage.models import Article as StoredArticle
from storage.repository import known_pages
from tests.crawl_support import ZHENPING, make_crawler
from tests.storage_builders import make_article

URL = "http://jyj.zhenping.gov.cn/art/2023/9/8/art_1234_56781.html"


@pytest.fixture
def crawler(sqlite_url: str) -> Crawler:
    upgrade(sqlite_url)
    return make_crawler([ZHENPING], {"COUNTYWATCH_DATABASE_URL": sqlite_url})


@pytest.fixture
def pipeline(crawler: Crawler) -> Iterator[StorePipeline]:
    store = StorePipeline.from_crawler(crawler)
    asyncio.run(store.open_spider())
    yield store
    store.close_spider()


def page(article: Article, url: str = URL, **kwargs: object) -> PageItem:
    return PageItem(source="zhenping", url=url, requested_url=url, body=b"", article=article, **kwargs)  # type: ignore[arg-type]


def stored(sqlite_url: str) -> list[StoredArticle]:
    engine = make_engine(sqlite_url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(StoredArticle)))
    finally:
        engine.dispose()


def test_new_then_unchanged_then_changed(pipeline: StorePipeline, crawler: Crawler, sqlite_url: str) -> None:
    asyncio.run(pipeline.process_item(page(make_article(), list_date="2023-09-08")))
    asyncio.run(pipeline.process_item(page(make_article())))
    changed = make_article(
        paras=["镇坪县召开教育高质量发展大会，会议内容已全面更新。", "全县教师代表参加会议。"]
    )
    asyncio.run(pipeline.process_item(page(changed)))
    assert crawler.stats is not None
    stats = read_source_stats(crawler.stats.get_stats(), "zhenping")
    assert (stats.new, stats.unchanged, stats.changed) == (1, 1, 1)
    rows = stored(sqlite_url)
    assert len(rows) == 1
    assert rows[0].list_date == "2023-09-08"


def test_gone_twice_withdraws(pipeline: StorePipeline, crawler: Crawler, sqlite_url: str) -> None:
    asyncio.run(pipeline.process_item(page(make_article())))
    for _ in range(2):
        asyncio.run(pipeline.process_item(GoneItem(source="zhenping", url=URL, status=404)))
    assert crawler.stats is not None
    stats = read_source_stats(crawler.stats.get_stats(), "zhenping")
    assert stats.withdrawn == 1
    assert [row.status for row in stored(sqlite_url)] == ["withdrawn"]
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "withdrawn")) == 1
        assert list(known_pages(session, "zhenping")) == [URL]
    engine.dispose()


def test_not_modified_recheck_reschedules_without_a_new_version(
    pipeline: StorePipeline, crawler: Crawler, sqlite_url: str
) -> None:
    asyncio.run(pipeline.process_item(page(make_article())))
    before = stored(sqlite_url)[0].next_check_at
    asyncio.run(pipeline.process_item(CheckedItem(source="zhenping", url=URL)))
    asyncio.run(pipeline.process_item(CheckedItem(source="zhenping", url=URL + "?unknown=1")))
    assert crawler.stats is not None
    assert read_source_stats(crawler.stats.get_stats(), "zhenping").unchanged == 1
    (row,) = stored(sqlite_url)
    assert row.version == 1
    assert row.next_check_at is not None and before is not None and row.next_check_at > before


def test_list_pages_are_not_stored(pipeline: StorePipeline, crawler: Crawler, sqlite_url: str) -> None:
    listing = Article(url=URL, title="通知公告", text="", page_kind="list", flags=["not_article"])
    with pytest.raises(DropItem, match="not an article"):
        asyncio.run(pipeline.process_item(page(listing)))
    assert crawler.stats is not None
    assert read_source_stats(crawler.stats.get_stats(), "zhenping").not_article == 1
    assert stored(sqlite_url) == []


def test_needs_a_database_url() -> None:
    with pytest.raises(NotConfigured):
        StorePipeline.from_crawler(make_crawler([ZHENPING]))


def deleted_notice(url: str = URL) -> Article:
    return Article(
        url=url, title="提示信息", text="", page_kind="empty", flags=["deleted_notice", "not_article"]
    )


def test_a_deleted_notice_withdraws_a_stored_article_at_once(
    pipeline: StorePipeline, crawler: Crawler, sqlite_url: str
) -> None:
    asyncio.run(pipeline.process_item(page(make_article())))
    # The CMS redirected the article to its notice page: the link followed is what storage knows.
    notice = PageItem(
        source="zhenping",
        url="http://jyj.zhenping.gov.cn/module/error/deleted.html",
        requested_url=URL,
        body=b"",
        known=True,
        article=deleted_notice(),
    )
    asyncio.run(pipeline.process_item(notice))
    assert crawler.stats is not None
    stats = read_source_stats(crawler.stats.get_stats(), "zhenping")
    assert (stats.gone, stats.withdrawn, stats.not_article) == (1, 1, 0)
    (row,) = stored(sqlite_url)
    assert (row.status, row.gone_count, row.version) == ("withdrawn", 1, 1)
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "withdrawn")) == 1
    engine.dispose()


def test_a_deleted_notice_of_an_unknown_page_is_counted_not_stored(
    pipeline: StorePipeline, crawler: Crawler, sqlite_url: str
) -> None:
    with pytest.raises(DropItem, match="deleted notice"):
        asyncio.run(pipeline.process_item(page(deleted_notice())))
    assert crawler.stats is not None
    stats = read_source_stats(crawler.stats.get_stats(), "zhenping")
    assert (stats.not_article, stats.gone, stats.withdrawn) == (1, 0, 0)
    assert stored(sqlite_url) == []


def test_items_waiting_together_are_stored_in_one_batch_each_on_its_own(
    pipeline: StorePipeline, crawler: Crawler, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    listing = Article(url=URL, title="通知公告", text="", page_kind="list", flags=["not_article"])
    reposts = [page(make_article(), url=f"{URL}?copy={n}") for n in range(12)]
    stray = PageItem(source="nowhere", url=URL, requested_url=URL, body=b"", article=make_article())

    async def all_at_once() -> list[object]:
        items = [*reposts[:6], page(listing), stray, *reposts[6:]]
        return await asyncio.gather(*(pipeline.process_item(item) for item in items), return_exceptions=True)

    with caplog.at_level(logging.DEBUG, logger="crawler.runtime.pipelines.store"):
        results = asyncio.run(all_at_once())
    batches = [r for r in caplog.records if r.getMessage().startswith("storing a batch of")]
    assert 1 <= len(batches) < len(results)  # items queued together share a transaction
    # The list page and the page of an unknown source fail alone; the batch around them is stored.
    assert isinstance(results[6], DropItem) and isinstance(results[7], KeyError)
    assert results[:6] + results[8:] == reposts
    assert sorted(row.url for row in stored(sqlite_url)) == sorted(item.requested_url for item in reposts)
    assert crawler.stats is not None
    stats = read_source_stats(crawler.stats.get_stats(), "zhenping")
    assert (stats.new, stats.duplicate, stats.not_article) == (1, 11, 1)
