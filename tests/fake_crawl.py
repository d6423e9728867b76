"""A stand-in for `countywatch crawl` in the daemon tests: logs its start and end, can hang or fail.

Usage: fake_crawl.py DIR SOURCE. Behaviour per source comes from files in DIR:
`SOURCE.sleep` (seconds to run, default 0), `SOURCE.ignore-term` (ignore SIGTERM), `SOURCE.fail`
(exit 3 with a message). Each run appends `start PID` and `end PID` lines to `SOURCE.runs`.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path


def main() -> None:
    folder, source = Path(sys.argv[1]), sys.argv[2]
    runs = folder / f"{source}.runs"
    with runs.open("a") as f:
        f.write(f"start {os.getpid()}\n")
    if (folder / f"{source}.ignore-term").exists():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sleep_file = folder / f"{source}.sleep"
    seconds = float(sleep_file.read_text()) if sleep_file.exists() else 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.05)
    if (folder / f"{source}.fail").exists():
        print("crawl error: the site answered 500 to every request", file=sys.stderr)
        sys.exit(3)
    with runs.open("a") as f:
        f.write(f"end {os.getpid()}\n")
    # The shape of `countywatch crawl --json` (crawler.runner.CycleReport.to_json).
    stats = {"name": source, "health": "ok", "error": None, "list_pages": 1, "articles_fetched": 3, "new": 2,
             "changed": 1}  # fmt: skip
    print(json.dumps({"finish_reason": "finished", "sources": [stats]}))


if __name__ == "__main__":
    main()
