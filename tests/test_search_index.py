"""The search index on both databases: FTS5 trigram on SQLite, pg_trgm on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, MetaData, Table, inspect, select, text
from sqlalchemy.exc import DBAPIError

from countywatch.cli import cli
from storage import search
from storage.db import downgrade, make_engine, make_session_factory, open_read_only, upgrade
from storage.ingest import ingest_article
from storage.models import Article, Source, Story, utcnow
from storage.queries import ArticleFilter, iter_articles
from storage.rules import SourceRef
from storage.search import SEARCH_TABLE, index_size, search_document
from tests.digest_support import ingest, record
from tests.web_support import HOLIDAY_EDIT, HOLIDAY_TEXT

A = "http://jyj.zhenping.gov.cn/tzgg/1.html"
B = "http://www.xtrb.cn/2024/0419/3.html"
C = "http://www.zhenping.gov.cn/art/7.html"
D = "http://jyj.zhenping.gov.cn/tzgg/9.html"
BEFORE_INDEX = "0004"  # the revision migration 0005 follows


def _search(url: str, query: str) -> list[str]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return sorted(a.record["url"] for a in iter_articles(session, ArticleFilter(search=query)))
    finally:
        engine.dispose()


@pytest.fixture
def stored(migrated_url: str) -> str:
    factory = make_session_factory(make_engine(migrated_url))
    ingest(
        factory,
        record("关于2024年秋季招生入学工作的通知", A, text="适龄儿童请于5月10日前完成网上报名。"),
        now=utcnow(),
    )
    ingest(
        factory,
        record("岳塘区公开招聘教师公告", B, text="报名时间为4月20日至4月30日，100%网上报名。"),
        now=utcnow(),
    )
    ingest(factory, record("暑假放假安排", C, text=HOLIDAY_TEXT), now=utcnow())
    return migrated_url


def test_terms_of_three_characters_or_more_use_the_index(stored: str) -> None:
    assert _search(stored, "网上报名") == [A, B]
    assert _search(stored, "招生入学") == [A]
    assert _search(stored, "公开招聘 4月30日") == [B]
    assert _search(stored, "公开招聘 5月10日") == []
    assert _search(stored, "秋季招生入学工作") == [A]  # spans words: a substring, not tokens


def test_short_terms_and_like_wildcards_fall_back_to_a_scan(stored: str) -> None:
    assert _search(stored, "暑假") == [C]
    assert _search(stored, "报名 教师") == [B]
    assert _search(stored, "%") == [B]  # a literal percent sign, not a wildcard
    assert _search(stored, "_") == []
    assert _search(stored, '"招生') == []  # FTS5 syntax in a term is text, not an operator


def test_a_changed_article_is_found_by_its_new_text(stored: str) -> None:
    factory = make_session_factory(make_engine(stored))
    ingest(factory, record("暑假放假安排", C, text=HOLIDAY_EDIT), now=utcnow())
    assert _search(stored, "7月10日起放假") == [C]
    assert _search(stored, "7月6日起放假") == []
    assert index_size(make_engine(stored)) == 3


class _Undone(Exception):
    """Raised inside a savepoint to roll one stored article back, as the crawl's writer does."""


def _found(session: Any, query: str) -> list[str]:
    return sorted(a.record["url"] for a in iter_articles(session, ArticleFilter(search=query)))


def test_a_batch_indexes_its_articles_but_not_one_rolled_back(migrated_url: str) -> None:
    # The crawl's writer: one transaction per batch, a savepoint per article; one is rolled back.
    engine = make_engine(migrated_url)
    source = SourceRef("zhenping-jyj", "education_bureau")
    first = record("关于2024年秋季招生入学工作的通知", A, text="适龄儿童请于5月10日前完成网上报名。")
    dropped = record("岳塘区公开招聘教师公告", B, text="报名时间为4月20日至4月30日，100%网上报名。")
    last = record("暑假放假安排", C, text=HOLIDAY_TEXT)
    dropped_too = record("城区学校划片范围公示", D, text="城区义务教育学校划片范围如下，请家长查阅。")
    with make_session_factory(engine)() as session, session.begin():
        # On SQLite the article after a rolled-back one takes its id again.
        for item in (first, dropped, last, dropped_too):
            try:
                with session.begin_nested():
                    ingest_article(session, item, source=source, fetched_url=item.url or "")
                    if item in (dropped, dropped_too):
                        raise _Undone
            except _Undone:
                pass
        # A search in the same transaction finds what it stored so far.
        assert _found(session, "网上报名") == [A]
        assert _found(session, "7月6日起放假") == [C]
    assert _search(migrated_url, "网上报名") == [A]
    assert _search(migrated_url, "公开招聘") == []
    assert _search(migrated_url, "划片范围") == []
    assert _search(migrated_url, "7月6日起放假") == [C]
    assert index_size(engine) == 2
    engine.dispose()


def test_a_new_article_changed_in_the_same_transaction_is_found_by_its_last_text(migrated_url: str) -> None:
    engine = make_engine(migrated_url)
    source = SourceRef("zhenping-jyj", "education_bureau")
    with make_session_factory(engine)() as session, session.begin():
        for text_ in (HOLIDAY_TEXT, HOLIDAY_EDIT):
            ingest_article(session, record("暑假放假安排", C, text=text_), source=source, fetched_url=C)
    assert _search(migrated_url, "7月10日起放假") == [C]
    assert _search(migrated_url, "7月6日起放假") == []
    assert index_size(engine) == 1
    engine.dispose()


def test_migration_0005_indexes_articles_stored_before_it(db_url: str) -> None:
    upgrade(db_url, BEFORE_INDEX)
    engine = make_engine(db_url)
    now = utcnow()
    # Rows written as the schema stood at that revision: the models may have gained columns since.
    with engine.begin() as connection:
        source_id = _insert_as_of(connection, Source(name="old", kind="government", created_at=now))
        story_id = _insert_as_of(connection, Story(created_at=now))
        title, body = "旧库里的招生入学公告", "网上报名于6月截止。"
        _insert_as_of(connection, _old_article(source_id, story_id, title, body))
    engine.dispose()
    upgrade(db_url)
    assert _search(db_url, "旧库里的") == ["http://old.example.gov.cn/1.html"]
    assert _search(db_url, "6月截止") == ["http://old.example.gov.cn/1.html"]
    downgrade(db_url, BEFORE_INDEX)
    engine = make_engine(db_url)
    assert SEARCH_TABLE not in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(db_url)


def _insert_as_of(connection: Connection, row: Any) -> int:
    """Insert a model object's values into its table as reflected now (later columns left out)."""
    table = Table(row.__table__.name, MetaData(), autoload_with=connection)
    values = {
        column.name: getattr(row, column.key)
        for column in row.__table__.columns
        if column.name in table.c and getattr(row, column.key) is not None
    }
    key = connection.execute(table.insert().values(values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def _old_article(source_id: int, story_id: int, title: str, body: str) -> Article:
    now = utcnow()
    return Article(
        url="http://old.example.gov.cn/1.html",
        fetched_url="http://old.example.gov.cn/1.html",
        source_id=source_id,
        story_id=story_id,
        title=title,
        text=body,
        authors=[],
        topics=["education"],
        categories=[],
        flags=[],
        language="zh",
        extra={},
        content_hash="0" * 64,
        alertable=True,
        status="active",
        gone_count=0,
        version=1,
        first_seen=now,
        last_seen=now,
        last_checked=now,
        last_changed=now,
    )


def test_the_indexed_document_is_title_and_text() -> None:
    assert search_document("标题", "正文一\n正文二") == "标题\n正文一\n正文二"
    assert search_document(None, "正文") == "正文"


def test_category_filter_runs_in_the_database(stored: str) -> None:
    engine = make_engine(stored)
    with make_session_factory(engine)() as session:
        found = [a.record["url"] for a in iter_articles(session, ArticleFilter(category="招生入学", limit=5))]
        assert len(found) == 3  # every record() is 招生入学
        assert list(iter_articles(session, ArticleFilter(category="招生"))) == []
    engine.dispose()


def test_articles_search_command_uses_the_index(stored: str, tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(f"database: {stored}\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["articles", "--config", str(config), "--search", "网上报名", "--format", "jsonl"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(line.split('"url": "')[1].split('"')[0] for line in result.output.splitlines() if line) == [
        A,
        B,
    ]


def test_the_read_only_engine_cannot_write(stored: str) -> None:
    engine = open_read_only(stored)
    try:
        with engine.connect() as connection:
            assert connection.execute(select(Article.id)).first() is not None
            with pytest.raises(DBAPIError):
                connection.execute(text("UPDATE articles SET title = 'x'"))
    finally:
        engine.dispose()


@pytest.mark.parametrize("common", [1, 2, 10_000])
def test_both_ways_of_answering_give_the_same_articles(
    stored: str, common: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Below the threshold the index hands over every match; at or above it each article's document
    # is checked as the newest-first scan reaches it. The results must not depend on which.
    monkeypatch.setattr(search, "COMMON_MATCHES", common)
    assert _search(stored, "网上报名") == [A, B]
    assert _search(stored, "公开招聘 4月30日") == [B]
    assert _search(stored, "报名 网上报名 教师") == [B]
    assert _search(stored, "100%") == [B]
    assert _search(stored, "不存在的词语") == []


def _plan(url: str, query: str) -> search.SearchPlan:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return search.plan(session, query)
    finally:
        engine.dispose()


def test_the_plan_follows_how_densely_the_newest_articles_match(
    stored: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 网上报名 is in A and B, not in C, the newest: the probe counts matches among the newest only.
    monkeypatch.setattr(search, "COMMON_MATCHES", 2)
    assert _plan(stored, "网上报名").found is None  # both in the window: read newest first
    monkeypatch.setattr(search, "PROBE_WINDOW", 2)
    assert _plan(stored, "网上报名").found is not None  # only B in the window: ask the index
    monkeypatch.setattr(search, "PROBE_WINDOW", 1)
    monkeypatch.setattr(search, "COMMON_MATCHES", 1)
    assert _plan(stored, "网上报名").found is not None  # the newest (C) does not match
    assert _plan(stored, "暑假放假").found is None  # it does


@pytest.mark.parametrize("common", [1, 10_000])
def test_latin_letters_match_in_either_case_by_index_and_by_scan(
    migrated_url: str, common: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Documents are stored lower-cased and terms lower-cased to match (PostgreSQL then uses LIKE,
    # not ILIKE); FTS5 folds case too, so both databases and both plans agree.
    monkeypatch.setattr(search, "COMMON_MATCHES", common)
    factory = make_session_factory(make_engine(migrated_url))
    ingest(factory, record("招聘岗位表", A, text="详见附件：岗位表.PDF，WPS 可打开。"), now=utcnow())
    for query in ["岗位表.pdf", "岗位表.PDF", "Wps 可打开", "PDF"]:
        assert _search(migrated_url, query) == [A], query
    assert _search(migrated_url, "岗位表.doc") == []
    with factory() as session:
        stored = session.execute(text(f"SELECT document FROM {SEARCH_TABLE}")).scalar_one()
    assert stored == "招聘岗位表\n详见附件：岗位表.pdf，wps 可打开。"
