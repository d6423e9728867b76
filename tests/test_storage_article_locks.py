"""Workers storing at the same time on PostgreSQL: only stores that could meet wait for each other.

Each "worker" below stores as DistributedStorePipeline does: the article's locks
(storage/article_locks.py), then the ingest against the near-duplicate index on disk
(storage/neardup_stored.py), in one transaction that the test holds open to make the race happen
for certain.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from core.urls import canonicalize_url
from crawler.article import Article as Record
from storage.article_locks import lock_articles
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Article, Story
from storage.neardup_stored import StoredNearDupIndex
from storage.repository import IngestResult, ingest_article
from storage.rules import SourceRef
from storage.source_rows import source_row
from tests.storage_builders import SOURCES, T0, make_article, paragraphs

pytestmark = pytest.mark.postgres

GOV, PAPER = SOURCES["government"], SOURCES["newspaper"]


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    with make_session_factory(engine)() as setup:
        source_row(setup, GOV, T0)
        source_row(setup, PAPER, T0)
        setup.commit()
    yield engine
    engine.dispose()


@dataclass
class Worker:
    """One worker's database connection."""

    sessions: sessionmaker[Session]

    def store(self, session: Session, article: Record, source: SourceRef, url: str) -> IngestResult:
        canonical = canonicalize_url(url, mobile_hosts=source.mobile_hosts)
        lock_articles(session, [(canonical, article.text)])
        index = StoredNearDupIndex(session)
        return ingest_article(session, article, source=source, fetched_url=url, index=index, now=T0)


def _backend_pid(session: Session) -> int:
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _wait_until_waiting_for_a_lock(engine: Engine, pid: int, deadline_seconds: float = 20.0) -> None:
    deadline = time.monotonic() + deadline_seconds
    query = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
    with engine.connect() as conn:
        while conn.execute(query, {"pid": pid}).scalar() != "Lock":
            conn.rollback()
            assert time.monotonic() < deadline, "the second worker never waited for the first one"
            time.sleep(0.01)


def _reprint() -> Record:
    """The zhenping notice as a newspaper reprints it: its own lead before the first paragraph."""
    paras = paragraphs("zhenping")
    return make_article("zhenping", paras=["本报讯（记者 李明）" + paras[0], *paras[1:]])


class Racer(threading.Thread):
    """A second worker storing one article in its own transaction, committed at once."""

    def __init__(self, worker: Worker, article: Record, source: SourceRef, url: str) -> None:
        super().__init__()
        self.worker, self.article, self.source, self.url = worker, article, source, url
        self.pid: int | None = None
        self.started_storing = threading.Event()
        self.result: IngestResult | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.worker.sessions() as session:
                self.pid = _backend_pid(session)
                self.started_storing.set()
                self.result = self.worker.store(session, self.article, self.source, self.url)
                session.commit()
        except BaseException as exc:  # reported to the test thread
            self.error = exc
            self.started_storing.set()


def test_two_copies_stored_at_once_make_one_story(pg: Engine) -> None:
    a, b = Worker(make_session_factory(pg)), Worker(make_session_factory(pg))
    with a.sessions() as first:
        original = a.store(first, make_article(), GOV, "http://www.zhenping.gov.cn/a/1.html")
        racer = Racer(b, _reprint(), PAPER, "http://www.xtrb.cn/b/2.html")
        racer.start()
        assert racer.started_storing.wait(20) and racer.pid is not None
        # The copy waits for the original's transaction: it could be its near-duplicate.
        _wait_until_waiting_for_a_lock(pg, racer.pid)
        first.commit()
    racer.join(60)
    assert not racer.is_alive() and racer.error is None and racer.result is not None
    assert (original.outcome, racer.result.outcome) == ("new", "duplicate")
    assert racer.result.story_id == original.story_id
    with a.sessions() as check:
        assert check.scalar(select(func.count()).select_from(Story)) == 1


def test_different_articles_store_without_waiting(pg: Engine) -> None:
    a, b = Worker(make_session_factory(pg)), Worker(make_session_factory(pg))
    with a.sessions() as first:
        a.store(first, make_article(), GOV, "http://www.zhenping.gov.cn/a/1.html")
        racer = Racer(b, make_article("farming"), PAPER, "http://www.xtrb.cn/b/3.html")
        racer.start()
        # The first transaction is still open: a global store lock would hold the second one here.
        racer.join(60)
        assert not racer.is_alive(), "an unrelated article waited for another worker's store"
        first.commit()
    assert racer.error is None and racer.result is not None and racer.result.outcome == "new"
    with a.sessions() as check:
        assert check.scalar(select(func.count()).select_from(Story)) == 2


def test_the_same_page_stored_at_once_is_one_row(pg: Engine) -> None:
    a, b = Worker(make_session_factory(pg)), Worker(make_session_factory(pg))
    url = "http://www.zhenping.gov.cn/a/1.html"
    with a.sessions() as first:
        a.store(first, make_article(), GOV, url)
        racer = Racer(b, make_article(), GOV, "http://m.zhenping.gov.cn/a/1.html")  # the mobile twin
        racer.start()
        assert racer.started_storing.wait(20) and racer.pid is not None
        _wait_until_waiting_for_a_lock(pg, racer.pid)
        first.commit()
    racer.join(60)
    assert not racer.is_alive() and racer.error is None and racer.result is not None
    assert racer.result.outcome == "unchanged"
    with a.sessions() as check:
        assert check.scalar(select(func.count()).select_from(Article)) == 1
