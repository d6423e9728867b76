"""Running one crawl in its own process, with a time limit and a clean stop.

Scrapy's Twisted reactor cannot restart inside a process, so every crawl run is a child process
(`countywatch crawl --config F --source NAME [--source NAME ...] --json`): a batch of due sources,
or one source when the daemon runs a process per source. The child gets its own process group so a
Ctrl-C or a SIGTERM aimed at the daemon reaches only the daemon, which decides how the child ends:
it finishes, runs out of time (terminated, then killed) or is interrupted by a stopping daemon after
a grace period.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from scheduler.state import FAILED, INTERRUPTED, OK, TIMED_OUT

# (config path or None, the names of the sources to crawl) -> argv of the crawl child.
CrawlCommand = Callable[[str | None, Sequence[str]], Sequence[str]]

_POLL = 0.2  # seconds between checks of the time limit and the stop flag


def _source_args(sources: Sequence[str]) -> list[str]:
    if isinstance(sources, str):  # a str is a Sequence[str] too: one name, not its characters
        raise TypeError("give the source names as a list")
    return [arg for name in sources for arg in ("--source", name)]


def default_crawl_command(config_path: str | None, sources: Sequence[str]) -> list[str]:
    """`countywatch crawl --config F --source A --source B ... --json` with this interpreter."""
    return _countywatch(config_path, ["crawl", *_source_args(sources), "--json"])


def enqueue_command(config_path: str | None, sources: Sequence[str]) -> list[str]:
    """`countywatch worker --enqueue --source A ...`: one push for them all; the workers crawl."""
    return _countywatch(config_path, ["worker", "--enqueue", *_source_args(sources)])


def _countywatch(config_path: str | None, args: list[str]) -> list[str]:
    config = ["--config", config_path] if config_path is not None else []
    return [sys.executable, "-m", "countywatch", args[0], *config, *args[1:]]


@dataclass(frozen=True, slots=True)
class CrawlOutcome:
    """How one crawl child ended."""

    status: str  # ok | failed | timed_out | interrupted
    returncode: int | None
    duration: float
    report: dict[str, Any] | None  # the JSON report the child printed
    error: str | None


def report_entry(report: Mapping[str, Any] | None, source: str) -> Mapping[str, Any] | None:
    """The part of a crawl report about `source` (a report lists every source of the cycle)."""
    entries = report.get("sources") if report else None
    if not isinstance(entries, list):
        return None
    return next((e for e in entries if isinstance(e, Mapping) and e.get("name") == source), None)


def run_crawl(
    argv: Sequence[str],
    *,
    time_limit: float,
    stop: threading.Event,
    stop_grace: float,
    kill_grace: float = 10.0,
    stderr_path: Path,
) -> CrawlOutcome:
    """Run the crawl child to its end, its time limit, or the daemon's stop (after `stop_grace`).

    The child's log goes to `stderr_path` (replaced each run), not into memory: a long crawl logs a
    lot, and only the last line is needed to say why it failed.
    """
    stderr_path.parent.mkdir(parents=True, exist_ok=True)
    with stderr_path.open("w", encoding="utf-8") as stderr_file:
        return _supervise(argv, time_limit, stop, stop_grace, kill_grace, stderr_file, stderr_path)


def _supervise(
    argv: Sequence[str],
    time_limit: float,
    stop: threading.Event,
    stop_grace: float,
    kill_grace: float,
    stderr_file: TextIO,
    stderr_path: Path,
) -> CrawlOutcome:
    started = time.monotonic()
    proc = subprocess.Popen(
        list(argv), stdout=subprocess.PIPE, stderr=stderr_file, start_new_session=True, text=True
    )
    deadline = started + time_limit
    stop_deadline: float | None = None
    out_parts: list[str] = []
    ending: str | None = None
    while True:
        try:
            out_parts.append(proc.communicate(timeout=_POLL)[0])
            break
        except subprocess.TimeoutExpired:
            if proc.poll() is not None:
                # The child is gone but its output is still open: processes it started (extraction
                # workers) outlived it. They are its group's; nothing of a dead crawl may linger.
                _signal_group(proc.pid, signal.SIGKILL)
                continue
        now = time.monotonic()
        if stop.is_set() and stop_deadline is None:
            stop_deadline = now + stop_grace
        if stop_deadline is not None and now >= stop_deadline:
            ending = INTERRUPTED
        elif now >= deadline:
            ending = TIMED_OUT
        if ending is not None:
            out_parts.append(_terminate(proc, kill_grace))
            break
    duration = time.monotonic() - started
    report = _parse_report("".join(out_parts))
    if ending == TIMED_OUT:
        return CrawlOutcome(
            TIMED_OUT, proc.returncode, duration, report, f"time limit of {time_limit:g}s reached"
        )
    if ending == INTERRUPTED:
        return CrawlOutcome(
            INTERRUPTED, proc.returncode, duration, report, "interrupted: the daemon was stopping"
        )
    if proc.returncode == 0:
        return CrawlOutcome(OK, 0, duration, report, None)
    return CrawlOutcome(
        FAILED, proc.returncode, duration, report, _last_line(stderr_path) or f"exit {proc.returncode}"
    )


def _terminate(proc: subprocess.Popen[str], kill_grace: float) -> str:
    # The whole group: Scrapy may have started extraction worker processes of its own.
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        return proc.communicate(timeout=kill_grace)[0] or ""
    except subprocess.TimeoutExpired:
        _signal_group(proc.pid, signal.SIGKILL)
        return proc.communicate()[0] or ""


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _parse_report(stdout: str) -> dict[str, Any] | None:
    """The JSON object the child printed (the whole output, or its last line)."""
    for candidate in (stdout, *reversed(stdout.strip().splitlines()[-1:])):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _last_line(path: Path) -> str:
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 4096))
        text = f.read().decode("utf-8", errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""
