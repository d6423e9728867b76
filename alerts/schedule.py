"""When a subscription's digest is due: the latest schedule slot at or before a moment.

A digest covers the alerts created up to its slot, so a digest job that runs late (or twice) picks
the same alerts, and alerts created after the slot wait for the next one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.config import Subscription, parse_digest_schedule
from core.timezone import CHINA_TZ

# How far back a subscription's first digest looks, by schedule kind.
FIRST_LOOKBACK = {
    "immediate": timedelta(hours=24),
    "hourly": timedelta(hours=24),
    "daily": timedelta(hours=24),
    "weekly": timedelta(days=7),
}


def last_slot(subscription: Subscription, moment: datetime) -> datetime:
    """The latest time at or before `moment` at which the subscription's digest is due (aware, UTC)."""
    kind, weekday, hour, minute = parse_digest_schedule(subscription.schedule)
    local = moment.astimezone(CHINA_TZ)
    if kind == "immediate":
        slot = local
    elif kind == "hourly":
        slot = local.replace(minute=0, second=0, microsecond=0)
    else:
        assert hour is not None and minute is not None
        slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if kind == "weekly":
            assert weekday is not None
            slot -= timedelta(days=(local.weekday() - weekday) % 7)
        if slot > local:
            slot -= timedelta(days=7 if kind == "weekly" else 1)
    return slot.astimezone(UTC)


def first_lookback(subscription: Subscription) -> timedelta:
    """How far before its slot a subscription's first digest reaches (24 h, or 7 d for weekly)."""
    return FIRST_LOOKBACK[parse_digest_schedule(subscription.schedule)[0]]
