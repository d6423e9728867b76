"""A stand-in for `countywatch crawl` in the daemon tests: logs its start and end, can hang or fail.

Usage: fake_crawl.py DIR SOURCE[,SOURCE...] — the sources of one crawl process (a batch, or one
source). Behaviour per source comes from files in DIR: `SOURCE.sleep` (seconds to run, default 0;
a batch runs as long as its slowest source), `SOURCE.ignore-term` (ignore SIGTERM), `SOURCE.fail`
(the process exits 3 with a message). Each run appends `start PID` and `end PID` lines to
`SOURCE.runs` of each of its sources.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path


def main() -> None:
    folder, sources = Path(sys.argv[1]), sys.argv[2].split(",")
    for source in sources:
        with (folder / f"{source}.runs").open("a") as f:
            f.write(f"start {os.getpid()}\n")
    if any((folder / f"{source}.ignore-term").exists() for source in sources):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sleeps = [folder / f"{source}.sleep" for source in sources]
    seconds = max((float(path.read_text()) for path in sleeps if path.exists()), default=0.0)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.05)
    if any((folder / f"{source}.fail").exists() for source in sources):
        print("crawl error: the site answered 500 to every request", file=sys.stderr)
        sys.exit(3)
    for source in sources:
        with (folder / f"{source}.runs").open("a") as f:
            f.write(f"end {os.getpid()}\n")
    # The shape of `countywatch crawl --json` (crawler.runtime.runner.CycleReport.to_json).
    entries = [{"name": source, "health": "ok", "error": None, "list_pages": 1, "articles_fetched": 3,
                "new": 2, "changed": 1} for source in sources]  # fmt: skip
    print(json.dumps({"finish_reason": "finished", "sources": entries}))


if __name__ == "__main__":
    main()
