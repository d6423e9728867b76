"""Starvation of "immediate" digests under a crawl load: first alert → delivery, two pool designs.

    .venv/bin/python -m bench.starvation [--sources 300] [--crawl-seconds 2] [--jobs 4]

The real Daemon (APScheduler, the outbox, a webhook channel to a receiver on loopback, a SQLite
database) runs twice in one go with `--sources` sources all due at start and an "immediate"
subscription: once with today's design (digests and delivery retries have an executor of their
own, `notify.workers` threads) and once with the design before issue 11 (`shared_pool`: digests
wait in the crawls' pool). Each crawl child sleeps `--crawl-seconds`; every 30th also stores an
education announcement, which raises a "new" alert (crawls are stand-ins so the load is the number
of due crawls, not the machine's CPU). Measured per design: seconds from the first alert
(its `created_at`) to the receiver getting a digest that carries it, digest runs APScheduler
skipped because one was still waiting, and how many crawls had ended when the digest arrived.

With the shared pool the delay is the queue's drain time (sources × crawl seconds / jobs), so it
grows with real crawl durations (tens of seconds each); with its own executor it is bounded by the
digest's one-minute trigger and the kick after each crawl, whatever the crawl load.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from countywatch.daemon_hooks import make_daemon
from crawler.article import Article as Record
from scheduler.backend import StorageBackend
from storage.db import make_engine, make_session_factory, upgrade
from storage.ingest import ingest_article
from storage.models import Alert
from storage.rules import SourceRef

ALERT_EVERY = 30  # every 30th source's crawl stores an announcement


class Receiver:
    """A webhook endpoint on loopback recording (arrival time, alert ids) of every digest."""

    def __init__(self) -> None:
        self.digests: list[tuple[float, list[int]]] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                ids = [entry["alert_id"] for entry in body["new"]]
                receiver.digests.append((time.time(), ids))
                receiver.arrived.set()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SkipCounter(logging.Handler):
    """Counts APScheduler's "maximum number of running instances reached" for digest jobs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.skipped = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "maximum number of running instances reached" in message and "digest:" in message:
            self.skipped += 1


@dataclass(frozen=True)
class Measured:
    """One design's run."""

    design: str
    delay: float  # first alert → the digest carrying it reached the receiver, seconds
    skipped: int
    crawls_before: int  # crawls that had ended when the digest arrived


def _child(database: str, source: str, seconds: float) -> None:
    """The crawl stand-in: sleep, then store one announcement (raising a "new" alert)."""
    time.sleep(seconds)
    engine = make_engine(database)
    number = int(source.removeprefix("s"))
    record = Record(
        url=f"http://127.0.0.1:9/{source}/1.html",
        title=f"关于做好2024年第{number}批义务教育招生入学工作的通知",
        text=f"各学校：\n第{number}批适龄儿童入学登记于5月10日开始。\n请各校做好准备。",
        published_at="2024-04-19",
        topics=["education"],
        categories=["招生入学"],
    )
    with make_session_factory(engine)() as session, session.begin():
        ingest_article(
            session, record, source=SourceRef(source, "education_bureau"), fetched_url=record.url or ""
        )
    engine.dispose()


def _crawl_command(database: str, seconds: float, ends: Path) -> Any:
    def command(config_path: str | None, source: str) -> Sequence[str]:
        # Every crawl appends its end time, so the queue's drain time can be read afterwards.
        if int(source.removeprefix("s")) % ALERT_EVERY == 0:
            body = f"-m bench.starvation --child {database} {source} {seconds}"
            return ["sh", "-c", f"{sys.executable} {body} && date +%s.%N >> {ends}"]
        return ["sh", "-c", f"sleep {seconds} && date +%s.%N >> {ends}"]

    return command


@contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bench-starvation-") as folder:
        yield Path(folder)


def measure(design: str, args: argparse.Namespace) -> Measured:
    """Run the daemon with one design until the first alert's digest arrives."""
    with _workdir() as work:
        database = f"sqlite:///{work}/bench.db"
        upgrade(database)
        receiver = Receiver()
        config = {
            "database": database,
            "data_dir": str(work / "data"),
            "sources": [
                {"name": f"s{i:03d}", "start_urls": ["http://127.0.0.1:9/"], "schedule": "1h"}
                for i in range(args.sources)
            ],
            "notify": {
                "channels": {"hook": {"type": "webhook", "url": receiver.url}},
                "subscriptions": [{"name": "now", "channels": ["hook"], "schedule": "immediate"}],
            },
        }
        path = work / "sources.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        ends = work / "ends.txt"
        counter = SkipCounter()
        scheduler_log = logging.getLogger("apscheduler")
        scheduler_log.addHandler(counter)
        scheduler_log.setLevel(logging.WARNING)
        scheduler_log.propagate = False
        engine = make_engine(database)
        daemon = make_daemon(
            path,
            StorageBackend(make_session_factory(engine)),
            crawl_command=_crawl_command(database, args.crawl_seconds, ends),
            workers=args.jobs,
            stop_grace=0.0,
            kill_grace=2.0,
            shared_pool=design == "shared pool (before)",
        )
        started = time.time()
        daemon.start()
        try:
            limit = started + args.sources * args.crawl_seconds / args.jobs * 3 + 180
            delay = _wait_for_first_alert_digest(receiver, engine, limit)
        finally:
            daemon.stop()
            scheduler_log.removeHandler(counter)
            receiver.close()
            engine.dispose()
        finished = [float(line) for line in ends.read_text().split()] if ends.exists() else []
        arrived = receiver.digests[0][0] if receiver.digests else float("inf")
        return Measured(design, delay, counter.skipped, sum(1 for end in finished if end <= arrived))


def _wait_for_first_alert_digest(receiver: Receiver, engine: Any, limit: float) -> float:
    while time.time() < limit:
        receiver.arrived.wait(timeout=1.0)
        with make_session_factory(engine)() as session:
            first = session.execute(
                select(Alert.id, Alert.created_at).order_by(Alert.created_at, Alert.id).limit(1)
            ).first()
        if first is None:
            continue
        for arrived, ids in receiver.digests:
            if first.id in ids:
                return arrived - first.created_at.timestamp()
    return float("nan")


def report(args: argparse.Namespace, results: list[Measured]) -> str:
    """The side-by-side table."""
    expected = args.sources * args.crawl_seconds / args.jobs
    lines = [
        f"{args.sources} sources due at start, crawls of {args.crawl_seconds:g} s, --jobs {args.jobs};"
        f" queue drain expected ≈ {expected:.0f} s",
        "",
        "| design | first alert → delivery (s) | digest runs skipped | crawls ended before it |",
        "|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r.design} | {r.delay:.1f} | {r.skipped} | {r.crawls_before} of {args.sources} |")
    if len(results) == 2 and results[1].delay > 0:
        lines.append("")
        ratio = results[0].delay / results[1].delay
        lines.append(f"ratio shared / own executor: {ratio:.1f}x; goal: under 120 s")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--crawl-seconds", type=float, default=2.0)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=1, help="runs per design (the median is shown)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("countywatch").setLevel(logging.ERROR)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = []
    for design in ("shared pool (before)", "own executor (now)"):
        runs = [measure(design, args) for _ in range(args.repeat)]
        results.append(
            Measured(
                design,
                statistics.median(r.delay for r in runs),
                int(statistics.median(r.skipped for r in runs)),
                int(statistics.median(r.crawls_before for r in runs)),
            )
        )
    print(report(args, results))
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"measured {datetime.now(UTC).isoformat(timespec='seconds')}")


if __name__ == "__main__":
    main()
