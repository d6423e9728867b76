"""Runs the real Daemon in its own process so tests can signal and kill it.

python -m tests.daemon_harness CONFIG [--fake-crawl DIR [--reads-config]] [--calls FILE] [--stop-grace S]
    [--clock-offset S]

--fake-crawl runs tests/fake_crawl.py instead of `countywatch crawl` (with --reads-config, after
reading the configuration the daemon hands it, as a real crawl does); --calls uses the recording
backend instead of the database; --clock-offset moves the daemon's clock (e.g. past a delivery lease
after a crash) — everything else is what `countywatch run` does.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from countywatch.config import load_config
from countywatch.daemon_hooks import make_daemon
from countywatch.logging_setup import configure_logging
from scheduler.backend import Backend, StorageBackend
from storage.db import make_engine, make_session_factory
from tests.daemon_fakes import RecordingBackend, fake_crawl_command


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--fake-crawl", type=Path)
    parser.add_argument("--reads-config", action="store_true")
    parser.add_argument("--calls", type=Path)
    parser.add_argument("--stop-grace", type=float, default=30.0)
    parser.add_argument("--clock-offset", type=float, default=0.0)
    args = parser.parse_args()
    config = load_config(args.config)
    configure_logging(config, json_lines=True)
    backend: Backend
    if args.calls is not None:
        backend = RecordingBackend(args.calls)
    else:
        backend = StorageBackend(make_session_factory(make_engine(config.database_url)))
    offset = timedelta(seconds=args.clock_offset)
    daemon = make_daemon(
        args.config,
        backend,
        crawl_command=fake_crawl_command(args.fake_crawl, reads_config=args.reads_config)
        if args.fake_crawl
        else None,
        stop_grace=args.stop_grace,
        kill_grace=2.0,
        clock=lambda: datetime.now(UTC) + offset,
    )
    sys.exit(daemon.run())


if __name__ == "__main__":
    main()
