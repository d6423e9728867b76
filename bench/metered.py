"""Runs one command and appends what it cost to a JSON-lines file; the benchmarks' process meter.

    python -m bench.metered OUT.jsonl -- ARGV...

`bench/capacity.py` gives the daemon this as its crawl command, so each crawl process the daemon
starts is measured: wall seconds, CPU seconds (user + system of the process, plus the CPU its
extraction workers report in the `--json` report, since forkserver workers are not its children),
max RSS, requests and the number of sources. The command's stdout is passed through unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    out, argv = Path(sys.argv[1]), sys.argv[3:]
    started = time.monotonic()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE)
    assert child.stdout is not None
    stdout = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - started
    report: dict[str, object] = {}
    lines = stdout.decode("utf-8", errors="replace").strip().splitlines()
    if lines:
        try:
            report = json.loads(lines[-1])
        except ValueError:
            report = {}
    # The extraction workers and the store writer are the fork server's children, not the crawl's.
    helpers_cpu = [report.get("extract_cpu_seconds", 0.0), report.get("store_cpu_seconds", 0.0)]
    entry = {
        "sources": argv.count("--source"),
        "wall": wall,
        "cpu": usage.ru_utime
        + usage.ru_stime
        + sum(float(cpu) for cpu in helpers_cpu if isinstance(cpu, int | float)),
        "max_rss_mb": usage.ru_maxrss / 1024,
        "requests": report.get("requests", 0),
        "status": os.waitstatus_to_exitcode(status),
    }
    with out.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
    sys.stdout.buffer.write(stdout)
    sys.stdout.flush()
    sys.exit(max(0, entry["status"]) if isinstance(entry["status"], int) else 1)


if __name__ == "__main__":
    main()
