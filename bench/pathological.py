"""Time and memory of the pathological-page corpus: countywatch's budgeted extraction beside raw
trafilatura on the same page, in the same run.

    .venv/bin/python -m bench.pathological [--repeat N] [--raw-cap SECONDS]

Each measurement runs in a fresh process (max RSS from wait4, so one page's memory does not hide
another's): `ours` is what an extraction worker does with the crawl's default budget (the size
check, then extract_page with its alarm and CPU limit); `raw` is `trafilatura.extract` on the
decoded page, stopped at --raw-cap seconds. Prints a table: page kind, seconds and max RSS of each
(medians over --repeat runs), and the outcome.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

import trafilatura

from crawler.errors import ExtractionError
from crawler.runtime import settings as defaults
from crawler.runtime.pool import OverBudget, check_size, extract_page
from replica.pathological import MARKER, PATHOLOGICAL

URL = "http://jyj.zhenping.gov.cn/art/2024/4/19/art_1234_56799.html"


@dataclass
class Run:
    seconds: float
    max_rss_mb: float
    outcome: str


def measure_ours(kind: str) -> str:
    """In this process: the worker's path under the default budget; the outcome."""
    body = PATHOLOGICAL[kind]()
    try:
        check_size(body, defaults.COUNTYWATCH_EXTRACT_MAX_BYTES)
        article, _ = extract_page(body, URL, None, {}, defaults.COUNTYWATCH_EXTRACT_TIME_LIMIT)
    except OverBudget as exc:
        return f"over_budget: {exc}"
    except ExtractionError as exc:
        return f"error: {exc}"
    return f"article, {len(article.text)} chars, body text {'kept' if MARKER in article.text else 'LOST'}"


def measure_raw(kind: str) -> str:
    """In this process: raw trafilatura on the page; the outcome."""
    body = PATHOLOGICAL[kind]()
    text = trafilatura.extract(body.decode("utf-8", errors="replace"), url=URL)
    if not text:
        return "nothing extracted"
    return f"{len(text)} chars, body text {'kept' if MARKER in text else 'LOST'}"


def run_one(kind: str, how: str, cap: float | None) -> Run:
    """One measurement in a fresh process (stopped after `cap` seconds when given)."""
    stopped = threading.Event()
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "bench.pathological", "--one", kind, how], stdout=out)

        def stop() -> None:
            stopped.set()
            proc.kill()

        timer = threading.Timer(cap, stop) if cap else None
        if timer is not None:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)  # rusage of this child alone: its max RSS
        seconds = time.monotonic() - started
        if timer is not None:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        printed = out.read().strip()
    if stopped.is_set():
        outcome = f"stopped by the bench at {cap:g} s"
    elif printed:
        outcome = str(json.loads(printed)["outcome"])
    elif proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        outcome = "over_budget: the worker was ended past the time limit"
    else:
        outcome = f"process ended with status {proc.returncode}"
    return Run(seconds, usage.ru_maxrss / 1024, outcome)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per page and extractor (median)")
    parser.add_argument(
        "--raw-cap", type=float, default=120.0, help="seconds before raw trafilatura is stopped"
    )
    parser.add_argument("--one", nargs=2, metavar=("KIND", "HOW"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        kind, how = args.one
        outcome = measure_ours(kind) if how == "ours" else measure_raw(kind)
        print(json.dumps({"outcome": outcome}, ensure_ascii=False))
        return 0
    rows = [("page", "ours s", "ours MB", "raw s", "raw MB", "ours outcome", "raw outcome")]
    for kind in PATHOLOGICAL:
        ours = [run_one(kind, "ours", None) for _ in range(args.repeat)]
        raw = [run_one(kind, "raw", args.raw_cap) for _ in range(args.repeat)]
        rows.append(
            (
                kind,
                f"{statistics.median(r.seconds for r in ours):.2f}",
                f"{statistics.median(r.max_rss_mb for r in ours):.0f}",
                f"{statistics.median(r.seconds for r in raw):.2f}",
                f"{statistics.median(r.max_rss_mb for r in raw):.0f}",
                ours[-1].outcome[:60],
                raw[-1].outcome[:40],
            )
        )
        print(f"measured {kind}", file=sys.stderr, flush=True)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(
        f"budget: {defaults.COUNTYWATCH_EXTRACT_TIME_LIMIT:g} s and "
        f"{defaults.COUNTYWATCH_EXTRACT_MAX_BYTES} bytes per page; seconds include process start "
        f"and building the page; raw stopped at {args.raw_cap:g} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
