"""Two workers storing the same page at the same time: one article, one alert, no error.

SQLite serialises writers from the start of their transaction, so the real race below never reaches
the fallback for a lost insert there; the second test makes the other worker's row appear between
the lookup and the insert on both databases, which is the interleaving that fallback exists for.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_session_factory
from storage.models import Alert, Article
from storage.repository import IngestResult, ingest_article
from storage.source_rows import source_row
from tests.storage_builders import SOURCES, T0, make_article

GOV = SOURCES["government"]
URL = "http://www.zhenping.gov.cn/a/1.html"


def _wait_until_waiting_for_a_lock(engine: Engine, pid: int, deadline_seconds: float = 20.0) -> None:
    deadline = time.monotonic() + deadline_seconds
    query = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
    with engine.connect() as conn:
        while conn.execute(query, {"pid": pid}).scalar() != "Lock":
            conn.rollback()
            assert time.monotonic() < deadline, "the second worker never waited for the first one's row"
            time.sleep(0.01)


def test_racing_workers_store_one_article_with_one_alert(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as setup:
        source_row(setup, GOV, T0)
        setup.commit()
    results: dict[str, IngestResult] = {}
    errors: list[BaseException] = []
    second_pid: list[int] = []
    pid_known = threading.Event()

    def second_worker() -> None:
        try:
            with factory() as session:
                if engine.dialect.name == "postgresql":
                    second_pid.append(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
                pid_known.set()
                results["b"] = ingest_article(
                    session, make_article(), source=GOV, fetched_url=URL, now=T0 + timedelta(minutes=1)
                )
                session.commit()
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)

    with factory() as first:
        results["a"] = ingest_article(first, make_article(), source=GOV, fetched_url=URL, now=T0)
        worker = threading.Thread(target=second_worker)
        worker.start()
        if engine.dialect.name == "postgresql":
            # The second worker has inserted its own copy and waits on the URL's unique index.
            assert pid_known.wait(timeout=20)
            _wait_until_waiting_for_a_lock(engine, second_pid[0])
        first.commit()
    worker.join(timeout=60)
    assert not worker.is_alive() and errors == []
    assert results["a"].outcome == "new" and results["b"].outcome == "unchanged"
    assert results["b"].article_id == results["a"].article_id and results["b"].alert_ids == ()
    with factory() as check:
        assert check.scalar(select(func.count()).select_from(Article)) == 1
        assert check.scalar(select(func.count()).select_from(Alert)) == 1


class _OtherWorkerWinsSession(Session):
    """A session whose first lookup of an article misses, after which another worker stores it.

    The other worker's ingest runs in the same transaction, right after the miss: the insert that
    follows then hits the URL's unique index exactly as it does when a parallel worker commits first.
    """

    other_worker_done = False

    def scalar(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        found = super().scalar(statement, *args, **kwargs)
        if (
            found is None
            and not self.other_worker_done
            and Article in statement.column_descriptions[0].values()
        ):
            self.other_worker_done = True
            with self.begin_nested():
                ingest_article(self, make_article(), source=GOV, fetched_url=URL, now=T0)
        return found


def test_an_insert_lost_to_another_worker_becomes_a_recheck(engine: Engine) -> None:
    factory = sessionmaker(engine, class_=_OtherWorkerWinsSession, expire_on_commit=False)
    with factory() as session:
        result = ingest_article(
            session, make_article(), source=GOV, fetched_url=URL, now=T0 + timedelta(minutes=1)
        )
        session.commit()
        assert session.other_worker_done
    assert result.outcome == "unchanged" and result.alert_ids == ()
    with factory() as check:
        assert check.scalar(select(func.count()).select_from(Article)) == 1
        assert check.scalar(select(func.count()).select_from(Alert)) == 1
