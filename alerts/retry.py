"""The retry backoff of failed deliveries (the outbox itself, both sides, is `storage.outbox`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.config import Retry


def backoff_delay(retry: Retry, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: `backoff` doubled each time, capped at `max_backoff`."""
    delay = retry.backoff * (2 ** max(attempts - 1, 0))
    return min(delay, retry.max_backoff)


def next_attempt(retry: Retry, attempts_so_far: int, now: datetime) -> datetime | None:
    """When to try again after one more failure, or None when that failure is the last allowed."""
    attempts = attempts_so_far + 1
    if attempts >= retry.max_attempts:
        return None
    return now + backoff_delay(retry, attempts)
