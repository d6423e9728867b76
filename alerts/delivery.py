"""The outbox runner: every wanted alert reaches each subscribed channel at least once, and not twice.

One run, for each subscription:
1. in one transaction, create the missing Delivery rows for the alerts created up to the
   subscription's latest schedule slot (unique keys make this safe to repeat);
2. for each channel, claim its due deliveries with a lease (a conditional UPDATE: a concurrent
   runner that loses skips the group), render one digest of them, send it, and mark them sent —
   or failed, to be retried with exponential backoff, giving up after `retry.max_attempts`.

The first claim of a digest writes its idempotency key into each of its deliveries (`digest_key`):
from then on that digest is exactly those deliveries under that key. A retry — after a failure, or
after a crash once the lease (`notify.claim_lease`) ends — sends the same deliveries under the same
key (Message-ID / X-Countywatch-Idempotency-Key), so receivers can drop a copy; alerts that arrived
in between go out in a digest of their own. A failing channel only affects its own deliveries.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from sqlalchemy.orm import Session

from alerts.channels import DeliveryError, make_channel
from alerts.digest import digest_from_alerts, wanted_alerts
from alerts.model import Digest, RenderedDigest
from alerts.render import render_html, render_text
from alerts.retry import next_attempt
from alerts.schedule import first_lookback, last_slot
from core.config import Config, ConfigError, Subscription
from storage.models import Delivery
from storage.outbox import (
    alerts_by_id,
    claim_deliveries,
    delivery_count,
    due_deliveries,
    ensure_deliveries,
    last_sent_at,
    mark_delivered,
    mark_failed,
    retryable_deliveries,
)

logger = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
Outcome = Literal["sent", "retrying", "gave_up"]


@dataclass(frozen=True, slots=True)
class ChannelResult:
    """What happened to one digest sent to one channel."""

    subscription: str
    channel: str
    kind: str
    alerts: int
    key: str
    outcome: Outcome
    error: str | None = None


@dataclass(slots=True)
class DeliveryReport:
    """The outcome of one run: deliveries created, digests sent or failed, previews of a dry run."""

    created: int = 0
    results: list[ChannelResult] = field(default_factory=list)
    previews: list[RenderedDigest] = field(default_factory=list)

    @property
    def sent(self) -> list[ChannelResult]:
        """Digests the channels accepted."""
        return [r for r in self.results if r.outcome == "sent"]

    @property
    def failed(self) -> list[ChannelResult]:
        """Digests that failed (to be retried, or given up)."""
        return [r for r in self.results if r.outcome != "sent"]

    @property
    def ok(self) -> bool:
        """Whether nothing failed."""
        return not self.failed


def digest_key(delivery_keys: Sequence[str]) -> str:
    """The idempotency key of one digest message: a hash of the deliveries it carries."""
    return hashlib.sha256("\n".join(sorted(delivery_keys)).encode()).hexdigest()[:32]


def window_start(session: Session, subscription: Subscription, slot: datetime) -> datetime:
    """Where the next digest starts: the slot of the last digest sent, else a first look-back."""
    last = last_sent_at(session, subscription.name)
    if last is None:
        return slot - first_lookback(subscription)
    return min(last_slot(subscription, last), slot)


def _slug(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "subscription"


def digest_folder(config: Config) -> Path:
    """Where rendered HTML digests are kept (notify.digest_dir, else <data_dir>/digests)."""
    if config.notify.digest_dir:
        return config.path(config.notify.digest_dir)
    return config.data_path / "digests"


def render_digest(digest: Digest, key: str) -> RenderedDigest:
    """The digest's subject, text and HTML under its idempotency key."""
    return RenderedDigest(digest, digest.subject, render_text(digest), render_html(digest), key)


def _archive(config: Config, subscription: str, rendered: RenderedDigest) -> RenderedDigest:
    """Keep the HTML digest on disk and, with notify.public_url, link the message to it."""
    folder = digest_folder(config) / _slug(subscription)
    name = f"{rendered.idempotency_key}.html"
    digest = rendered.digest
    if config.notify.public_url:
        link = f"{config.notify.public_url.rstrip('/')}/{quote(_slug(subscription))}/{name}"
        rendered = render_digest(replace(digest, link=link), rendered.idempotency_key)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(rendered.html, encoding="utf-8")
    except OSError as exc:
        logger.warning("cannot keep the digest in %s: %s", folder, exc.strerror or exc)
    return rendered


def _selected(config: Config, name: str | None) -> list[Subscription]:
    subs = config.notify.subscriptions
    if name is None:
        return list(subs)
    chosen = [s for s in subs if s.name == name]
    if not chosen:
        known = ", ".join(s.name for s in subs) or "none"
        raise ConfigError(f"no subscription named {name!r} (configured: {known})")
    return chosen


def _claim(session_factory: SessionFactory, config: Config, group: DigestGroup, now: datetime) -> bool:
    """Take the group's deliveries until the lease ends, fixing the digest they form and its key.

    False when another runner holds any of them, or a fresh group's delivery was meanwhile put in
    another digest: the conditional UPDATE then matches fewer rows and changes none.
    """
    lease = config.notify.claim_lease
    with session_factory() as session, session.begin():
        claimed = claim_deliveries(
            session, group.ids, digest_key=group.key, fresh=group.fresh, now=now, until=now + lease
        )
        if not claimed:
            session.rollback()
    return claimed


def _settle(
    session_factory: SessionFactory, config: Config, ids: list[int], error: str | None, now: datetime
) -> Outcome:
    with session_factory() as session, session.begin():
        deliveries = retryable_deliveries(session, ids)
        outcome: Outcome = "sent"
        for delivery in deliveries:
            if error is None:
                mark_delivered(session, delivery.id, now)
                continue
            retry_at = next_attempt(config.notify.retry, delivery.attempts, now)
            mark_failed(session, delivery.id, error, retry_at)
            outcome = "gave_up" if retry_at is None else "retrying"
    return outcome


@dataclass(frozen=True, slots=True)
class DigestGroup:
    """The due deliveries of one digest to one channel: fixed by an earlier claim, or fresh."""

    key: str
    fresh: bool  # not claimed before: the claim fixes this membership and key
    ids: list[int]
    alert_ids: list[int]


def digest_groups(due: Sequence[Delivery]) -> dict[tuple[str, str], list[DigestGroup]]:
    """(subscription, channel) -> its digests: those fixed by earlier claims first, then one new one."""
    fixed: dict[tuple[str, str, str], list[Delivery]] = {}
    fresh: dict[tuple[str, str], list[Delivery]] = {}
    for d in due:
        if d.digest_key is None:
            fresh.setdefault((d.subscription, d.channel), []).append(d)
        else:
            fixed.setdefault((d.subscription, d.channel, d.digest_key), []).append(d)
    out: dict[tuple[str, str], list[DigestGroup]] = {}
    for (sub, channel, key), members in fixed.items():
        out.setdefault((sub, channel), []).append(
            DigestGroup(key, False, [d.id for d in members], [d.alert_id for d in members])
        )
    for (sub, channel), members in fresh.items():
        key = digest_key([d.key for d in members])
        out.setdefault((sub, channel), []).append(
            DigestGroup(key, True, [d.id for d in members], [d.alert_id for d in members])
        )
    return out


def _send_group(
    session_factory: SessionFactory,
    config: Config,
    subscription: Subscription,
    channel_name: str,
    group: DigestGroup,
    now: datetime,
) -> ChannelResult | None:
    """Claim, render, send and settle one digest of one channel's due deliveries."""
    if not _claim(session_factory, config, group, now):
        logger.info("deliveries of %s → %s are being sent by another runner", subscription.name, channel_name)
        return None
    ids, key = group.ids, group.key
    with session_factory() as session:
        alerts = alerts_by_id(session, group.alert_ids)
        since = min((a.created_at for a in alerts), default=now)
        digest = digest_from_alerts(session, config, subscription, alerts, since=since, until=now)
    rendered = _archive(config, subscription.name, render_digest(digest, key))
    channel_config = config.notify.channels[channel_name]
    error: str | None = None
    try:
        make_channel(channel_name, channel_config).send(rendered)
    except (DeliveryError, ConfigError) as exc:
        error = str(exc)
    except Exception as exc:
        # A bug in one channel must not stop the others; the traceback goes to the log only.
        logger.exception("channel %r failed unexpectedly", channel_name)
        error = f"internal error in the {channel_config.type} channel: {type(exc).__name__}"
    outcome = _settle(session_factory, config, ids, error, now)
    if error is None:
        logger.info("sent digest %s (%d alerts) to %s → %s", key, len(ids), subscription.name, channel_name)
    else:
        logger.warning(
            "digest %s to %s → %s failed (%s): %s", key, subscription.name, channel_name, outcome, error
        )
    return ChannelResult(subscription.name, channel_name, channel_config.type, len(ids), key, outcome, error)


def deliver_due(
    session_factory: SessionFactory,
    config: Config,
    *,
    now: datetime | None = None,
    subscription: str | None = None,
    dry_run: bool = False,
    since: datetime | None = None,
    immediate: bool = False,
) -> DeliveryReport:
    """Create and send the digests that are due at `now`; safe to re-run at any point.

    `immediate` treats every selected subscription as due now (the `digest` command); `since`
    overrides where the window of new alerts starts. A dry run writes nothing and returns previews.
    ConfigError for an unknown subscription name.
    """
    now = now or datetime.now(UTC)
    report = DeliveryReport()
    subscriptions = _selected(config, subscription)
    for sub in subscriptions:
        slot = now if immediate else last_slot(sub, now)
        with session_factory() as session, session.begin():
            start = since or window_start(session, sub, slot)
            alerts = wanted_alerts(session, sub, since=start, until=slot)
            if dry_run:
                digest = digest_from_alerts(session, config, sub, alerts, since=start, until=slot)
                report.previews.append(
                    render_digest(digest, digest_key([f"{a.key}|{sub.name}" for a in alerts]))
                )
                continue
            before = delivery_count(session, sub.name)
            for channel in sub.channels:
                ensure_deliveries(session, [a.id for a in alerts], sub.name, channel, now=now)
            report.created += delivery_count(session, sub.name) - before
    if dry_run:
        return report
    with session_factory() as session:
        groups = digest_groups(due_deliveries(session, now))
    for sub in subscriptions:
        for channel in sub.channels:
            for group in groups.get((sub.name, channel), []):
                result = _send_group(session_factory, config, sub, channel, group, now)
                if result is not None:
                    report.results.append(result)
    return report
