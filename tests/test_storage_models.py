"""The models on both backends: UTC timestamps, readable JSON, and the constraints that guard data."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from storage.models import Alert, Source, Story

CST = timezone(timedelta(hours=8))


def test_timestamps_come_back_in_utc(session: Session) -> None:
    local = datetime(2024, 3, 1, 16, 30, tzinfo=CST)
    session.add(Source(name="s", kind="government", created_at=local))
    session.commit()
    session.expire_all()
    stored = session.scalars(select(Source)).one().created_at
    assert stored == local and stored.utcoffset() == timedelta(0) and stored.hour == 8


def test_naive_timestamps_are_refused(session: Session) -> None:
    session.add(Source(name="s", kind="government", created_at=datetime(2024, 3, 1, 8, 0)))
    with pytest.raises(StatementError, match="naive datetime 2024-03-01T08:00:00 given"):
        session.flush()


def test_json_keeps_chinese_readable(session: Session) -> None:
    now = datetime(2024, 3, 1, tzinfo=CST)
    session.add(Alert(kind="health", key="k", payload={"source": "镇坪县教体局"}, created_at=now))
    session.commit()
    raw = session.execute(text("SELECT payload FROM alerts")).scalar_one()
    assert "镇坪县教体局" in (raw if isinstance(raw, str) else str(raw))
    assert session.scalars(select(Alert)).one().payload == {"source": "镇坪县教体局"}


def test_alert_keys_are_unique(session: Session) -> None:
    now = datetime(2024, 3, 1, tzinfo=CST)
    session.add(Alert(kind="health", key="same", payload={}, created_at=now))
    session.commit()
    session.add(Alert(kind="health", key="same", payload={}, created_at=now))
    with pytest.raises(IntegrityError):
        session.commit()


def test_unknown_kind_is_refused_by_the_database(session: Session) -> None:
    session.add(Alert(kind="gossip", key="k", payload={}, created_at=datetime(2024, 3, 1, tzinfo=CST)))
    with pytest.raises(IntegrityError, match="ck_alerts_kind"):
        session.commit()


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(Story(canonical_article_id=12345, created_at=datetime(2024, 3, 1, tzinfo=CST)))
    with pytest.raises(IntegrityError):
        session.commit()
