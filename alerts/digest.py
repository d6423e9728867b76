"""Building a subscription's digest from stored alerts: the subscription filters and the entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from alerts.model import ChangedEntry, Digest, HealthEntry, NewEntry, WithdrawnEntry
from core.config import Config, Subscription
from storage.models import ALERT_KINDS
from storage.outbox import AlertArticle, DigestAlert, alerts_for_digest, failing_deliveries
from storage.stories import story_summaries

SUMMARY_LINES = 2
SUMMARY_LINE_CHARS = 60
UNTITLED = "（无标题）"


def summarize(text: str, lines: int = SUMMARY_LINES, width: int = SUMMARY_LINE_CHARS) -> str:
    """The first `lines` paragraphs of a text, each cut to `width` characters."""
    out = []
    for paragraph in text.split("\n"):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        out.append(paragraph if len(paragraph) <= width else paragraph[: width - 1] + "…")
        if len(out) == lines:
            break
    return "\n".join(out)


def matches(subscription: Subscription, alert: DigestAlert) -> bool:
    """Whether the subscription wants this alert (kind, topics, categories, regions, sources, keywords)."""
    if alert.kind == "health":
        return subscription.operators
    if (alert.kind == "changed" and not subscription.include_changed) or (
        alert.kind == "withdrawn" and not subscription.include_withdrawn
    ):
        return False
    article = alert.article
    if article is None:
        return False
    if subscription.topics and not set(subscription.topics) & set(article.topics):
        return False
    if subscription.categories and not set(subscription.categories) & set(article.categories):
        return False
    if subscription.regions and not any(r in (article.region or "") for r in subscription.regions):
        return False
    if subscription.sources and article.source_name not in subscription.sources:
        return False
    if subscription.keywords:
        haystack = f"{article.title or ''}\n{article.text}"
        if not any(keyword in haystack for keyword in subscription.keywords):
            return False
    return True


def wanted_alerts(
    session: Session, subscription: Subscription, *, since: datetime, until: datetime
) -> list[DigestAlert]:
    """The alerts created in [since, until) that the subscription wants, oldest first."""
    alerts = alerts_for_digest(session, since=since, until=until, kinds=ALERT_KINDS)
    return [alert for alert in alerts if matches(subscription, alert)]


def _diff_lines(payload: dict[str, Any]) -> list[str]:
    diff = payload.get("diff") or []
    if isinstance(diff, str):
        diff = diff.split("\n")
    return [str(line) for line in diff if str(line).strip()]


def _source_label(article: AlertArticle) -> str:
    # Readers know a site by its own name, not by the key it has in sources.yaml.
    return article.site_name or article.publication or article.source_name or ""


def _category(subscription: Subscription, article: AlertArticle) -> str | None:
    wanted = [c for c in article.categories if c in subscription.categories]
    categories = wanted or article.categories
    return categories[0] if categories else None


def _health_entry(alert: DigestAlert) -> HealthEntry:
    payload = alert.payload or {}
    status = str(payload.get("health") or "")
    previous, error = payload.get("previous"), payload.get("error")
    parts = [f"{previous} → {status}" if previous else "", str(error) if error else ""]
    message = "：".join(p for p in parts if p)
    source = alert.source_name or str(payload.get("source") or "?")
    return HealthEntry(alert.id, source, status, message, alert.created_at)


def digest_from_alerts(
    session: Session,
    config: Config,
    subscription: Subscription,
    alerts: Sequence[DigestAlert],
    *,
    since: datetime,
    until: datetime,
) -> Digest:
    """The digest showing these alerts (already filtered), plus failing deliveries for operators."""
    stories = story_summaries(
        session, {a.story_id for a in alerts if a.kind == "new" and a.story_id is not None}
    )
    new: list[NewEntry] = []
    changed: list[ChangedEntry] = []
    withdrawn: list[WithdrawnEntry] = []
    health: list[HealthEntry] = []
    for alert in alerts:
        article = alert.article
        if alert.kind == "health":
            health.append(_health_entry(alert))
        elif article is None:
            continue
        elif alert.kind == "new":
            publisher, size = stories.get(alert.story_id or -1, (None, 1))
            new.append(
                NewEntry(
                    alert_id=alert.id,
                    title=article.title or UNTITLED,
                    url=article.url,
                    source=_source_label(article),
                    region=article.region,
                    category=_category(subscription, article),
                    published_at=article.published_at,
                    summary=summarize(article.text),
                    first_publisher=publisher,
                    reposts=max(size - 1, 0),
                )
            )
        elif alert.kind == "changed":
            changed.append(
                ChangedEntry(
                    alert.id,
                    article.title or UNTITLED,
                    article.url,
                    _source_label(article),
                    article.region,
                    alert.created_at,
                    _diff_lines(alert.payload or {}),
                )
            )
        elif alert.kind == "withdrawn":
            withdrawn.append(
                WithdrawnEntry(
                    alert.id,
                    article.title or UNTITLED,
                    article.url,
                    _source_label(article),
                    article.region,
                    alert.created_at,
                )
            )
    return Digest(
        subscription=subscription.name,
        since=since,
        until=until,
        new=new,
        changed=changed,
        withdrawn=withdrawn,
        health=health,
        failing=failing_deliveries(session, now=until) if subscription.operators else [],
        link=config.notify.public_url,
    )


def build_digest(
    session: Session, config: Config, subscription: Subscription, *, since: datetime, until: datetime
) -> Digest:
    """The digest of everything the subscription wants among alerts created in [since, until)."""
    alerts = wanted_alerts(session, subscription, since=since, until=until)
    return digest_from_alerts(session, config, subscription, alerts, since=since, until=until)
