"""The outbox: alerts for a digest window, idempotent deliveries, retries and give-ups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from storage.repository import (
    add_alert,
    alerts_by_id,
    alerts_for_digest,
    due_deliveries,
    ensure_deliveries,
    finish_crawl_run,
    ingest_article,
    mark_delivered,
    mark_failed,
    record_gone,
    start_crawl_run,
)
from tests.storage_builders import SOURCES, T0, make_article

URL = "http://www.zhenping.gov.cn/a/1.html"


def _one_alert(session: Session) -> int:
    result = ingest_article(session, make_article(), source=SOURCES["government"], fetched_url=URL, now=T0)
    (alert_id,) = result.alert_ids
    return alert_id


def test_alerts_for_digest_joins_the_article_and_respects_the_window(session: Session) -> None:
    alert_id = _one_alert(session)
    record_gone(session, URL, status=0, now=T0 + timedelta(hours=2))
    run = start_crawl_run(session, "zhenping-gov", now=T0)
    finish_crawl_run(session, run, {"pages": 0}, "failing", "HTTP 500", now=T0 + timedelta(hours=1))
    session.commit()

    rows = alerts_for_digest(session, since=T0, until=T0 + timedelta(hours=3))
    assert [(r.kind, r.id == alert_id) for r in rows] == [("new", True), ("withdrawn", False)]
    new = rows[0]
    assert new.article is not None
    assert new.article.title == "镇坪县召开教育高质量发展大会"
    assert new.article.source_name == "zhenping-gov" and new.article.source_kind == "government"
    assert new.article.region == "陕西省安康市镇坪县" and new.article.categories == ["会议"]
    assert new.story_id == new.article.story_id and new.source_name == "zhenping-gov"
    assert rows[1].article is not None and rows[1].article.status == "withdrawn"

    assert [r.kind for r in alerts_for_digest(session, since=T0, until=T0 + timedelta(hours=1))] == ["new"]
    health = alerts_for_digest(session, since=T0, until=T0 + timedelta(hours=3), kinds=("health",))
    assert len(health) == 1 and health[0].article is None
    assert health[0].payload["health"] == "failing" and health[0].source_name == "zhenping-gov"


def test_add_alert_is_idempotent_and_checks_the_kind(session: Session) -> None:
    first = add_alert(session, kind="health", key="health:test", payload={"a": 1}, now=T0)
    second = add_alert(session, kind="health", key="health:test", payload={"a": 2}, now=T0)
    assert first == (first[0], True) and second == (first[0], False)
    with pytest.raises(ValueError, match="unknown alert kind 'news'"):
        add_alert(session, kind="news", key="x", payload={})


def test_ensure_deliveries_is_idempotent(session: Session) -> None:
    result = ingest_article(session, make_article(), source=SOURCES["government"], fetched_url=URL, now=T0)
    (alert_id,) = result.alert_ids
    first = ensure_deliveries(session, [alert_id], "parents", "dingtalk", now=T0)
    session.commit()
    again = ensure_deliveries(session, [alert_id, alert_id], "parents", "dingtalk", now=T0)
    other = ensure_deliveries(session, [alert_id], "parents", "email", now=T0)
    assert [d.id for d in again] == [first[0].id]
    assert other[0].id != first[0].id
    assert first[0].state == "pending" and first[0].attempts == 0
    assert first[0].key == f"new:story:{result.story_id}|parents|dingtalk"
    with pytest.raises(ValueError, match="no alert with id 999999"):
        ensure_deliveries(session, [999999], "parents", "email")


def test_retry_then_deliver_then_never_due_again(session: Session) -> None:
    (delivery,) = ensure_deliveries(session, [_one_alert(session)], "parents", "email", now=T0)
    assert [d.id for d in due_deliveries(session, T0)] == [delivery.id]

    mark_failed(session, delivery.id, "SMTP 451 try later", T0 + timedelta(minutes=5))
    assert due_deliveries(session, T0 + timedelta(minutes=4)) == []
    (due,) = due_deliveries(session, T0 + timedelta(minutes=5))
    assert due.state == "failed" and due.attempts == 1 and due.last_error == "SMTP 451 try later"

    mark_delivered(session, delivery.id, T0 + timedelta(minutes=6))
    session.commit()
    assert due_deliveries(session, T0 + timedelta(days=1)) == []
    assert (
        delivery.state == "sent" and delivery.attempts == 2 and delivery.sent_at == T0 + timedelta(minutes=6)
    )
    with pytest.raises(ValueError, match="already sent"):
        mark_failed(session, delivery.id, "late", None)


def test_given_up_delivery_is_never_due(session: Session) -> None:
    (delivery,) = ensure_deliveries(session, [_one_alert(session)], "parents", "email", now=T0)
    mark_failed(session, delivery.id, "x" * 5000, None)
    assert due_deliveries(session, T0 + timedelta(days=365)) == []
    assert delivery.state == "failed" and len(delivery.last_error or "") == 2000
    with pytest.raises(ValueError, match="no delivery with id 424242"):
        mark_delivered(session, 424242, T0)


def test_alerts_by_id_returns_the_same_rows_as_the_digest(session: Session) -> None:
    alert_id = _one_alert(session)
    run = start_crawl_run(session, "zhenping-gov", now=T0)
    health_id = finish_crawl_run(session, run, {}, "blocked", "WAF challenge", now=T0 + timedelta(minutes=1))
    assert health_id is not None
    by_id = alerts_by_id(session, [health_id, alert_id, health_id])
    window = alerts_for_digest(session, since=T0, until=T0 + timedelta(hours=1), kinds=("new", "health"))
    assert by_id == window and [a.id for a in by_id] == [alert_id, health_id]
    assert alerts_by_id(session, []) == []
