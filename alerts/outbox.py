"""Read side of the delivery log that `storage.outbox` does not offer, and the retry backoff.

Creating, picking and settling deliveries is `storage.outbox`'s job; this module adds what the digest
and the delivery engine need besides: alerts by id, when a subscription last got a digest, and which
deliveries keep failing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.model import FailingDelivery
from countywatch.config import Retry, parse_duration
from storage.models import Alert, Article, Delivery, Source
from storage.outbox import AlertArticle, DigestAlert

# Deliveries that gave up stay in the operators' digest this long after they were created.
GAVE_UP_SHOWN_FOR = timedelta(days=7)


def backoff_delay(retry: Retry, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: `backoff` doubled each time, capped at `max_backoff`."""
    delay = parse_duration(retry.backoff) * (2 ** max(attempts - 1, 0))
    return min(delay, parse_duration(retry.max_backoff))


def next_attempt(retry: Retry, attempts_so_far: int, now: datetime) -> datetime | None:
    """When to try again after one more failure, or None when that failure is the last allowed."""
    attempts = attempts_so_far + 1
    if attempts >= retry.max_attempts:
        return None
    return now + backoff_delay(retry, attempts)


def digest_alerts(session: Session, ids: Iterable[int]) -> list[DigestAlert]:
    """The alerts with these ids, joined with their articles as `storage.outbox.alerts_for_digest` does."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    query = (
        select(Alert, Article, Source.name, Source.kind)
        .outerjoin(Article, Article.id == Alert.article_id)
        .outerjoin(Source, Source.id == Alert.source_id)
        .where(Alert.id.in_(ids))
        .order_by(Alert.created_at, Alert.id)
    )
    out = []
    for alert, article, source_name, source_kind in session.execute(query):
        out.append(
            DigestAlert(
                id=alert.id,
                kind=alert.kind,
                key=alert.key,
                created_at=alert.created_at,
                payload=alert.payload,
                story_id=alert.story_id,
                source_name=source_name,
                article=_article(article, source_name, source_kind) if article is not None else None,
            )
        )
    return out


def _article(article: Article, source_name: str, source_kind: str) -> AlertArticle:
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


def last_sent_at(session: Session, subscription: str) -> datetime | None:
    """When the subscription last had a digest accepted by any of its channels."""
    return session.scalar(select(func.max(Delivery.sent_at)).where(Delivery.subscription == subscription))


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
