"""One demo crawl: a `countywatch crawl --json` child, supervised, with its progress streamed.

The child is run by the daemon's own supervisor (`scheduler.crawl_process.run_crawl`: time
limit, process group, clean stop) in a helper thread, while this thread reports progress: the
requests the replica network has answered so far, and the warnings the crawl logs about hostile
pages (a WAF page, a redirect loop, a 20 MB page), read from the child's log as it grows.
"""

from __future__ import annotations

import re
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scheduler.crawl_process import CrawlOutcome, run_crawl
from scheduler.state import OK

# "2026-11-21 19:39:55 [crawler.runtime.spiders.lists] WARNING: dongqu: blocked http://…: HTTP 412 …"
_LOG_LINE = re.compile(r"^\S+ \S+ \[(?P<logger>[\w.]+)\] (?P<level>WARNING|ERROR|CRITICAL): (?P<message>.*)$")
_OWN_LOGGERS = ("crawler.", "storage.", "countywatch.")
# Warnings are shown one line each, cut to the terminal's width after the demo's indentation.
_INDENT = 13
_FALLBACK_SIZE = (160, 24)  # when the output is not a terminal
TICK_SECONDS = 2.0


def crawl_argv(config_path: Path) -> list[str]:
    """`countywatch crawl --config F --json` run by this interpreter."""
    return [sys.executable, "-m", "countywatch", "crawl", "--config", str(config_path), "--json"]


def crawl_warning(line: str) -> str | None:
    """The message of a warning countywatch's own code logged, shortened for the terminal; else None."""
    match = _LOG_LINE.match(line.rstrip("\n"))
    if match is None or not match["logger"].startswith(_OWN_LOGGERS):
        return None
    message = match["message"]
    width = max(shutil.get_terminal_size(_FALLBACK_SIZE).columns - _INDENT, 40)
    return message if len(message) <= width else message[: width - 1] + "…"


class LogTail:
    """Reads the lines appended to a log file since the last call (a partial last line waits)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self._pending = b""

    def new_lines(self) -> list[str]:
        """Complete lines written since the previous call."""
        try:
            with self._path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        data = self._pending + chunk
        *lines, self._pending = data.split(b"\n")
        return [line.decode("utf-8", errors="replace") for line in lines]


@dataclass(frozen=True, slots=True)
class Progress:
    """What the child has done so far, as the demo can see it from outside."""

    seconds: float
    warnings: list[str]


def run_demo_crawl(
    config_path: Path,
    log_path: Path,
    *,
    time_limit: float,
    on_progress: Callable[[Progress], None],
) -> CrawlOutcome:
    """Run one crawl child to its end, calling `on_progress` every couple of seconds meanwhile.

    Ctrl-C stops the child (its whole process group) before the KeyboardInterrupt goes on.
    """
    stop = threading.Event()
    # Waiting on an Event, not Thread.join: a join interrupted by Ctrl-C can return early later.
    done = threading.Event()
    outcome: list[CrawlOutcome] = []
    failure: list[BaseException] = []

    def supervise() -> None:
        try:
            outcome.append(
                run_crawl(
                    crawl_argv(config_path),
                    time_limit=time_limit,
                    stop=stop,
                    stop_grace=0.0,
                    kill_grace=5.0,
                    stderr_path=log_path,
                )
            )
        except BaseException as exc:  # handed to the calling thread, which reports it
            failure.append(exc)
        finally:
            done.set()

    tail = LogTail(log_path)
    started = time.monotonic()
    threading.Thread(target=supervise, name="demo-crawl", daemon=True).start()
    try:
        while not done.wait(TICK_SECONDS):
            on_progress(Progress(time.monotonic() - started, _warnings(tail)))
    except KeyboardInterrupt:
        stop.set()
        done.wait()
        raise
    last = _warnings(tail)
    if last:
        on_progress(Progress(time.monotonic() - started, last))
    if failure:
        raise failure[0]
    return outcome[0]


def _warnings(tail: LogTail) -> list[str]:
    return [w for w in map(crawl_warning, tail.new_lines()) if w is not None]


def outcome_error(outcome: CrawlOutcome, log_name: str) -> str | None:
    """Why a crawl child failed, in one line (None when it ran and printed its report)."""
    if outcome.status != OK:
        return f"the crawl child {outcome.status.replace('_', ' ')}: {outcome.error} (log: {log_name})"
    if outcome.report is None:
        return f"the crawl child printed no JSON report (log: {log_name})"
    return None
