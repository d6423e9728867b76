"""The daemon's jobs as data: one per source schedule, one per digest subscription, one retry job.

`build_job_specs(config)` is pure, so the job table can be checked without starting anything; the
daemon turns each spec into an APScheduler job with the same defaults every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.config import Config, Schedule, format_duration, parse_digest_schedule
from core.timezone import CHINA_TZ_NAME

JobKind = Literal["crawl", "tick", "digest", "retry"]

# Digest times are read on the clock of the people receiving them.
RETRY_JOB_ID = "deliveries:retry"
CATCHUP_JOB_ID = "deliveries:catchup"
# The batch tick: one job that crawls whatever sources are due (per-source schedules are data).
TICK_JOB_ID = "crawls:tick"

# How late a run may still start after its time (e.g. the machine was suspended); later ones are
# dropped and reported as missed — coalescing means only one catch-up run happens anyway.
CRAWL_MISFIRE_GRACE = 15 * 60
DIGEST_MISFIRE_GRACE = 60 * 60
RETRY_MISFIRE_GRACE = 60


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What one scheduler job is: id, what it runs, when, and how late it may start."""

    id: str
    kind: JobKind
    target: str | None  # the source or subscription name
    schedule: str  # the configured schedule, compared on reload to decide whether to reschedule
    misfire_grace_time: int

    def trigger(self, config: Config, *, start: datetime | None = None) -> BaseTrigger:
        """A fresh trigger for this job; `start` is the first fire time of an interval trigger."""
        if self.kind == "crawl":
            assert self.target is not None
            return source_trigger(config.source(self.target).schedule, start=start)
        if self.kind == "digest":
            return digest_trigger(self.schedule, start=start)
        if self.kind == "tick":
            return IntervalTrigger(
                seconds=config.crawl.tick.total_seconds(), start_date=start, timezone="UTC"
            )
        # Outbox retries are due on the scale of notify.retry.backoff (tens of seconds by default).
        every = config.notify.retry.every
        return IntervalTrigger(seconds=every.total_seconds(), start_date=start, timezone=CHINA_TZ_NAME)


def crawl_job_id(source: str) -> str:
    """The job id of a source's crawl."""
    return f"crawl:{source}"


def digest_job_id(subscription: str) -> str:
    """The job id of a subscription's digest."""
    return f"digest:{subscription}"


def source_trigger(schedule: Schedule, *, start: datetime | None = None) -> BaseTrigger:
    """IntervalTrigger or CronTrigger.from_crontab, with the schedule's jitter."""
    jitter = schedule.jitter_seconds or None
    interval = schedule.interval
    if interval is not None:
        return IntervalTrigger(
            seconds=interval.total_seconds(), start_date=start, timezone=schedule.timezone, jitter=jitter
        )
    assert schedule.cron is not None
    trigger = CronTrigger.from_crontab(schedule.cron, timezone=schedule.timezone)
    trigger.jitter = jitter
    return trigger


def digest_trigger(schedule: str, *, start: datetime | None = None) -> BaseTrigger:
    """immediate: every minute; hourly: on the hour; daily HH:MM; weekly <day> HH:MM."""
    kind, weekday, hour, minute = parse_digest_schedule(schedule)
    if kind == "immediate":
        return IntervalTrigger(minutes=1, start_date=start, timezone=CHINA_TZ_NAME)
    if kind == "hourly":
        return CronTrigger(minute=0, timezone=CHINA_TZ_NAME)
    if kind == "daily":
        return CronTrigger(hour=hour, minute=minute, timezone=CHINA_TZ_NAME)
    return CronTrigger(day_of_week=weekday, hour=hour, minute=minute, timezone=CHINA_TZ_NAME)


def batched(config: Config) -> bool:
    """Whether the daemon crawls due sources in batches (one tick job) rather than one job each."""
    return config.crawl.batch_size > 0


def tick_spec(config: Config) -> JobSpec:
    """The batch tick's job."""
    return JobSpec(
        TICK_JOB_ID, "tick", None, f"every {format_duration(config.crawl.tick)}", CRAWL_MISFIRE_GRACE
    )


def next_due(schedule: Schedule, after: datetime, rng: random.Random | None = None) -> datetime:
    """When a source crawled at `after` is due again: one interval later, or the next cron time,
    plus a random jitter of up to the schedule's `jitter`."""
    jitter = (
        timedelta(seconds=(rng or random).uniform(0, schedule.jitter_seconds))
        if schedule.jitter_seconds
        else timedelta(0)
    )
    interval = schedule.interval
    if interval is not None:
        return after + interval + jitter
    assert schedule.cron is not None
    fire = CronTrigger.from_crontab(schedule.cron, timezone=schedule.timezone).get_next_fire_time(None, after)
    assert fire is not None  # a five-field crontab always fires again
    return fire + jitter


def first_due(schedule: Schedule, last_success: datetime | None, now: datetime) -> datetime:
    """When a source is first due once the daemon (re)starts: now if a run was missed, else on schedule."""
    due = resume_time(source_trigger(schedule), last_success, now, schedule.interval)
    return due if due is not None else next_due(schedule, now)


def build_job_specs(config: Config) -> list[JobSpec]:
    """Every job the configuration asks for (disabled sources have none).

    The per-source crawl specs are the sources' schedules; in batch mode (`crawl.batch_size` > 0)
    the daemon keeps them as data and runs one `tick_spec` job instead of one job each.
    """
    specs = [
        JobSpec(
            id=crawl_job_id(source.name),
            kind="crawl",
            target=source.name,
            schedule=source.schedule.model_dump_json(),
            misfire_grace_time=CRAWL_MISFIRE_GRACE,
        )
        for source in config.sources
        if source.enabled
    ]
    specs += [
        JobSpec(
            id=digest_job_id(sub.name),
            kind="digest",
            target=sub.name,
            schedule=sub.schedule,
            misfire_grace_time=DIGEST_MISFIRE_GRACE,
        )
        for sub in config.notify.subscriptions
    ]
    if config.notify.subscriptions:
        every = f"every {format_duration(config.notify.retry.every)}"
        specs.append(JobSpec(RETRY_JOB_ID, "retry", None, every, RETRY_MISFIRE_GRACE))
    return specs


def resume_time(
    trigger: BaseTrigger, last_success: datetime | None, now: datetime, interval: timedelta | None
) -> datetime | None:
    """When a crawl should next run given its last success: None means "as the trigger says".

    A source that never ran, or whose last success is older than its interval (or whose cron time
    passed since), is due now; otherwise an interval source continues from its last success.
    """
    if last_success is None:
        return now
    if interval is not None:
        due = last_success + interval
        return now if due <= now else due
    missed = trigger.get_next_fire_time(None, last_success)
    if missed is not None and missed <= now:
        return now
    return None
