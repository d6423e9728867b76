"""Distributed crawling benchmark: one and two `countywatch worker`s beside `countywatch crawl`.

    source scripts/services.sh; start_services          # PostgreSQL and Redis on loopback
    .venv/bin/python -m bench.distributed                # 100 generated sites x 20 articles
    .venv/bin/python -m bench.distributed --sites 40 --articles 20 --repeat 3

Against a GeneratedNetwork served from a child process, each system crawls the network once on a
fresh PostgreSQL database (COUNTYWATCH_TEST_POSTGRES_URL names the server; Redis comes from
COUNTYWATCH_TEST_REDIS_URL):
  crawl      `countywatch crawl` (one process),
  1 worker   one `countywatch worker`, fed by `countywatch worker --enqueue`,
  2 workers  two of them sharing the queue.
Every process gets --extract-workers extraction processes. Timing runs from the first request the
sites answered to the end of the work (the crawl process exiting; the queue drained, looked at once
a second), so process start-up, the same for all, is reported apart. With --repeat N the table shows medians.
Also per system: CPU seconds per stored article (each process's user + system time from wait4,
plus the CPU its extraction workers and its store writer process report in the crawl stats:
`extract_cpu_seconds` and `store_cpu_seconds`, 0 when a process has no such child), also net of
what each process spent before its first request ("after start": workers are long-lived, so their
start-up is not a cost per article in a deployment), the ratio to `countywatch crawl`
(goal: a worker at most 1.2x), the requests each worker sent (from its closing Scrapy stats; goal:
within 20 % of each other), the bytes that went to and from Redis per request and the round trips
per request (INFO stats: total_reads_processed, one read event per request or pipeline the server
took in; commands per request beside it), and per stored article the PostgreSQL transactions
committed and rows written in the run's own database (pg_stat_database; start-up and migrations
included), and the CPU the PostgreSQL server (all its processes, whole run) and the Redis server
(INFO used_cpu, push to stop, less the bench's polls) spent per stored article. `uptime` is printed
with the table: the machine is shared.
Then the Redis sizes for docs/distributed.md: bytes per queued request and per seen-URL entry
(MEMORY USAGE).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from crawler.distributed import codec
from crawler.distributed.queue import Keys, WorkQueue
from crawler.distributed.seen import fingerprint
from replica.generate import GeneratedNetwork
from storage.db import make_engine, make_session_factory
from storage.models import Article
from tests.distributed_support import (
    COUNTYWATCH,
    Worker,
    distributed_config,
    drop_keys,
    write_config,
)
from tests.polling import wait_for

SYSTEMS = ("crawl", "1 worker", "2 workers")
REDIS_ENV = "COUNTYWATCH_TEST_REDIS_URL"
POLL_SECONDS = 1.0  # how often the bench looks whether the workers' queue has drained
POSTGRES_ENV = "COUNTYWATCH_TEST_POSTGRES_URL"


@dataclass
class Run:
    """One crawl of the network by one system."""

    system: str
    startup: float  # seconds from starting the processes to the first request
    seconds: float  # first request to the end of the work
    requests: int
    stored: int
    cpu: float = 0.0  # CPU seconds of the crawl or worker processes, extraction included
    per_worker: tuple[int, ...] = ()  # requests each worker sent
    redis_bytes: int = 0  # bytes to and from Redis during the run
    startup_cpu: float = 0.0  # CPU seconds the processes spent before their first request
    redis_reads: int = 0  # read events of the Redis server (round trips) during the run
    redis_commands: int = 0  # commands the Redis server ran during the run
    pg_commits: int = 0  # transactions committed in the run's database (pg_stat_database)
    pg_rows: int = 0  # rows inserted, updated and deleted there
    redis_cpu: float = 0.0  # CPU seconds of the Redis server, push to stop, less the bench's polls
    pg_cpu: float = 0.0  # CPU seconds of the PostgreSQL server (all its processes) during the run

    @property
    def rate(self) -> float:
        """Articles stored per second of crawling."""
        return self.stored / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_article(self) -> float:
        """CPU milliseconds per stored article."""
        return 1000 * self.cpu / self.stored if self.stored else 0.0

    @property
    def working_cpu_per_article(self) -> float:
        """CPU milliseconds per stored article once the processes had started (long-lived workers)."""
        return 1000 * (self.cpu - self.startup_cpu) / self.stored if self.stored else 0.0


def _cpu_now(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Databases:
    """Fresh PostgreSQL databases on the test server, dropped at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def new(self) -> str:
        name = f"bench_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        return make_url(str(self.admin.url)).set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def stored(db: str) -> int:
    engine = make_engine(db)
    try:
        with make_session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(Article)) or 0)
    finally:
        engine.dispose()


def pg_activity(db: str) -> tuple[int, int]:
    """(transactions committed, rows written) in the run's own database, once its processes have exited."""
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_force_next_flush()"))
            row = conn.execute(
                text(
                    "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted"
                    " FROM pg_stat_database WHERE datname = current_database()"
                )
            ).one()
            return int(row[0]), int(row[1])
    finally:
        engine.dispose()


def postgres_cpu(admin: Engine) -> float:
    """CPU seconds the PostgreSQL server has used: the postmaster, its exited and its live children.

    The bench's server is on this machine (scripts/services.sh); its postmaster's pid is the first
    line of postmaster.pid in the data directory.
    """
    with admin.connect() as conn:
        data_dir = str(conn.execute(text("SHOW data_directory")).scalar())
    postmaster = int((Path(data_dir) / "postmaster.pid").read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile: its time is in the postmaster's children time now
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        elif ppid == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def first_request(net: GeneratedNetwork) -> float:
    return min(r.time for r in net.requests.records())


def run_crawl(net: GeneratedNetwork, db: str, folder: Path, args: argparse.Namespace) -> Run:
    config = net.config_dict(db, data_dir=str(folder / "data"))
    config["crawl"].update({"extract_workers": args.extract_workers, "timeout": 30})
    path = write_config(config, folder)
    net.requests.clear()
    started = time.time()
    with (folder / "crawl.log").open("wb") as log:
        child = subprocess.Popen(
            [*COUNTYWATCH, "crawl", "--json", "--config", str(path)], stdout=subprocess.PIPE, stderr=log
        )
        assert child.stdout is not None
        wait_for(lambda: net.requests.records() or child.poll() is not None, 600, "the first request")
        startup_cpu = _cpu_now(child.pid) if child.poll() is None else 0.0
        report = json.loads(child.stdout.read())
        _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"countywatch crawl failed, see {folder / 'crawl.log'}")
    ended = time.time()
    first = first_request(net)
    cpu = usage.ru_utime + usage.ru_stime + float(report["extract_cpu_seconds"])
    cpu += float(report.get("store_cpu_seconds", 0.0))
    requests = len(net.requests.records())
    return Run(
        "crawl",
        first - started,
        ended - first,
        requests,
        stored(db),
        cpu,
        (int(report["requests"]),),
        0,
        startup_cpu,
        0,
        0,
        *pg_activity(db),
    )


_REQUEST_COUNT = re.compile(r"'downloader/request_count': (\d+)")
_EXTRACT_CPU = re.compile(r"'countywatch/extract_cpu_seconds': ([\d.]+)")
_STORE_CPU = re.compile(r"'countywatch/store_cpu_seconds': ([\d.]+)")


def _stop_measured(worker: Worker) -> tuple[float, int]:
    """SIGTERM a worker and reap it: (its CPU seconds with its extraction workers' and its store
    writer's, requests sent)."""
    if worker.process.poll() is None:
        worker.process.send_signal(signal.SIGTERM)
    _, _, usage = os.wait4(worker.process.pid, 0)
    worker.stop()  # the process is reaped: this only closes the log
    log = worker.log_path.read_text(encoding="utf-8", errors="replace")
    requests = _REQUEST_COUNT.findall(log)
    extract = _EXTRACT_CPU.findall(log)
    store = _STORE_CPU.findall(log)
    cpu = usage.ru_utime + usage.ru_stime + (float(extract[-1]) if extract else 0.0)
    cpu += float(store[-1]) if store else 0.0
    return cpu, int(requests[-1]) if requests else 0


def _redis_traffic(server: Redis) -> tuple[int, int, int, int]:
    """(bytes in and out, read events, commands, CPU microseconds) of the Redis server so far."""
    info = server.info("all")
    return (
        int(info["total_net_input_bytes"]) + int(info["total_net_output_bytes"]),
        int(info["total_reads_processed"]),
        int(info["total_commands_processed"]),
        round(1e6 * (float(info["used_cpu_user"]) + float(info["used_cpu_sys"]))),
    )


def _poll_cost(server: Redis, queue: WorkQueue, n: int = 200) -> tuple[float, ...]:
    """The bench's own Redis traffic: (bytes, reads, commands, CPU µs) per queue poll, then of one INFO."""
    first, second = _redis_traffic(server), _redis_traffic(server)
    info = [b - a for a, b in zip(first, second, strict=True)]
    for _ in range(n):
        queue.idle()
    third = _redis_traffic(server)
    per_poll = [(c - b - i) / n for b, c, i in zip(second, third, info, strict=True)]
    return (*per_poll, *info)


def run_workers(
    net: GeneratedNetwork, db: str, folder: Path, args: argparse.Namespace, n: int, redis_url: str
) -> Run:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    config = distributed_config(
        net.config_dict(db), folder, prefix=prefix, redis_env=REDIS_ENV, extract_workers=args.extract_workers
    )
    config["crawl"]["timeout"] = 30
    path = write_config(config, folder)
    server = Redis.from_url(redis_url)
    queue = WorkQueue(server, Keys(prefix))
    net.requests.clear()
    started = time.time()
    workers = [Worker(path, f"w{i}", dict(os.environ), folder, lease=30, tick=0.5) for i in range(n)]
    measured: list[tuple[float, int]] = []
    try:

        def registered() -> bool:
            for worker in workers:
                if worker.process.poll() is not None:
                    raise SystemExit(f"worker {worker.worker_id} exited:\n{worker.log_tail()}")
            return server.scard(queue.keys.workers) == n

        wait_for(registered, 120, "the workers to start")
        ready = time.time()
        startup_cpu = sum(_cpu_now(worker.process.pid) for worker in workers)
        poll = _poll_cost(server, queue)
        polls, last_poll = 0, 0.0

        def drained() -> bool:
            # At most one look a second: the bench's own Redis traffic stays small beside the
            # workers' (it is taken out below, but its estimate is only as good as the calibration).
            nonlocal polls, last_poll
            if time.monotonic() - last_poll < POLL_SECONDS:
                return False
            polls, last_poll = polls + 1, time.monotonic()
            return queue.idle()

        # From the push to the workers' exit: the push, the crawl and the hand-back at the stop.
        before = _redis_traffic(server)
        subprocess.run(
            [*COUNTYWATCH, "worker", "--enqueue", "--config", str(path)], check=True, capture_output=True
        )
        wait_for(drained, 3600, "the queue to drain")
        ended = time.time()
        measured = [_stop_measured(worker) for worker in workers]
        after = _redis_traffic(server)
        # Less the bench's own polls of the queue and INFO calls. A poll is 2 + n single-command
        # round trips (queue length, worker set, one processing set each); bytes and CPU measured.
        exact = (None, (2 + n) * polls + 1, (2 + n) * polls + 1, None)
        traffic = tuple(
            round(b - a - (own if own is not None else poll[i] * polls + poll[i + 4]))
            for i, (a, b, own) in enumerate(zip(before, after, exact, strict=True))
        )
    finally:
        for worker in workers:
            if worker.process.returncode is None:
                worker.stop()
        server.close()
        drop_keys(redis_url, prefix)
    name = f"{n} worker{'s' if n > 1 else ''}"
    first = first_request(net)
    cpu = sum(c for c, _ in measured)
    per_worker = tuple(r for _, r in measured)
    return Run(
        name,
        ready - started,
        ended - first,
        len(net.requests.records()),
        stored(db),
        cpu,
        per_worker,
        traffic[0],
        startup_cpu,
        traffic[1],
        traffic[2],
        *pg_activity(db),
        traffic[3] / 1e6,
    )


def redis_sizes(redis_url: str) -> dict[str, float]:
    """Bytes per queued article request and per seen-URL entry, from MEMORY USAGE over 10000 of each."""
    server = Redis.from_url(redis_url)
    prefix = f"bench-size-{uuid.uuid4().hex[:8]}"
    keys = Keys(prefix)
    n = 10000
    try:
        entries = []
        for i in range(n):
            request = {
                "url": f"http://www.zhenping.gov.cn/zwgk/jyxx/202404/t20240415_{i:07d}.html",
                "callback": "parse_article",
                "errback": "on_error",
                "method": "GET",
                "headers": {b"Referer": [b"http://www.zhenping.gov.cn/zwgk/jyxx/index_2.html"]},
                "body": b"",
                "cookies": {},
                "meta": {
                    "cw_source": "zhenping",
                    "cw_kind": "article",
                    "cw_list_date": "2024-04-15",
                    "cw_known": False,
                    "cw_cycle": 1732190000000,
                    "depth": 2,
                },
                "encoding": "utf-8",
                "priority": 1,
                "dont_filter": False,
                "flags": [],
                "cb_kwargs": {},
            }
            entries.append((codec.dumps(request), 1))
        WorkQueue(server, keys).push_many(entries)
        server.zadd(
            keys.seen, {fingerprint(f"http://www.zhenping.gov.cn/a/{i}.html"): 1e12 + i for i in range(n)}
        )
        queue_bytes = int(server.memory_usage(keys.requests, samples=0) or 0)
        seen_bytes = int(server.memory_usage(keys.seen, samples=0) or 0)
        return {
            "request_bytes": queue_bytes / n,
            "seen_bytes": seen_bytes / n,
            "request_json_bytes": statistics.mean(len(d) for d, _ in entries),
        }
    finally:
        drop_keys(redis_url, prefix)
        server.close()


def table(rows: list[Run]) -> str:
    head = (
        f"{'system':<12}{'start-up s':>11}{'crawl s':>9}{'requests':>10}{'stored':>8}{'art/s':>8}"
        f"{'vs crawl':>10}{'CPU ms/art':>11}{'CPU vs crawl':>13}{'after start':>12}{'vs crawl':>9}"
        f"{'req per worker':>16}{'Redis B/req':>12}{'RT/req':>8}{'cmd/req':>8}"
        f"{'PG xact/art':>12}{'PG rows/art':>12}"
    )
    base = next(r for r in rows if r.system == "crawl")
    lines = [head, "-" * len(head)]
    for r in rows:
        cpu_ratio = r.cpu_per_article / base.cpu_per_article if base.cpu_per_article else 0.0
        base_working = base.working_cpu_per_article
        working_ratio = r.working_cpu_per_article / base_working if base_working else 0.0
        per_worker = "/".join(str(n) for n in r.per_worker) if r.system != "crawl" else "-"
        worker_row = r.requests and r.system != "crawl"
        redis = f"{r.redis_bytes / r.requests:.0f}" if worker_row else "-"
        trips = f"{r.redis_reads / r.requests:.2f}" if worker_row else "-"
        commands = f"{r.redis_commands / r.requests:.2f}" if worker_row else "-"
        commits, written = (r.pg_commits / r.stored, r.pg_rows / r.stored) if r.stored else (0.0, 0.0)
        lines.append(
            f"{r.system:<12}{r.startup:>11.1f}{r.seconds:>9.1f}{r.requests:>10}{r.stored:>8}{r.rate:>8.1f}"
            f"{r.rate / base.rate if base.rate else 0:>9.2f}x{r.cpu_per_article:>11.1f}{cpu_ratio:>12.2f}x"
            f"{r.working_cpu_per_article:>12.1f}{working_ratio:>8.2f}x{per_worker:>16}{redis:>12}"
            f"{trips:>8}{commands:>8}"
            f"{commits:>12.1f}{written:>12.1f}"
        )
    two = next((r for r in rows if r.system == "2 workers"), None)
    if two is not None and len(two.per_worker) == 2 and max(two.per_worker):
        spread = (max(two.per_worker) - min(two.per_worker)) / max(two.per_worker)
        lines.append(f"2 workers: requests differ by {spread:.0%} (goal within 20 %)")
    return "\n".join(lines)


def median(runs: list[Run]) -> Run:
    middle = sorted(runs, key=lambda r: r.cpu)[len(runs) // 2]  # per-worker counts of one real run
    return Run(
        runs[0].system,
        statistics.median(r.startup for r in runs),
        statistics.median(r.seconds for r in runs),
        int(statistics.median(r.requests for r in runs)),
        int(statistics.median(r.stored for r in runs)),
        statistics.median(r.cpu for r in runs),
        middle.per_worker,
        int(statistics.median(r.redis_bytes for r in runs)),
        statistics.median(r.startup_cpu for r in runs),
        int(statistics.median(r.redis_reads for r in runs)),
        int(statistics.median(r.redis_commands for r in runs)),
        int(statistics.median(r.pg_commits for r in runs)),
        int(statistics.median(r.pg_rows for r in runs)),
        statistics.median(r.redis_cpu for r in runs),
        statistics.median(r.pg_cpu for r in runs),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--extract-workers", type=int, default=1, help="extraction processes per process")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    redis_url, admin_url = os.environ.get(REDIS_ENV), os.environ.get(POSTGRES_ENV)
    if not redis_url or not admin_url:
        raise SystemExit(f"set {REDIS_ENV} and {POSTGRES_ENV} (source scripts/services.sh; start_services)")
    results: dict[str, list[Run]] = {s: [] for s in SYSTEMS}
    databases = Databases(admin_url)
    try:
        with GeneratedNetwork(args.sites, args.articles, in_process=False) as net:
            for _ in range(args.repeat):
                for system in SYSTEMS:
                    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp:
                        db, folder = databases.new(), Path(tmp)
                        pg_before = postgres_cpu(databases.admin)
                        if system == "crawl":
                            run = run_crawl(net, db, folder, args)
                        else:
                            run = run_workers(net, db, folder, args, int(system.split()[0]), redis_url)
                        pg_cpu = postgres_cpu(databases.admin) - pg_before
                        results[system].append(dataclasses.replace(run, pg_cpu=pg_cpu))
    finally:
        databases.close()
    rows = [median(results[s]) for s in SYSTEMS]
    print(
        f"{args.sites} sites x {args.articles} articles, PostgreSQL, {args.extract_workers} extraction "
        f"process(es) per process, {os.cpu_count()} cores, median of {args.repeat} run(s), "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(table(rows))
    sizes = redis_sizes(redis_url)
    print(
        f"Redis: {sizes['request_bytes']:.0f} bytes per queued article request "
        f"({sizes['request_json_bytes']:.0f} bytes of JSON), "
        f"{sizes['seen_bytes']:.0f} bytes per seen-URL entry"
    )
    for r in rows:
        per = r.seconds / r.stored * 1000 if r.stored else 0.0
        servers = (
            f"PostgreSQL {1000 * r.pg_cpu / r.stored:.1f} ms, Redis {1000 * r.redis_cpu / r.stored:.2f} ms"
            if r.stored
            else "-"
        )
        print(f"{r.system}: {per:.1f} ms of wall time per stored article; server CPU per article: {servers}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
