"""Crawl runs, source health alerts, known pages and the decaying re-check schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.digest import digest_from_alerts
from core.config import Config, Subscription
from storage.models import Alert
from storage.outbox import alerts_by_id
from storage.repository import (
    RecheckPolicy,
    SourceRef,
    Validators,
    finish_crawl_run,
    finish_crawl_runs,
    health_history,
    ingest_article,
    known_pages,
    mark_checked,
    next_check,
    source_health,
    start_crawl_run,
    start_crawl_runs,
)
from tests.storage_builders import SOURCES, T0, make_article

GOV = SOURCES["government"]
URL = "http://www.zhenping.gov.cn/a/1.html"
DAY = timedelta(days=1)


def test_recheck_waits_double_with_age_and_stop_at_the_max_age() -> None:
    policy = RecheckPolicy(after=DAY, max_age=30 * DAY)
    checks = [T0]
    while (due := next_check(T0, checks[-1], policy)) is not None:
        checks.append(due)
    assert [(c - T0).days for c in checks] == [0, 1, 2, 4, 8, 16]


def test_known_pages_and_mark_checked(session: Session) -> None:
    policy = RecheckPolicy(after=DAY, max_age=30 * DAY)
    ingest_article(session, make_article(), source=GOV, fetched_url=URL, recheck=policy, now=T0)
    ingest_article(
        session, make_article("dongqu"), source=SOURCES["newspaper"], fetched_url="http://n.example.com/1"
    )
    pages = known_pages(session, "zhenping-gov")
    assert list(pages) == [URL]
    page = pages[URL]
    assert page.first_seen == T0 and page.next_check_at == T0 + DAY and page.status == "active"
    assert page.due(T0 + DAY) and not page.due(T0 + DAY - timedelta(seconds=1))

    assert mark_checked(session, URL, recheck=policy, now=T0 + DAY)
    assert known_pages(session, "zhenping-gov")[URL].next_check_at == T0 + 2 * DAY
    assert not mark_checked(session, "http://www.zhenping.gov.cn/unknown.html")
    assert known_pages(session, "nobody") == {}


def test_validators_are_kept_for_conditional_rechecks(session: Session) -> None:
    first = Validators('"a1"', "Fri, 01 Mar 2024 08:00:00 GMT")
    fresh = make_article(published_at="2024-03-01")
    ingest_article(session, fresh, source=GOV, fetched_url=URL, validators=first, now=T0)
    page = known_pages(session, "zhenping-gov")[URL]
    assert (page.etag, page.last_modified) == (first.etag, first.last_modified)
    assert page.revalidatable() and page.recent(T0 + 2 * DAY, 3 * DAY)
    assert not page.recent(T0 + 4 * DAY, 3 * DAY)
    # A notice published last year and first seen today (a site's first crawl) is not recent.
    old = "http://www.zhenping.gov.cn/a/old.html"
    ingest_article(
        session, make_article("dongqu", published_at="2023-06-20"), source=GOV, fetched_url=old, now=T0
    )
    assert not known_pages(session, "zhenping-gov")[old].recent(T0 + DAY, 3 * DAY)
    # An unchanged full answer with new validators (a server restart, say): the new ones are kept.
    second = Validators('"a2"', None)
    result = ingest_article(session, fresh, source=GOV, fetched_url=URL, validators=second, now=T0 + DAY)
    assert result.outcome == "unchanged"
    page = known_pages(session, "zhenping-gov")[URL]
    assert (page.etag, page.last_modified) == ('"a2"', None)
    # A record stored without an answer (countywatch extract) keeps what was there.
    ingest_article(session, fresh, source=GOV, fetched_url=URL, now=T0 + 2 * DAY)
    assert known_pages(session, "zhenping-gov")[URL].etag == '"a2"'


def test_health_changes_raise_operator_alerts_only_on_change(session: Session) -> None:
    states = ["ok", "failing", "failing", "blocked", "ok", "ok"]
    alert_ids = []
    for i, state in enumerate(states):
        run = start_crawl_run(session, GOV, now=T0 + i * DAY)
        error = None if state == "ok" else f"{state} on run {i}"
        alert_ids.append(finish_crawl_run(session, run, {"pages": i}, state, error, now=T0 + i * DAY))
    session.commit()
    assert [a is not None for a in alert_ids] == [False, True, False, True, True, False]
    alerts = session.scalars(select(Alert).order_by(Alert.id)).all()
    assert {a.kind for a in alerts} == {"health"}
    assert [(a.payload["previous"], a.payload["health"]) for a in alerts] == [
        ("ok", "failing"),
        ("failing", "blocked"),
        ("blocked", "ok"),
    ]
    (row,) = source_health(session)
    assert (row.name, row.kind, row.health, row.since) == ("zhenping-gov", "government", "ok", T0 + 4 * DAY)
    assert row.last_run_at == T0 + 5 * DAY and row.last_error is None
    history = health_history(session, "zhenping-gov", limit=3)
    assert [h.health for h in history] == ["ok", "ok", "blocked"]
    assert history[2].error == "blocked on run 3" and history[0].stats == {"pages": 5}


def test_a_source_never_ok_does_not_claim_it_was(session: Session) -> None:
    run = start_crawl_run(session, GOV, now=T0)
    alert_id = finish_crawl_run(session, run, {}, "failing", "HTTP 500", now=T0)
    session.commit()
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.payload["previous"] is None and alert.payload["health"] == "failing"
    ops = Subscription(name="ops", channels=["mail"], operators=True)
    digest = digest_from_alerts(session, Config(), ops, alerts_by_id(session, [alert.id]), since=T0, until=T0)
    assert [(h.status, h.message) for h in digest.health] == [("failing", "HTTP 500")]


def test_finish_rejects_unknown_health_and_run(session: Session) -> None:
    run = start_crawl_run(session, "new-source", now=T0)
    with pytest.raises(ValueError, match="unknown health state 'great'"):
        finish_crawl_run(session, run, {}, "great")
    with pytest.raises(ValueError, match="no crawl run with id 987654"):
        finish_crawl_run(session, 987654, {}, "ok")


def test_batch_of_runs_records_what_one_by_one_would(session: Session) -> None:
    refs = [GOV, SourceRef(name="fresh-paper", kind="newspaper")]
    start_crawl_run(session, GOV, now=T0)  # GOV has a row and a health already; the paper is new
    first = start_crawl_runs(session, refs, now=T0 + DAY)
    alerts = finish_crawl_runs(
        session,
        [
            (first["zhenping-gov"], {"pages": 3}, "ok", None),
            (first["fresh-paper"], {}, "failing", "timeout: 2"),
        ],
        now=T0 + DAY,
    )
    session.commit()
    assert alerts[0] is None and alerts[1] is not None  # only a change of health raises an alert
    rows = {row.name: row for row in source_health(session)}
    assert (rows["fresh-paper"].kind, rows["fresh-paper"].health) == ("newspaper", "failing")
    assert rows["fresh-paper"].last_error == "timeout: 2"
    assert rows["zhenping-gov"].last_run_at == T0 + DAY
    assert health_history(session, "zhenping-gov", limit=1)[0].stats == {"pages": 3}
    with pytest.raises(ValueError, match="no crawl run with id 987654"):
        finish_crawl_runs(session, [(987654, {}, "ok", None)])
    with pytest.raises(ValueError, match="unknown health state 'great'"):
        finish_crawl_runs(session, [(first["fresh-paper"], {}, "great", None)])
