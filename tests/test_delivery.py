"""The outbox runner end to end: stored alerts → digests → a real SMTP server and HTTP receiver.

Time is driven by passing `now`; nothing sleeps. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts import delivery
from alerts.delivery import deliver_due
from storage.db import make_engine, make_session_factory
from storage.models import Delivery
from storage.outbox import ensure_deliveries
from tests.digest_servers import Receiver, free_port, http_receiver, smtp_server
from tests.digest_support import health_alert, ingest, local, notify_config, record

ANNOUNCEMENT = (
    "关于2024年秋季小学一年级招生入学工作的通知",
    "http://jyj.zhenping.gov.cn/tzgg/2024/0419/1.html",
)


@pytest.fixture
def factory(migrated_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(migrated_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as running:
        yield running


def email(port: int) -> dict[str, object]:
    return {
        "type": "email",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "watch@jyj.example.org",
        "sender_name": "县教育观察",
        "to": ["parent@example.org"],
        "timeout": 5,
    }


def hook(receiver: Receiver, path: str = "/hook") -> dict[str, object]:
    return {"type": "webhook", "url": receiver.url + path, "timeout": 5}


def states(factory: sessionmaker[Session]) -> list[tuple[str, str, int]]:
    with factory() as session:
        query = select(Delivery.channel, Delivery.state, Delivery.attempts).order_by(Delivery.id)
        return [(channel, state, attempts) for channel, state, attempts in session.execute(query)]


def test_daily_digest_waits_for_its_slot_and_is_sent_once(
    factory: sessionmaker[Session], migrated_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    with smtp_server() as smtp:
        config = notify_config(
            tmp_path,
            migrated_url,
            {"mail": email(smtp.port), "hook": hook(receiver)},
            [{"name": "家长", "channels": ["mail", "hook"], "schedule": "daily 08:00"}],
        )
        ingest(factory, record(*ANNOUNCEMENT), now=local(19, 7, 0))

        early = deliver_due(factory, config, now=local(19, 7, 59))
        assert early.results == [] and early.created == 0
        assert smtp.mails == [] and receiver.requests == []

        report = deliver_due(factory, config, now=local(19, 8, 0, 30))
        assert [(r.channel, r.outcome, r.alerts) for r in report.results] == [
            ("mail", "sent", 1),
            ("hook", "sent", 1),
        ]
        assert report.created == 2
        (mail,) = smtp.mails
        assert mail.message["Subject"] == "【教育公告摘要】1 条新公告（家长）"
        body = mail.message.get_body(("plain",))
        assert body is not None and ANNOUNCEMENT[0] in body.get_content()
        (request,) = receiver.requests
        assert request.json()["new"][0]["url"] == ANNOUNCEMENT[1]
        assert mail.message["Message-ID"] == f"<{report.results[0].key}@jyj.example.org>"

        # Re-running, at once or the next day, sends nothing again.
        assert deliver_due(factory, config, now=local(19, 8, 5)).results == []
        assert deliver_due(factory, config, now=local(20, 8, 5)).results == []
        assert len(smtp.mails) == 1 and len(receiver.requests) == 1
    assert states(factory) == [("mail", "sent", 1), ("hook", "sent", 1)]


def test_alerts_after_the_slot_wait_for_the_next_digest(
    factory: sessionmaker[Session], migrated_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    config = notify_config(
        tmp_path, migrated_url, {"hook": hook(receiver)}, [{"name": "家长", "channels": ["hook"]}]
    )
    ingest(factory, record(*ANNOUNCEMENT), now=local(19, 7, 0))
    ingest(
        factory, record("关于中考报名的通知", "http://jyj.zhenping.gov.cn/tzgg/2.html"), now=local(19, 9, 0)
    )
    deliver_due(factory, config, now=local(19, 9, 30))
    deliver_due(factory, config, now=local(20, 8, 1))
    titles = [[e["title"] for e in r.json()["new"]] for r in receiver.requests]
    assert titles == [[ANNOUNCEMENT[0]], ["关于中考报名的通知"]]


def test_smtp_server_down_then_back_gets_the_digest_after_backoff(
    factory: sessionmaker[Session], migrated_url: str, tmp_path: Path
) -> None:
    port = free_port()
    config = notify_config(
        tmp_path,
        migrated_url,
        {"mail": email(port)},
        [{"name": "家长", "channels": ["mail"], "schedule": "immediate"}],
        retry={"max_attempts": 5, "backoff": "30s", "max_backoff": "10m"},
    )
    t0 = local(19, 10, 0)
    ingest(factory, record(*ANNOUNCEMENT), now=t0 - timedelta(minutes=1))
    first = deliver_due(factory, config, now=t0)
    assert [(r.outcome, r.alerts) for r in first.results] == [("retrying", 1)]
    assert "refused" in (first.results[0].error or "")
    with factory() as session:
        (row,) = session.scalars(select(Delivery))
        assert (row.state, row.attempts, row.next_attempt_at) == ("failed", 1, t0 + timedelta(seconds=30))
        assert "refused" in (row.last_error or "")
    with smtp_server(port=port) as smtp:
        assert deliver_due(factory, config, now=t0 + timedelta(seconds=20)).results == []  # still backing off
        assert smtp.mails == []
        second = deliver_due(factory, config, now=t0 + timedelta(seconds=31))
        assert [r.outcome for r in second.results] == ["sent"]
        assert second.results[0].key == first.results[0].key  # same Message-ID on every attempt
        assert len(smtp.mails) == 1
        assert deliver_due(factory, config, now=t0 + timedelta(minutes=5)).results == []
        assert len(smtp.mails) == 1
    assert states(factory) == [("mail", "sent", 2)]


def test_failing_channel_gives_up_without_blocking_others_and_operators_hear_of_it(
    factory: sessionmaker[Session], migrated_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    with smtp_server() as smtp:
        config = notify_config(
            tmp_path,
            migrated_url,
            {"broken": hook(receiver, "/broken"), "mail": email(smtp.port), "ops": hook(receiver, "/ops")},
            [
                {"name": "家长", "channels": ["broken", "mail"], "schedule": "immediate"},
                {
                    "name": "值班",
                    "channels": ["ops"],
                    "schedule": "immediate",
                    "operators": True,
                    "topics": [],
                },
            ],
            retry={"max_attempts": 3, "backoff": "10s", "max_backoff": "1m"},
        )
        t0 = local(19, 10, 0)
        ingest(factory, record(*ANNOUNCEMENT), now=t0 - timedelta(minutes=1))
        receiver.replies.extend([(500, b"down"), (200, b"{}")] + [(500, b"down")] * 2)
        outcomes = []
        for offset in (0, 10, 30, 3600):
            report = deliver_due(factory, config, now=t0 + timedelta(seconds=offset))
            outcomes.append([(r.subscription, r.channel, r.outcome) for r in report.results])
        assert outcomes == [
            [("家长", "broken", "retrying"), ("家长", "mail", "sent"), ("值班", "ops", "sent")],
            [("家长", "broken", "retrying")],
            [("家长", "broken", "gave_up")],
            [],
        ]
        assert len(smtp.mails) == 1
    broken = [r for r in receiver.requests if r.path == "/broken"]
    assert len(broken) == 3
    assert len({r.headers["X-Countywatch-Idempotency-Key"] for r in broken}) == 1

    # The operators' next digest (a source-health alert) reports the delivery that gave up.
    assert health_alert(factory, "xiangtan-daily", now=t0 + timedelta(hours=2)) is not None
    report = deliver_due(factory, config, now=t0 + timedelta(hours=2, seconds=1))
    assert [(r.subscription, r.outcome) for r in report.results] == [("值班", "sent")]
    payload = receiver.requests[-1].json()
    assert payload["health"][0]["source"] == "xiangtan-daily"
    assert payload["health"][0]["status"] == "failing"
    # The source never had a good run, so the message claims no "ok → failing".
    assert payload["health"][0]["message"] == "list page answered HTTP 500"
    (failure,) = payload["failing_deliveries"]
    assert (failure["subscription"], failure["channel"], failure["state"], failure["attempts"]) == (
        "家长",
        "broken",
        "gave_up",
        3,
    )
    assert "HTTP 500" in failure["last_error"]


def test_crash_between_send_and_mark_resends_once_under_the_same_key(
    factory: sessionmaker[Session],
    migrated_url: str,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = notify_config(
        tmp_path,
        migrated_url,
        {"hook": hook(receiver)},
        [{"name": "家长", "channels": ["hook"], "schedule": "immediate"}],
    )
    t0 = local(19, 10, 0)
    ingest(factory, record(*ANNOUNCEMENT), now=t0 - timedelta(minutes=1))

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # the process dies right after the receiver accepted the digest

    with monkeypatch.context() as patch:
        patch.setattr(delivery, "_settle", crash)
        with pytest.raises(KeyboardInterrupt):
            deliver_due(factory, config, now=t0)
    assert len(receiver.requests) == 1
    # A runner started straight after the crash leaves the claimed deliveries alone...
    assert deliver_due(factory, config, now=t0 + timedelta(minutes=1)).results == []
    # ...and once the claim has lapsed sends them again, under the same idempotency key.
    report = deliver_due(factory, config, now=t0 + timedelta(minutes=10, seconds=1))
    assert [r.outcome for r in report.results] == ["sent"]
    keys = [r.headers["X-Countywatch-Idempotency-Key"] for r in receiver.requests]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert deliver_due(factory, config, now=t0 + timedelta(hours=1)).results == []
    assert len(receiver.requests) == 2


def _alert_ids(request_json: dict[str, object]) -> list[int]:
    return [entry["alert_id"] for entry in request_json["new"]]  # type: ignore[attr-defined, index]


def test_a_retried_digest_keeps_its_alerts_and_key_when_new_alerts_arrive_in_between(
    factory: sessionmaker[Session], migrated_url: str, receiver: Receiver, tmp_path: Path, monkeypatch
) -> None:
    config = notify_config(
        tmp_path,
        migrated_url,
        {"hook": hook(receiver)},
        [{"name": "家长", "channels": ["hook"], "schedule": "immediate"}],
        claim_lease="2m",
    )
    t0 = local(19, 10, 0)
    first = ingest(factory, record(*ANNOUNCEMENT), now=t0 - timedelta(minutes=1))

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # the process dies right after the receiver accepted the digest

    with monkeypatch.context() as patch:
        patch.setattr(delivery, "_settle", crash)
        with pytest.raises(KeyboardInterrupt):
            deliver_due(factory, config, now=t0)
    # A new alert arrives before the retry.
    title, url = "关于做好2024年中考报名工作的通知", "http://jyj.zhenping.gov.cn/tzgg/2024/0419/2.html"
    second = ingest(factory, record(title, url), now=t0 + timedelta(seconds=30))
    # The next run comes after the lease (the daemon was down): the cut digest is sent again with
    # the same key and the same single alert; the new alert goes in a digest of its own.
    report = deliver_due(factory, config, now=t0 + timedelta(minutes=2, seconds=1))
    assert [(r.alerts, r.outcome) for r in report.results] == [(1, "sent"), (1, "sent")]
    sent = [(r.headers["X-Countywatch-Idempotency-Key"], _alert_ids(r.json())) for r in receiver.requests]
    assert len(sent) == 3
    assert sent[1] == sent[0] == (sent[0][0], [first.alert_ids[0]])
    assert sent[2][1] == [second.alert_ids[0]] and sent[2][0] != sent[0][0]
    assert deliver_due(factory, config, now=t0 + timedelta(hours=1)).results == []
    assert {state for _, state, _ in states(factory)} == {"sent"}


def test_a_failed_digest_is_retried_with_the_same_alerts_and_key(
    factory: sessionmaker[Session], migrated_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    config = notify_config(
        tmp_path,
        migrated_url,
        {"hook": hook(receiver)},
        [{"name": "家长", "channels": ["hook"], "schedule": "immediate"}],
        retry={"backoff": "1m"},
    )
    t0 = local(19, 10, 0)
    first = ingest(factory, record(*ANNOUNCEMENT), now=t0 - timedelta(minutes=1))
    receiver.replies.append((502, b"bad gateway"))
    assert [r.outcome for r in deliver_due(factory, config, now=t0).results] == ["retrying"]
    title, url = "关于做好2024年中考报名工作的通知", "http://jyj.zhenping.gov.cn/tzgg/2024/0419/2.html"
    second = ingest(factory, record(title, url), now=t0 + timedelta(seconds=30))
    report = deliver_due(factory, config, now=t0 + timedelta(minutes=2))
    assert sorted((r.alerts, r.outcome) for r in report.results) == [(1, "sent"), (1, "sent")]
    sent = [(r.headers["X-Countywatch-Idempotency-Key"], _alert_ids(r.json())) for r in receiver.requests]
    assert sent[0] in sent[1:]  # the retry: same key, same alert
    assert sorted(ids for _, ids in sent[1:]) == sorted([[first.alert_ids[0]], [second.alert_ids[0]]])
    assert len({key for key, _ in sent}) == 2


def test_a_claimed_group_is_left_to_the_runner_holding_it(
    factory: sessionmaker[Session], migrated_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    config = notify_config(
        tmp_path, migrated_url, {"hook": hook(receiver)}, [{"name": "家长", "channels": ["hook"]}]
    )
    result = ingest(factory, record(*ANNOUNCEMENT), now=local(19, 7, 0))
    now = local(19, 8, 1)
    with factory() as session, session.begin():
        (group,) = delivery.digest_groups(
            ensure_deliveries(session, result.alert_ids, "家长", "hook", now=now)
        )[("家长", "hook")]
    assert delivery._claim(factory, config, group, now) is True
    assert delivery._claim(factory, config, group, now) is False
    assert deliver_due(factory, config, now=now).results == []
    assert receiver.requests == []


def test_dry_run_previews_and_records_nothing(
    factory: sessionmaker[Session], migrated_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    config = notify_config(
        tmp_path, migrated_url, {"hook": hook(receiver)}, [{"name": "家长", "channels": ["hook"]}]
    )
    ingest(factory, record(*ANNOUNCEMENT), now=local(19, 7, 0))
    report = deliver_due(factory, config, now=local(19, 8, 1), dry_run=True)
    assert report.results == [] and report.created == 0
    (preview,) = report.previews
    assert ANNOUNCEMENT[0] in preview.text and ANNOUNCEMENT[0] in preview.html
    assert states(factory) == [] and receiver.requests == []


def test_digest_html_is_kept_and_linked_from_public_url(
    factory: sessionmaker[Session], migrated_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    config = notify_config(
        tmp_path,
        migrated_url,
        {"hook": hook(receiver)},
        [{"name": "家长 群", "channels": ["hook"], "schedule": "immediate"}],
        public_url="https://watch.example.org/digests/",
    )
    ingest(factory, record(*ANNOUNCEMENT), now=local(19, 7, 0))
    (result,) = deliver_due(factory, config, now=local(19, 7, 1)).results
    kept = tmp_path / "data" / "digests" / "家长_群" / f"{result.key}.html"
    assert ANNOUNCEMENT[0] in kept.read_text(encoding="utf-8")
    link = receiver.requests[0].json()["link"]
    assert link == f"https://watch.example.org/digests/%E5%AE%B6%E9%95%BF_%E7%BE%A4/{result.key}.html"
