"""The daemon's job table: ids, triggers, APScheduler defaults, and resuming after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from countywatch.config import config_from_dict
from countywatch.daemon_hooks import make_daemon
from scheduler.daemon import Daemon
from scheduler.jobs import (
    CATCHUP_JOB_ID,
    CRAWL_MISFIRE_GRACE,
    DIGEST_MISFIRE_GRACE,
    RETRY_JOB_ID,
    TICK_JOB_ID,
    build_job_specs,
    digest_trigger,
    resume_time,
    source_trigger,
)
from scheduler.state import OK, STATE_FILE, JobLedger
from storage.schedule import set_next_due
from tests.daemon_fakes import RecordingBackend, fake_crawl_command

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai, a Monday


def _config_dict(tmp_path: Path) -> dict:
    return {
        "database": f"sqlite:///{tmp_path / 'cw.db'}",
        "data_dir": str(tmp_path / "data"),
        "sources": [
            {
                "name": "zhenping",
                "start_urls": ["http://127.0.0.1:1/"],
                "schedule": {"interval": "6h", "jitter": "5m"},
            },
            {"name": "ankang", "start_urls": ["http://127.0.0.1:2/"], "schedule": "30 7 * * *"},
            {"name": "off", "start_urls": ["http://127.0.0.1:3/"], "enabled": False},
        ],
        "notify": {
            "channels": {"hook": {"type": "webhook", "url": "http://127.0.0.1:4/hook"}},
            "subscriptions": [
                {"name": "now", "channels": ["hook"], "schedule": "immediate"},
                {"name": "each-hour", "channels": ["hook"], "schedule": "hourly"},
                {"name": "morning", "channels": ["hook"], "schedule": "daily 08:00"},
                {"name": "monday", "channels": ["hook"], "schedule": "weekly mon 09:00"},
            ],
        },
    }


def test_one_job_per_enabled_source_and_subscription_plus_retry(tmp_path):
    specs = build_job_specs(config_from_dict(_config_dict(tmp_path)))
    assert [(s.id, s.kind, s.target) for s in specs] == [
        ("crawl:zhenping", "crawl", "zhenping"),
        ("crawl:ankang", "crawl", "ankang"),
        ("digest:now", "digest", "now"),
        ("digest:each-hour", "digest", "each-hour"),
        ("digest:morning", "digest", "morning"),
        ("digest:monday", "digest", "monday"),
        (RETRY_JOB_ID, "retry", None),
    ]
    assert {s.misfire_grace_time for s in specs if s.kind == "crawl"} == {CRAWL_MISFIRE_GRACE}
    assert {s.misfire_grace_time for s in specs if s.kind == "digest"} == {DIGEST_MISFIRE_GRACE}


def test_no_retry_job_without_subscriptions(tmp_path):
    data = _config_dict(tmp_path)
    del data["notify"]
    assert RETRY_JOB_ID not in {s.id for s in build_job_specs(config_from_dict(data))}


def test_interval_source_trigger_has_interval_and_jitter(tmp_path):
    config = config_from_dict(_config_dict(tmp_path))
    trigger = source_trigger(config.source("zhenping").schedule)
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(hours=6)
    assert trigger.jitter == 300


def test_cron_source_trigger_fires_at_the_crontab_time_in_shanghai(tmp_path):
    config = config_from_dict(_config_dict(tmp_path))
    trigger = source_trigger(config.source("ankang").schedule)
    assert isinstance(trigger, CronTrigger)
    fire = trigger.get_next_fire_time(None, NOW)
    assert fire is not None
    assert fire.astimezone(UTC) == datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # 07:30 the next day, +08:00


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("hourly", datetime(2026, 3, 2, 2, 0, tzinfo=UTC)),
        ("daily 08:00", datetime(2026, 3, 3, 0, 0, tzinfo=UTC)),
        ("daily 10:15", datetime(2026, 3, 2, 2, 15, tzinfo=UTC)),
        ("weekly mon 09:00", datetime(2026, 3, 9, 1, 0, tzinfo=UTC)),
        ("weekly wed 09:00", datetime(2026, 3, 4, 1, 0, tzinfo=UTC)),
    ],
)
def test_digest_triggers(schedule, expected):
    fire = digest_trigger(schedule).get_next_fire_time(None, NOW)
    assert fire is not None
    assert fire.astimezone(UTC) == expected


def test_immediate_digest_runs_every_minute():
    trigger = digest_trigger("immediate")
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(minutes=1)


def test_resume_interval_source():
    six = timedelta(hours=6)
    trigger = IntervalTrigger(hours=6)
    assert resume_time(trigger, None, NOW, six) == NOW  # never ran: now
    assert resume_time(trigger, NOW - timedelta(hours=7), NOW, six) == NOW  # overdue: now
    recent = NOW - timedelta(hours=2)
    assert resume_time(trigger, recent, NOW, six) == recent + six  # continues its rhythm


def test_resume_cron_source():
    trigger = CronTrigger.from_crontab("30 7 * * *", timezone="Asia/Shanghai")
    before_last_slot = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # 07:00 Shanghai: 07:30 was missed
    assert resume_time(trigger, before_last_slot, NOW, None) == NOW
    after_last_slot = datetime(2026, 3, 1, 23, 45, tzinfo=UTC)
    assert resume_time(trigger, after_last_slot, NOW, None) is None


def _daemon(tmp_path: Path, data: dict) -> Daemon:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return make_daemon(
        path,
        RecordingBackend(tmp_path / "calls.jsonl"),
        crawl_command=fake_crawl_command(tmp_path),
        clock=lambda: NOW,
    )


def test_scheduled_jobs_carry_the_apscheduler_defaults(tmp_path):
    daemon = _daemon(tmp_path, _config_dict(tmp_path))
    daemon.start(paused=True)
    try:
        jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
        due = dict(daemon.schedules.next_runs())
    finally:
        daemon.stop()
    # Batch mode: the sources' schedules are data; one tick job crawls whatever is due.
    others = {s.id for s in build_job_specs(daemon.config) if s.kind != "crawl"}
    assert set(jobs) == others | {TICK_JOB_ID, CATCHUP_JOB_ID}
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time is not None and job.misfire_grace_time > 0
    assert jobs[TICK_JOB_ID].misfire_grace_time == CRAWL_MISFIRE_GRACE
    assert jobs[TICK_JOB_ID].trigger.interval == timedelta(minutes=1)
    # Never crawled: due at once on start; the disabled source is not scheduled.
    assert due == {"zhenping": NOW, "ankang": NOW}


def test_one_job_per_source_when_batching_is_off(tmp_path):
    data = _config_dict(tmp_path)
    data["crawl"] = {"batch_size": 0}
    daemon = _daemon(tmp_path, data)
    daemon.start(paused=True)
    try:
        jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
        due = dict(daemon.schedules.next_runs())
    finally:
        daemon.stop()
    assert set(jobs) == {s.id for s in build_job_specs(daemon.config)} | {CATCHUP_JOB_ID}
    assert jobs["crawl:zhenping"].misfire_grace_time == CRAWL_MISFIRE_GRACE
    assert jobs["crawl:zhenping"].next_run_time == NOW
    assert due == {}  # no source is left for a tick that does not exist


def test_restart_continues_from_the_last_successful_run(tmp_path):
    data = _config_dict(tmp_path)
    last = NOW - timedelta(hours=2)
    JobLedger(Path(data["data_dir"]) / STATE_FILE).finished("crawl:zhenping", OK, last)
    daemon = _daemon(tmp_path, data)
    daemon.start(paused=True)
    try:
        assert daemon.schedules.next_runs()["zhenping"] == last + timedelta(hours=6)
    finally:
        daemon.stop()


def test_a_due_time_kept_in_the_database_survives_a_restart(tmp_path):
    data = _config_dict(tmp_path)
    # crawled after today's 07:30 slot: by its schedule due tomorrow; the database says sooner
    JobLedger(Path(data["data_dir"]) / STATE_FILE).finished("crawl:ankang", OK, NOW - timedelta(hours=1))
    later = NOW + timedelta(hours=3)
    daemon = _daemon(tmp_path, data)
    daemon.start(paused=True)
    try:
        with daemon.schedules.sessions() as session, session.begin():
            set_next_due(session, {"ankang": later})
    finally:
        daemon.stop()
    daemon = _daemon(tmp_path, data)
    daemon.start(paused=True)
    try:
        assert daemon.schedules.next_runs()["ankang"] == later
    finally:
        daemon.stop()


def test_reload_reschedules_a_changed_source_and_leaves_the_others(tmp_path):
    data = _config_dict(tmp_path)
    last = NOW - timedelta(hours=1)
    JobLedger(Path(data["data_dir"]) / STATE_FILE).finished("crawl:zhenping", OK, last)
    daemon = _daemon(tmp_path, data)
    daemon.start(paused=True)
    try:
        before = dict(daemon.schedules.next_runs())
        assert before["zhenping"] == last + timedelta(hours=6)
        data["sources"][0]["schedule"] = {"interval": "2h"}
        (tmp_path / "sources.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        assert daemon.reload() is True
        after = dict(daemon.schedules.next_runs())
        assert after["zhenping"] == last + timedelta(hours=2)
        assert after["ankang"] == before["ankang"]
        # a source dropped from the file is taken off the schedule
        data["sources"] = data["sources"][:1]
        (tmp_path / "sources.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        assert daemon.reload() is True
        assert set(daemon.schedules.next_runs()) == {"zhenping"}
    finally:
        daemon.stop()


def test_reload_refuses_a_new_database(tmp_path):
    data = _config_dict(tmp_path)
    daemon = _daemon(tmp_path, data)
    daemon.start(paused=True)
    try:
        data["database"] = f"sqlite:///{tmp_path / 'other.db'}"
        data["sources"] = data["sources"][:1]
        (tmp_path / "sources.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        assert daemon.reload() is False
        assert daemon.scheduler.get_job(TICK_JOB_ID) is not None
        assert "ankang" in daemon.schedules.next_runs()
    finally:
        daemon.stop()
