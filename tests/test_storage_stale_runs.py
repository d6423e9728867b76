"""interrupt_dead_runs closes only unfinished runs of dead processes on this host; run_status and
latest_runs tell `status` how each source's newest run stands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from storage.models import CrawlRun
from storage.repository import (
    SourceRef,
    finish_crawl_run,
    interrupt_dead_runs,
    latest_runs,
    run_status,
    start_crawl_run,
)

T0 = datetime(2024, 4, 19, 2, 0, tzinfo=UTC)
DEAD, LIVE = 4_000_001, 4_000_002


def alive(pid: int) -> bool:
    return pid == LIVE


def test_only_dead_processes_of_this_host_are_interrupted(session: Session) -> None:
    ref = SourceRef("zhenping", "education_bureau")
    dead = start_crawl_run(session, ref, now=T0, pid=DEAD, host="here")
    live = start_crawl_run(session, ref, now=T0, pid=LIVE, host="here")
    elsewhere = start_crawl_run(session, ref, now=T0, pid=DEAD, host="there")
    unowned = start_crawl_run(session, ref, now=T0)  # distributed: no process owns it
    done = start_crawl_run(session, ref, now=T0, pid=DEAD, host="here")
    finish_crawl_run(session, done, {}, "ok", now=T0 + timedelta(minutes=1))

    later = T0 + timedelta(hours=1)
    assert interrupt_dead_runs(session, "here", alive, now=later) == [dead]
    row = session.get(CrawlRun, dead)
    assert row is not None and row.finished_at == later and row.health is None
    assert row.error is not None and row.error.startswith("interrupted")
    for run_id in (live, elsewhere, unowned):
        other = session.get(CrawlRun, run_id)
        assert other is not None and other.finished_at is None
    assert interrupt_dead_runs(session, "here", alive, now=later) == []  # once


def test_latest_run_status(session: Session) -> None:
    start_crawl_run(session, SourceRef("zhenping"), now=T0, pid=LIVE, host="here")
    newest = start_crawl_run(
        session, SourceRef("zhenping"), now=T0 + timedelta(hours=1), pid=DEAD, host="here"
    )
    start_crawl_run(session, SourceRef("dongqu"), now=T0, pid=LIVE, host="here")
    runs = latest_runs(session)
    assert runs["zhenping"].id == newest
    assert run_status(runs["zhenping"], "here", alive) == "interrupted"  # its process is gone
    assert run_status(runs["zhenping"], "there", alive) == "running"  # another machine's: unknown
    assert run_status(runs["dongqu"], "here", alive) == "running"
    interrupt_dead_runs(session, "here", alive)
    assert run_status(latest_runs(session)["zhenping"], "there", alive) == "interrupted"
