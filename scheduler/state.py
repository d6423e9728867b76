"""What the daemon remembers between runs: per job, when it last ran and how it ended.

This is the daemon's job store. APScheduler's own stores pickle whole jobs (bound to this process's
objects), so instead the daemon keeps last-run times here and recomputes next runs from them on
start: a source whose last successful run is older than its interval runs soon after start, and a
restart neither repeats nor skips work. One daemon owns the file (the daemon lock guarantees it);
`countywatch status` only reads it. Writes go through a temporary file and `os.replace`, so a crash
never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

STATE_FILE = "scheduler-state.json"
MAX_EVENTS = 100

# How a job run ended.
OK, FAILED, TIMED_OUT, INTERRUPTED = "ok", "failed", "timed_out", "interrupted"


@dataclass(slots=True)
class JobRecord:
    """The last run of one job."""

    last_started: str | None = None  # ISO 8601 with offset
    last_finished: str | None = None
    last_status: str | None = None
    last_error: str | None = None
    last_success: str | None = None
    runs: int = 0
    failures: int = 0

    @property
    def last_success_at(self) -> datetime | None:
        """`last_success` as an aware datetime."""
        return datetime.fromisoformat(self.last_success) if self.last_success else None


@dataclass(slots=True)
class JobEvent:
    """A job error or a missed run, kept so `status` can show it."""

    at: str
    job_id: str
    kind: str  # error | missed
    message: str


@dataclass(slots=True)
class DaemonInfo:
    """The daemon that last wrote the file."""

    pid: int | None = None
    started_at: str | None = None
    stopped_at: str | None = None


@dataclass(slots=True)
class SchedulerState:
    """Everything in the state file."""

    jobs: dict[str, JobRecord] = field(default_factory=dict)
    events: list[JobEvent] = field(default_factory=list)
    daemon: DaemonInfo = field(default_factory=DaemonInfo)
    next_runs: dict[str, str | None] = field(default_factory=dict)  # job id -> next run (ISO 8601)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SchedulerState:
        """Rebuild the state from what `to_json` wrote."""
        return cls(
            jobs={k: JobRecord(**v) for k, v in data.get("jobs", {}).items()},
            events=[JobEvent(**e) for e in data.get("events", [])],
            daemon=DaemonInfo(**data.get("daemon", {})),
            next_runs=dict(data.get("next_runs", {})),
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)


class StateError(Exception):
    """The state file exists but cannot be read."""


def read_state(path: Path) -> SchedulerState:
    """The state in `path` (empty when the file does not exist yet)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return SchedulerState()
    except OSError as exc:
        raise StateError(f"{path}: cannot read the scheduler state: {exc.strerror or exc}") from None
    try:
        return SchedulerState.from_json(json.loads(raw))
    except (ValueError, TypeError) as exc:
        raise StateError(f"{path}: the scheduler state is not valid: {exc}") from None


class JobLedger:
    """The daemon's thread-safe, file-backed record of job runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._state = read_state(path)

    def record(self, job_id: str) -> JobRecord:
        """A copy of the record of `job_id` (empty when it never ran)."""
        with self._lock:
            rec = self._state.jobs.get(job_id)
            return JobRecord(**asdict(rec)) if rec else JobRecord()

    def started(self, job_id: str, at: datetime) -> None:
        """Note that a run of `job_id` started."""
        self.started_many([job_id], at)

    def started_many(self, job_ids: Iterable[str], at: datetime) -> None:
        """Note that runs of all these jobs started (one write of the file for a whole batch)."""
        with self._lock:
            for job_id in job_ids:
                rec = self._state.jobs.setdefault(job_id, JobRecord())
                rec.last_started = at.isoformat()
            self._save()

    def finished(self, job_id: str, status: str, at: datetime, error: str | None = None) -> None:
        """Note how a run of `job_id` ended."""
        self.finished_many([(job_id, status, error)], at)

    def finished_many(self, ends: Iterable[tuple[str, str, str | None]], at: datetime) -> None:
        """Note how runs ended, as (job id, status, error), with one write of the file."""
        with self._lock:
            for job_id, status, error in ends:
                rec = self._state.jobs.setdefault(job_id, JobRecord())
                rec.last_finished = at.isoformat()
                rec.last_status = status
                rec.last_error = error
                rec.runs += 1
                if status == OK:
                    rec.last_success = at.isoformat()
                else:
                    rec.failures += 1
            self._save()

    def event(self, job_id: str, kind: str, message: str, at: datetime) -> None:
        """Keep a job error or missed run (the newest MAX_EVENTS)."""
        with self._lock:
            self._state.events.append(JobEvent(at=at.isoformat(), job_id=job_id, kind=kind, message=message))
            del self._state.events[:-MAX_EVENTS]
            self._save()

    def set_next_runs(self, next_runs: dict[str, datetime | None]) -> None:
        """Note when each job runs next (for `countywatch status`)."""
        with self._lock:
            self._state.next_runs = {k: v.isoformat() if v else None for k, v in sorted(next_runs.items())}
            self._save()

    def daemon_started(self, pid: int, at: datetime) -> None:
        """Note the daemon that owns the file now."""
        with self._lock:
            self._state.daemon = DaemonInfo(pid=pid, started_at=at.isoformat())
            self._save()

    def daemon_stopped(self, at: datetime) -> None:
        """Note a clean stop."""
        with self._lock:
            self._state.daemon.stopped_at = at.isoformat()
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(self._state.to_json(), out, ensure_ascii=False, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
