"""The alerts outbox: alerts created once per idempotency key, and their deliveries (both sides).

A delivery is one alert for one subscription over one channel. States: `pending` (not tried yet, or
waiting), `sent`, `failed` (the last attempt failed; it is retried at `next_attempt_at`, or never
again when that is None). A delivery's `digest_key` is written when a digest carrying it is first
claimed (alerts.delivery) and never changes: it names the one digest the delivery goes out in.
Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Table, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import insert_row
from storage.models import ALERT_KINDS, Alert, Article, Delivery, Source, utcnow

CONTENT_KINDS = ("new", "changed", "withdrawn")
# Deliveries a runner may still (re)try; `sent` ones are done.
RETRYABLE_STATES = ("pending", "failed")
MAX_ERROR_CHARS = 2000
# Deliveries that gave up stay in the operators' digest this long after they were created.
GAVE_UP_SHOWN_FOR = timedelta(days=7)
_INSERT_ALERT = insert(cast(Table, Alert.__table__))


@dataclass(frozen=True, slots=True)
class FailingDelivery:
    """A delivery that keeps failing (operators only)."""

    subscription: str
    channel: str
    state: str  # "retrying" or "gave_up"
    deliveries: int  # how many alerts are affected
    attempts: int
    last_error: str
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertArticle:
    """The article an alert is about, as a digest shows it."""

    id: int
    story_id: int
    url: str
    title: str | None
    text: str
    published_at: str | None
    source_name: str
    source_kind: str
    publication: str | None
    site_name: str | None
    region: str | None
    topics: list[str]
    categories: list[str]
    flags: list[str]
    status: str
    version: int


@dataclass(frozen=True, slots=True)
class DigestAlert:
    """An alert with what a digest needs to render it."""

    id: int
    kind: str
    key: str
    created_at: datetime
    payload: dict[str, Any]
    story_id: int | None
    source_name: str | None  # the source of the article, or of a health alert
    article: AlertArticle | None  # None for health alerts


def add_alert(
    session: Session,
    *,
    kind: str,
    key: str,
    payload: dict[str, Any],
    article_id: int | None = None,
    story_id: int | None = None,
    source_id: int | None = None,
    now: datetime | None = None,
) -> tuple[int, bool]:
    """Create the alert with this key unless it exists: (alert id, whether it was created now)."""
    if kind not in ALERT_KINDS:
        raise ValueError(f"unknown alert kind {kind!r} (known: {', '.join(ALERT_KINDS)})")
    alert = Alert(
        kind=kind,
        key=key,
        payload=payload,
        article_id=article_id,
        story_id=story_id,
        source_id=source_id,
        created_at=now or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        # The key exists (this page was processed before, or by another worker): that alert stands.
        return session.scalars(select(Alert.id).where(Alert.key == key)).one(), False
    return alert.id, True


def insert_alert(
    connection: Connection,
    *,
    kind: str,
    key: str,
    payload: dict[str, Any],
    article_id: int | None = None,
    story_id: int | None = None,
    source_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Create an alert whose key no row can hold yet (the caller knows why): its id.

    A plain INSERT on the connection, without add_alert's savepoint: a key that does exist fails
    the statement (IntegrityError) instead of being looked up.
    """
    if kind not in ALERT_KINDS:
        raise ValueError(f"unknown alert kind {kind!r} (known: {', '.join(ALERT_KINDS)})")
    values = {
        "kind": kind,
        "key": key,
        "payload": payload,
        "article_id": article_id,
        "story_id": story_id,
        "source_id": source_id,
        "created_at": now or utcnow(),
    }
    return insert_row(connection, _INSERT_ALERT, values)


def alerts_for_digest(
    session: Session, *, since: datetime, until: datetime, kinds: Sequence[str] = CONTENT_KINDS
) -> list[DigestAlert]:
    """Alerts created in [since, until) of the given kinds, oldest first, joined with their article."""
    return _digest_alerts(
        session, Alert.created_at >= since, Alert.created_at < until, Alert.kind.in_(list(kinds))
    )


def alerts_by_id(session: Session, alert_ids: Iterable[int]) -> list[DigestAlert]:
    """The alerts with these ids, oldest first, joined with their article as alerts_for_digest does."""
    ids = list(dict.fromkeys(alert_ids))
    return _digest_alerts(session, Alert.id.in_(ids)) if ids else []


def recent_alerts(
    session: Session,
    *,
    kinds: Sequence[str] = CONTENT_KINDS,
    before: tuple[datetime, int] | None = None,
    limit: int = 200,
) -> list[DigestAlert]:
    """Up to `limit` alerts of these kinds, newest first, older than `before` (created_at, id)."""
    conditions: list[ColumnElement[bool]] = [Alert.kind.in_(list(kinds))]
    if before is not None:
        at, alert_id = before
        conditions.append(or_(Alert.created_at < at, and_(Alert.created_at == at, Alert.id < alert_id)))
    return _digest_alerts(session, *conditions, newest_first=True, limit=limit)


def _digest_alerts(
    session: Session, *conditions: ColumnElement[bool], newest_first: bool = False, limit: int | None = None
) -> list[DigestAlert]:
    order = (Alert.created_at.desc(), Alert.id.desc()) if newest_first else (Alert.created_at, Alert.id)
    stmt = (
        select(Alert, Article, Source.name, Source.kind)
        .outerjoin(Article, Article.id == Alert.article_id)
        .outerjoin(Source, Source.id == Alert.source_id)
        .where(*conditions)
        .order_by(*order)
        .limit(limit)
    )
    return [
        DigestAlert(
            id=alert.id,
            kind=alert.kind,
            key=alert.key,
            created_at=alert.created_at,
            payload=alert.payload,
            story_id=alert.story_id,
            source_name=source_name,
            article=_alert_article(article, source_name, source_kind) if article is not None else None,
        )
        for alert, article, source_name, source_kind in session.execute(stmt)
    ]


def _alert_article(article: Article, source_name: str, source_kind: str) -> AlertArticle:
    return AlertArticle(
        id=article.id,
        story_id=article.story_id,
        url=article.url,
        title=article.title,
        text=article.text,
        published_at=article.published_at,
        source_name=source_name,
        source_kind=source_kind,
        publication=article.publication,
        site_name=article.site_name,
        region=article.region,
        topics=list(article.topics),
        categories=list(article.categories),
        flags=list(article.flags),
        status=article.status,
        version=article.version,
    )


def delivery_key(alert_key: str, subscription: str, channel: str) -> str:
    """The idempotency key of one alert to one subscription over one channel."""
    return f"{alert_key}|{subscription}|{channel}"


def ensure_deliveries(
    session: Session,
    alert_ids: Iterable[int],
    subscription: str,
    channel: str,
    *,
    now: datetime | None = None,
) -> list[Delivery]:
    """The deliveries of these alerts to `subscription` over `channel`, created where missing."""
    now = now or utcnow()
    ids = list(dict.fromkeys(alert_ids))
    keys = dict(session.execute(select(Alert.id, Alert.key).where(Alert.id.in_(ids))).all())
    missing = [i for i in ids if i not in keys]
    if missing:
        raise ValueError(f"no alert with id {missing[0]}")
    out: list[Delivery] = []
    for alert_id in ids:
        key = delivery_key(keys[alert_id], subscription, channel)
        delivery = session.scalar(select(Delivery).where(Delivery.key == key))
        if delivery is None:
            delivery = _insert_delivery(session, alert_id, subscription, channel, key, now)
        out.append(delivery)
    return out


def _insert_delivery(
    session: Session, alert_id: int, subscription: str, channel: str, key: str, now: datetime
) -> Delivery:
    delivery = Delivery(
        alert_id=alert_id,
        subscription=subscription,
        channel=channel,
        key=key,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(delivery)
    except IntegrityError:
        return session.scalars(select(Delivery).where(Delivery.key == key)).one()
    return delivery


def due_deliveries(session: Session, now: datetime, *, limit: int | None = None) -> list[Delivery]:
    """Deliveries to attempt now: pending or failed ones whose next attempt time has come."""
    stmt = (
        select(Delivery)
        .where(
            Delivery.state.in_(("pending", "failed")),
            or_(
                and_(Delivery.state == "pending", Delivery.next_attempt_at.is_(None)),
                Delivery.next_attempt_at <= now,
            ),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def claim_deliveries(
    session: Session, ids: Sequence[int], *, digest_key: str, fresh: bool, now: datetime, until: datetime
) -> bool:
    """Lease deliveries `ids` until `until` under `digest_key`, all or none; False if any is taken.

    A conditional UPDATE: it matches only deliveries still retryable, due at `now` and either in no
    digest yet (`fresh`) or in this one. When it matches fewer than all, another runner holds some
    of them (or put them in another digest): the caller must roll back, which undoes the rows it did
    change.
    """
    same_digest = Delivery.digest_key.is_(None) if fresh else Delivery.digest_key == digest_key
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_(ids),
            Delivery.state.in_(RETRYABLE_STATES),
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            same_digest,
        )
        .values(next_attempt_at=until, digest_key=digest_key)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == len(ids))  # type: ignore[attr-defined]


def retryable_deliveries(session: Session, ids: Iterable[int]) -> list[Delivery]:
    """The deliveries among `ids` not sent yet (a claimed digest's members, to be settled)."""
    ids = list(ids)
    if not ids:
        return []
    stmt = select(Delivery).where(Delivery.id.in_(ids), Delivery.state.in_(RETRYABLE_STATES))
    return list(session.scalars(stmt))


def _delivery(session: Session, delivery_id: int) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise ValueError(f"no delivery with id {delivery_id}")
    return delivery


def mark_delivered(session: Session, delivery_id: int, at: datetime) -> Delivery:
    """Record a successful send; a sent delivery is never due again."""
    delivery = _delivery(session, delivery_id)
    delivery.state = "sent"
    delivery.attempts += 1
    delivery.sent_at = at
    delivery.next_attempt_at = None
    session.flush()
    return delivery


def mark_failed(session: Session, delivery_id: int, error: str, next_attempt_at: datetime | None) -> Delivery:
    """Record a failed attempt: retried at `next_attempt_at`, or given up when it is None."""
    delivery = _delivery(session, delivery_id)
    if delivery.state == "sent":
        raise ValueError(f"delivery {delivery_id} was already sent")
    delivery.state = "failed"
    delivery.attempts += 1
    delivery.last_error = error[:MAX_ERROR_CHARS]
    delivery.next_attempt_at = next_attempt_at
    session.flush()
    return delivery


# --- read side for digests and status -------------------------------------------------------


def delivery_count(session: Session, subscription: str) -> int:
    """How many deliveries the subscription has, in any state."""
    query = select(func.count(Delivery.id)).where(Delivery.subscription == subscription)
    return session.scalar(query) or 0


def pending_delivery_count(session: Session) -> int:
    """How many deliveries wait for their first attempt."""
    return session.scalar(select(func.count(Delivery.id)).where(Delivery.state == "pending")) or 0


def alert_counts(session: Session) -> dict[str, int]:
    """{alert kind: number of alerts} in the outbox."""
    rows = session.execute(select(Alert.kind, func.count(Alert.id)).group_by(Alert.kind))
    return {kind: int(number) for kind, number in rows}


def last_sent_at(session: Session, subscription: str) -> datetime | None:
    """When the subscription last had a digest accepted by any of its channels."""
    return session.scalar(select(func.max(Delivery.sent_at)).where(Delivery.subscription == subscription))


def recent_deliveries(session: Session, subscription: str, *, limit: int = 2000) -> list[Delivery]:
    """The subscription's latest deliveries in any state, newest first, at most `limit`."""
    query = (
        select(Delivery)
        .where(Delivery.subscription == subscription)
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def failing_deliveries(session: Session, *, now: datetime) -> list[FailingDelivery]:
    """Failed deliveries, one line per subscription × channel × (retrying | gave_up)."""
    query = (
        select(
            Delivery.subscription,
            Delivery.channel,
            Delivery.next_attempt_at.is_(None),
            func.count(Delivery.id),
            func.max(Delivery.attempts),
            func.max(Delivery.last_error),
            func.min(Delivery.next_attempt_at),
        )
        .where(
            Delivery.state == "failed",
            Delivery.next_attempt_at.is_not(None) | (Delivery.created_at >= now - GAVE_UP_SHOWN_FOR),
        )
        .group_by(Delivery.subscription, Delivery.channel, Delivery.next_attempt_at.is_(None))
        .order_by(Delivery.subscription, Delivery.channel)
    )
    return [
        FailingDelivery(
            subscription=sub,
            channel=channel,
            state="gave_up" if gave_up else "retrying",
            deliveries=count,
            attempts=attempts or 0,
            last_error=error or "",
            next_attempt_at=next_at,
        )
        for sub, channel, gave_up, count, attempts, error, next_at in session.execute(query)
    ]
