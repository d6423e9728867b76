"""The countywatch daemon: APScheduler jobs for crawls, digests and delivery retries.

One `Daemon` owns one database (the daemon lock), one job ledger (`scheduler.state`) and one
BackgroundScheduler. Crawls run in batches: one tick job takes the sources that are due by their
own schedules (kept in the database, `scheduler.batch`) and crawls them in one process, so the job
store holds a handful of jobs and a tick starts one process whatever the number of sources
(`crawl.batch_size: 0` runs a job and a process per source instead).

The main thread only waits for signals: SIGTERM/SIGINT stop (no new job starts;
a running crawl gets `stop_grace` seconds to finish, then is interrupted and recorded so), SIGHUP
reloads the configuration (validated first; a bad file is logged and the old one kept).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from core.config import Config, ConfigError
from scheduler.backend import Backend
from scheduler.batch import ScheduleStore
from scheduler.crawl_process import (
    CrawlCommand,
    default_crawl_command,
    enqueue_command,
    report_entry,
    run_crawl,
)
from scheduler.hooks import DaemonHooks
from scheduler.jobs import (
    CATCHUP_JOB_ID,
    RETRY_JOB_ID,
    TICK_JOB_ID,
    JobSpec,
    batched,
    build_job_specs,
    crawl_job_id,
    digest_job_id,
    resume_time,
    tick_spec,
)
from scheduler.lock import DaemonLock
from scheduler.snapshot import write_snapshot
from scheduler.state import FAILED, OK, STATE_FILE, JobLedger

log = logging.getLogger("countywatch.daemon")

# The APScheduler executor of digests and delivery retries, apart from the crawls' "default".
DELIVERY_EXECUTOR = "deliveries"


class Daemon:
    """The scheduler process. `run()` for the command; `start()`/`stop()` for embedding and tests.

    `crawl_command` builds the argv of a crawl child (tests pass a fake crawl); by default it is
    `countywatch crawl`, or `countywatch worker --enqueue` when the configuration sets `distributed`
    (the workers then crawl from the shared queue). `workers` bounds the crawls running at once;
    digests and delivery retries run in a pool of their own (`notify.workers` threads), so a queue
    of due crawls never holds back an "immediate" digest. `shared_pool` puts them back in the
    crawls' pool, as before issue 11 — only `bench/starvation.py` uses it, to compare the two.
    `clock` is the daemon's "now" for what it records and for what is due to be delivered —
    APScheduler's triggers always run on the real clock. `hooks` read the configuration file at
    `config_path` (None: the defaults), and take the metrics and log tags (`scheduler.hooks`).
    """

    def __init__(
        self,
        config_path: str | os.PathLike[str] | None,
        backend: Backend,
        hooks: DaemonHooks,
        *,
        crawl_command: CrawlCommand | None = None,
        stop_grace: float = 30.0,
        kill_grace: float = 10.0,
        workers: int = 4,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        shared_pool: bool = False,
    ) -> None:
        self.config_path = os.fspath(config_path) if config_path is not None else None
        self.load_config = hooks.load_config
        self.log_context = hooks.log_context
        self.config: Config = self.load_config(self.config_path)
        self.backend = backend
        self.crawl_command = crawl_command
        self.stop_grace = stop_grace
        self.kill_grace = kill_grace
        self.metrics = hooks.metrics
        self.now = clock
        self.ledger = JobLedger(self.config.data_path / STATE_FILE)
        self.lock = DaemonLock(self.config.database_url, self.config.data_path)
        # Pool sizes are fixed for the daemon's life: a reload does not resize them.
        self.delivery_executor = "default" if shared_pool else DELIVERY_EXECUTOR
        executors = {"default": ThreadPoolExecutor(max_workers=workers)}
        if not shared_pool:
            executors[DELIVERY_EXECUTOR] = ThreadPoolExecutor(max_workers=self.config.notify.workers)
        self.scheduler = BackgroundScheduler(executors=executors, timezone="UTC")
        self.specs: dict[str, JobSpec] = {}
        self.schedules = ScheduleStore(self.config.database_url)
        self._source_specs: dict[str, JobSpec] = {}  # in batch mode: the schedules last synced
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._reload_requested = False
        self._stop_requested = False
        self._sync = threading.Lock()
        self._running: set[str] = set()  # digest jobs and the batch tick executing now
        self._running_lock = threading.Lock()
        self._tick_again = False  # set under _running_lock: sources were scheduled during a tick
        # The accepted configuration as the crawl children read it (written when the lock is held).
        self.snapshot_path: Path | None = None

    # -- life cycle -------------------------------------------------------------------------------

    def start(self, *, paused: bool = False) -> None:
        """Take the lock, start the scheduler with every job, and catch up on missed digests.

        `paused` computes every job's next run without running any (for inspecting the job table).
        """
        self.lock.acquire()
        try:
            self.schedules.open()
            self.snapshot_path = write_snapshot(self.config)
            # Before any job starts: a bad metrics setting must not leave crawls running behind.
            self.metrics.serve(self.config.metrics)
            self.ledger.daemon_started(os.getpid(), self.now())
            self.scheduler.add_listener(
                self._on_job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_EXECUTED
            )
            self.scheduler.start(paused=paused)
            self.sync_jobs()
            if self.config.notify.subscriptions:
                # Digests whose time passed while the daemon was down go out once, now.
                self.scheduler.add_job(
                    self._deliver,
                    DateTrigger(),  # now, on the scheduler's own clock
                    args=[CATCHUP_JOB_ID, None],
                    id=CATCHUP_JOB_ID,
                    name="catch up on missed digests",
                    replace_existing=True,
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=60,
                    executor=self.delivery_executor,
                )
            self._refresh_gauges()
        except BaseException:
            self._stopping.set()
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)
            self.metrics.close()
            self.schedules.close()
            self.lock.release()
            raise
        log.info("daemon started: %d job(s), config %s", len(self.specs), self.config_path or "(defaults)")

    def stop(self) -> None:
        """Start no new job, let running ones end (crawls within the grace period), release the lock."""
        log.info("daemon stopping")
        self._stopping.set()
        if self.scheduler.running:
            self.scheduler.pause()
            self.scheduler.shutdown(wait=True)
        self.metrics.close()
        self.ledger.daemon_stopped(self.now())
        self.schedules.close()
        self.lock.release()
        log.info("daemon stopped")

    def run(self) -> int:
        """Run until SIGTERM or SIGINT; SIGHUP reloads. Returns the exit status."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }
        try:
            self.start()
            try:
                while not self._stop_requested:
                    # A timeout as well as the event: signal handlers run between bytecodes only.
                    self._wake.wait(timeout=1.0)
                    self._wake.clear()
                    if self._reload_requested and not self._stop_requested:
                        self._reload_requested = False
                        self._reload_safely()
            finally:
                self.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def _reload_safely(self) -> None:
        # A SIGHUP must never end the daemon: an error nobody foresaw is logged, the old jobs run on.
        try:
            self.reload()
        except Exception:
            log.exception("configuration not reloaded, keeping the running one")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only set flags here: the main loop does the work outside the handler.
        if signum == signal.SIGHUP:
            self._reload_requested = True
        else:
            self._stop_requested = True
        self._wake.set()

    def request_stop(self) -> None:
        """Ask `run()` to stop (as SIGTERM does)."""
        self._stop_requested = True
        self._wake.set()

    # -- configuration ----------------------------------------------------------------------------

    def reload(self) -> bool:
        """Re-read the configuration; on success make the jobs match it. False keeps the old one."""
        try:
            new = self.load_config(self.config_path)
        except ConfigError as exc:
            log.error("configuration not reloaded, keeping the running one: %s", str(exc).replace("\n", "; "))
            return False
        if new.database_url != self.config.database_url or new.data_path != self.config.data_path:
            log.error("configuration not reloaded: a new database or data_dir needs a restart of the daemon")
            return False
        old = self.config
        if new.notify.workers != old.notify.workers:
            log.warning("notify.workers changes at the next start of the daemon, not on reload")
        try:
            snapshot = write_snapshot(new)
            self.config = new
            self.sync_jobs()
        except Exception as exc:
            # Whatever the new file did wrong, the daemon goes on with the configuration it had.
            log.exception(
                "configuration not reloaded, keeping the running one: %s: %s", type(exc).__name__, exc
            )
            self.config = old
            self.sync_jobs()
            return False
        self.snapshot_path = snapshot
        log.info("configuration reloaded: %d job(s)", len(self.specs))
        return True

    def sync_jobs(self) -> None:
        """Add, remove and reschedule jobs so they match the configuration.

        Every new or changed job is built before any is touched: a trigger that cannot be made
        leaves the running jobs as they were.
        """
        with self._sync:
            specs = build_job_specs(self.config)
            rescheduled = False
            if batched(self.config):
                rescheduled = self._sync_schedules([spec for spec in specs if spec.kind == "crawl"])
                specs = [spec for spec in specs if spec.kind != "crawl"] + [tick_spec(self.config)]
            else:
                self._sync_schedules([])  # no source is the tick's while each has its own job
            had_tick = TICK_JOB_ID in self.specs
            desired = {spec.id: spec for spec in specs}
            changed = {job_id: spec for job_id, spec in desired.items() if self.specs.get(job_id) != spec}
            prepared = {job_id: self._job_arguments(spec) for job_id, spec in changed.items()}
            for job_id in list(self.specs):
                if job_id not in desired:
                    self.scheduler.remove_job(job_id)
                    del self.specs[job_id]
                    log.info("job removed: %s", job_id)
            for job_id, spec in changed.items():
                self.scheduler.add_job(**prepared[job_id])
                log.info("job %s: %s", "rescheduled" if job_id in self.specs else "added", job_id)
                self.specs[job_id] = spec
            if rescheduled and had_tick:
                # A source added (or rescheduled) by a reload may be due now: look at once.
                self.request_tick()
            self._note_next_runs()

    def request_tick(self) -> None:
        """Look for due sources now: run the tick at once, or have a running tick look again."""
        with self._running_lock:
            if TICK_JOB_ID in self._running:
                self._tick_again = True
                return
        if not self._stopping.is_set():
            self.scheduler.modify_job(TICK_JOB_ID, next_run_time=datetime.now(UTC))

    def _sync_schedules(self, crawl_specs: list[JobSpec]) -> bool:
        """Schedule the sources of these specs in the database; whether any schedule changed."""
        wanted = {spec.id: spec for spec in crawl_specs}
        changed = {spec.target for spec in crawl_specs if self._source_specs.get(spec.id) != spec}
        sources = [self.config.source(spec.target) for spec in crawl_specs if spec.target is not None]
        fresh = not self._source_specs
        self.schedules.sync(
            sources,
            None if fresh else {name for name in changed if name is not None},
            lambda name: self.ledger.record(crawl_job_id(name)).last_success_at,
            self.now(),
        )
        for job_id in set(self._source_specs) - set(wanted):
            log.info("source unscheduled: %s", job_id)
        for job_id in set(wanted) - set(self._source_specs):
            log.info("source scheduled: %s", job_id)
        self._source_specs = wanted
        return bool(changed)

    def _note_next_runs(self) -> None:
        next_runs = {job.id: job.next_run_time for job in self.scheduler.get_jobs()}
        if self._source_specs:
            next_runs.update({crawl_job_id(name): due for name, due in self.schedules.next_runs().items()})
        self.ledger.set_next_runs(next_runs)

    def _job_arguments(self, spec: JobSpec) -> dict[str, Any]:
        """The keyword arguments of `scheduler.add_job` for this spec."""
        now = self.now()
        func: Callable[..., None]
        next_run: datetime | None = None
        if spec.kind == "crawl":
            assert spec.target is not None
            schedule = self.config.source(spec.target).schedule
            last = self.ledger.record(spec.id).last_success_at
            probe = spec.trigger(self.config)
            next_run = resume_time(probe, last, now, schedule.interval)
            func = self._crawl_job
            trigger = spec.trigger(self.config, start=next_run if schedule.interval else None)
        elif spec.kind == "tick":
            func = self._tick_job
            trigger = spec.trigger(self.config)
            next_run = datetime.now(UTC)  # look for due sources at once, on the scheduler's clock
        elif spec.kind == "digest":
            func = self._digest_job
            trigger = spec.trigger(self.config)
        else:
            func = self._retry_job
            trigger = spec.trigger(self.config)
        extra: dict[str, Any] = {"next_run_time": next_run} if next_run is not None else {}
        if spec.kind not in ("crawl", "tick"):  # crawls, batched or not, run in the crawls' pool
            extra["executor"] = self.delivery_executor
        return {
            "func": func,
            "trigger": trigger,
            "args": [spec.target] if spec.target is not None else [],
            "id": spec.id,
            "name": spec.id,
            "replace_existing": True,
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": spec.misfire_grace_time,
            **extra,
        }

    # -- jobs -------------------------------------------------------------------------------------

    def _crawl_job(self, source: str) -> None:
        if self._stopping.is_set():
            return
        self._crawl(self.config, [source], f"crawl-{_file_safe(source)}.log")

    def _tick_job(self) -> None:
        """Crawl the sources that are due, most overdue first, at most `crawl.batch_size`, in one process."""
        if self._stopping.is_set():
            return
        with self._running_lock:
            self._running.add(TICK_JOB_ID)
        try:
            # Batch after batch while sources are due: a backlog (every source at the first start,
            # or sources that fell due during a long batch) is not left to wait for the next tick.
            while not self._stopping.is_set():
                config = self.config
                names = self.schedules.take_due(config, self.now(), config.crawl.batch_size)
                if names:
                    self._crawl(config, names, "crawl-batch.log")
                    continue
                with self._running_lock:
                    if not self._tick_again:  # else a reload scheduled sources meanwhile: look again
                        self._running.discard(TICK_JOB_ID)
                        break
                    self._tick_again = False
        finally:
            with self._running_lock:
                self._running.discard(TICK_JOB_ID)

    def _crawl(self, config: Config, sources: list[str], log_name: str) -> None:
        """One crawl process over `sources`; each source's outcome goes to the ledger and metrics."""
        run_id = uuid.uuid4().hex[:8]
        started = self.now()
        label = sources[0] if len(sources) == 1 else f"{len(sources)} sources"
        with self.log_context(source=label, run_id=run_id):
            self.ledger.started_many([crawl_job_id(name) for name in sources], started)
            if len(sources) == 1:
                log.info("crawl started")
            else:
                log.info("batch crawl of %d due sources started", len(sources))
            outcome = run_crawl(
                self._crawl_argv(config, sources),
                time_limit=config.crawl.time_limit.total_seconds(),
                stop=self._stopping,
                stop_grace=self.stop_grace,
                kill_grace=self.kill_grace,
                stderr_path=config.data_path / "logs" / log_name,
            )
            finished = self.now()
            self.ledger.finished_many(
                [(crawl_job_id(name), outcome.status, outcome.error) for name in sources], finished
            )
            for name in sources:
                self.metrics.observe_crawl(name, outcome.status, outcome.duration, outcome.report)
            if outcome.status != OK:
                for name in sources:
                    self.backend.record_crawl(config, name, outcome, started)
                log.warning("crawl %s after %.1fs: %s", outcome.status, outcome.duration, outcome.error)
            elif len(sources) == 1:
                log.info(
                    "crawl finished in %.1fs%s",
                    outcome.duration,
                    _summary(report_entry(outcome.report, sources[0])),
                )
            else:
                log.info("batch crawl finished in %.1fs%s", outcome.duration, _batch_summary(outcome.report))
            self._refresh_gauges()
        if outcome.status == OK:
            self._kick_immediate_digests()

    def _crawl_argv(self, config: Config, sources: Sequence[str]) -> Sequence[str]:
        # The child reads the accepted configuration, never the operator's file, which may hold an
        # edit the daemon rejected.
        path = str(self.snapshot_path) if self.snapshot_path is not None else self.config_path
        if self.crawl_command is not None:
            return self.crawl_command(path, sources)
        if config.distributed.redis_url or config.distributed.redis_url_env:
            return enqueue_command(path, sources)
        return default_crawl_command(path, sources)

    def _refresh_gauges(self) -> None:
        self.metrics.set_health(self.backend.health())
        self.metrics.set_alerts(self.backend.alert_counts())

    def _kick_immediate_digests(self) -> None:
        # "immediate" subscriptions also run right after a crawl that may have raised alerts (unless
        # one is running: max_instances=1 would only skip the kick with a warning).
        for spec in list(self.specs.values()):
            if spec.kind != "digest" or spec.schedule.strip().lower() != "immediate":
                continue
            with self._running_lock:
                busy = spec.id in self._running
            if not busy and not self._stopping.is_set():
                self.scheduler.modify_job(spec.id, next_run_time=self.now())

    def _digest_job(self, subscription: str) -> None:
        self._deliver(digest_job_id(subscription), subscription)

    def _retry_job(self) -> None:
        self._deliver(RETRY_JOB_ID, None)

    def _deliver(self, job_id: str, subscription: str | None) -> None:
        started = self.now()
        self.ledger.started(job_id, started)
        with self._running_lock:
            self._running.add(job_id)
        try:
            sent, failed = self.backend.deliver(self.config, subscription, started)
        except Exception as exc:
            self.ledger.finished(job_id, FAILED, self.now(), f"{type(exc).__name__}: {exc}")
            raise
        finally:
            with self._running_lock:
                self._running.discard(job_id)
        self.ledger.finished(
            job_id, OK if not failed else FAILED, self.now(), f"{failed} failed" if failed else None
        )
        self.metrics.observe_deliveries(sent, failed)
        if sent or failed:
            log.info("%s: %d sent, %d failed", job_id, sent, failed)

    def _on_job_event(self, event: JobExecutionEvent) -> None:
        at = self.now()
        if event.code == EVENT_JOB_ERROR:
            message = f"{type(event.exception).__name__}: {event.exception}"
            log.error("job %s failed: %s", event.job_id, message, exc_info=event.exception)
            self.ledger.event(event.job_id, "error", message, at)
            self.metrics.job_error(event.job_id, "error")
        elif event.code == EVENT_JOB_MISSED:
            message = f"run due at {event.scheduled_run_time.isoformat()} was missed"
            log.warning("job %s: %s", event.job_id, message)
            self.ledger.event(event.job_id, "missed", message, at)
            self.metrics.job_error(event.job_id, "missed")
        if not self._stopping.is_set():
            self._note_next_runs()


def _summary(entry: Mapping[str, Any] | None) -> str:
    """`: 12 pages, 3 new, 1 changed, health ok` from a source's part of the crawl report."""
    if entry is None:
        return ""
    pages = int(entry.get("list_pages", 0)) + int(entry.get("articles_fetched", 0))
    new, changed, health = entry.get("new", 0), entry.get("changed", 0), entry.get("health")
    return f": {pages} pages, {new} new, {changed} changed, health {health}"


def _batch_summary(report: Mapping[str, Any] | None) -> str:
    """`: 120 sources, 3 new, 1 changed, 2 not ok` from a batch's crawl report."""
    entries = report.get("sources") if report else None
    if not isinstance(entries, list):
        return ""
    rows = [e for e in entries if isinstance(e, Mapping)]
    new = sum(int(e.get("new", 0)) for e in rows)
    changed = sum(int(e.get("changed", 0)) for e in rows)
    unwell = sum(1 for e in rows if e.get("health") != "ok")
    return f": {len(rows)} sources, {new} new, {changed} changed, {unwell} not ok"


def _file_safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def state_path(config: Config) -> Path:
    """Where the daemon keeps its job ledger for this configuration."""
    return config.data_path / STATE_FILE
