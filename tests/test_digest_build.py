"""Building digests from stored alerts (through storage's own ingest), and schedule slots."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from alerts.digest import build_digest
from alerts.schedule import first_lookback, last_slot
from core.config import Subscription
from storage.db import make_engine, make_session_factory
from storage.recheck import DELETED_NOTICE, record_gone
from tests.digest_support import ingest, local, notify_config, record

TITLE = "关于2024年秋季小学一年级招生入学工作的通知"
OFFICIAL = "http://jyj.zhenping.gov.cn/tzgg/2024/0419/1.html"
REPOST = "http://www.aknews.example.cn/jy/2024/0419/88.html"
TEXT = "各学校、各位家长：\n适龄儿童请于5月10日前完成网上报名，逾期不再受理。\n招生范围按划片执行。"


def sub(schedule: str) -> Subscription:
    return Subscription(name="s", channels=["c"], schedule=schedule)


@pytest.mark.parametrize(
    ("schedule", "now", "slot"),
    [
        ("immediate", local(19, 9, 17, 5), local(19, 9, 17, 5)),
        ("hourly", local(19, 9, 17, 5), local(19, 9, 0)),
        ("daily 08:00", local(19, 7, 59), local(18, 8, 0)),
        ("daily 08:00", local(19, 8, 0), local(19, 8, 0)),
        ("daily 08:00", local(19, 23, 30), local(19, 8, 0)),
        # 2024-04-19 is a Friday.
        ("weekly mon 09:30", local(19, 12, 0), local(15, 9, 30)),
        ("weekly fri 09:30", local(19, 9, 0), local(12, 9, 30)),
        ("weekly fri 09:30", local(19, 9, 30), local(19, 9, 30)),
    ],
)
def test_last_slot(schedule: str, now: datetime, slot: datetime) -> None:
    assert last_slot(sub(schedule), now) == slot


def test_first_lookback_is_a_day_or_a_week() -> None:
    assert first_lookback(sub("daily 08:00")) == timedelta(days=1)
    assert first_lookback(sub("weekly mon 08:00")) == timedelta(days=7)


@pytest.fixture
def factory(migrated_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(migrated_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_digest_of_new_changed_and_withdrawn_alerts(
    factory: sessionmaker[Session], migrated_url: str, tmp_path: Path
) -> None:
    config = notify_config(
        tmp_path,
        migrated_url,
        {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook"}},
        [{"name": "家长", "channels": ["hook"]}],
        public_url="https://watch.example.org/",
    )
    ingest(
        factory,
        record(TITLE, OFFICIAL, text=TEXT, published_at="2024-04-19T09:00:00+08:00"),
        now=local(19, 9),
    )
    ingest(
        factory,
        record(TITLE, REPOST, text=TEXT, published_at="2024-04-19T10:00:00+08:00"),
        source="ankang-news",
        kind="newspaper",
        now=local(19, 10),
    )
    changed = TEXT.replace("5月10日", "5月15日")
    ingest(
        factory,
        record(TITLE, OFFICIAL, text=changed, published_at="2024-04-19T09:00:00+08:00"),
        now=local(19, 11),
    )
    with factory() as session, session.begin():
        record_gone(session, REPOST, status=DELETED_NOTICE, now=local(19, 12))
    subscription = config.notify.subscriptions[0]
    with factory() as session:
        digest = build_digest(session, config, subscription, since=local(19, 0), until=local(20, 0))
    (new,) = digest.new
    assert (new.title, new.url, new.source, new.region) == (
        TITLE,
        OFFICIAL,
        "zhenping-jyj",
        "陕西省安康市镇坪县",
    )
    assert (new.category, new.published_at) == ("招生入学", "2024-04-19T09:00:00+08:00")
    assert new.first_publisher == "zhenping-jyj"
    assert new.reposts == 1
    assert new.summary == "各学校、各位家长：\n适龄儿童请于5月15日前完成网上报名，逾期不再受理。"
    (change,) = digest.changed
    assert change.url == OFFICIAL and change.changed_at == local(19, 11)
    assert "- 适龄儿童请于5月10日前完成网上报名，逾期不再受理。" in change.diff
    assert "+ 适龄儿童请于5月15日前完成网上报名，逾期不再受理。" in change.diff
    (gone,) = digest.withdrawn
    assert (gone.url, gone.source, gone.withdrawn_at) == (REPOST, "ankang-news", local(19, 12))
    assert digest.health == [] and digest.failing == []
    assert digest.link == "https://watch.example.org/"

    # The window is half-open: [since, until).
    with factory() as session:
        later = build_digest(session, config, subscription, since=local(19, 11), until=local(19, 12))
    assert [e.url for e in later.changed] == [OFFICIAL] and later.new == [] and later.withdrawn == []


def test_sites_are_named_as_they_name_themselves(
    factory: sessionmaker[Session], migrated_url: str, tmp_path: Path
) -> None:
    config = notify_config(
        tmp_path,
        migrated_url,
        {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook"}},
        [{"name": "家长", "channels": ["hook"]}],
    )
    official = record(TITLE, OFFICIAL, text=TEXT)
    official.site_name = "镇坪县教育体育科技局"
    ingest(factory, official, now=local(19, 9))
    with factory() as session:
        digest = build_digest(
            session, config, config.notify.subscriptions[0], since=local(19, 0), until=local(20, 0)
        )
    (new,) = digest.new
    assert (new.source, new.first_publisher) == ("镇坪县教育体育科技局", "镇坪县教育体育科技局")
