"""The daemon-driven part of `bench/capacity.py`: the batch tick over many generated sources.

A real `Daemon` (in this process, with the database backend) runs against a GeneratedNetwork of
`--daemon-sources` sites served from a child process. Its crawl command is `countywatch crawl`
wrapped in `bench.metered`, so every crawl process it starts is measured. The schedule is
compressed: the benchmark makes every source due (sets `next_due_at` to now) and wakes the tick,
cycle after cycle: (1) the first crawl, (2, 3) nothing changed, (4) after `advance()` adds new
articles. Measured per cycle: crawl processes started, their CPU (extraction workers included),
the daemon's own CPU (this process), requests, new articles, and the peak memory of the whole
process tree (daemon, crawl process, forkserver and extraction workers; the network excluded).
Beside it, today's design before batching: `countywatch crawl --source NAME`, one process per
due source, on a sample of sources with nothing changed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import func, select, update

from bench.crawl import run_child
from countywatch.daemon_hooks import make_daemon
from replica.generate import GeneratedNetwork
from scheduler.backend import StorageBackend
from scheduler.crawl_process import CrawlCommand, default_crawl_command
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Article, Source

POLL = 0.5


@dataclass
class TickCycle:
    """One cycle of every source through the batch tick."""

    name: str
    sources: int  # sources crawled
    processes: int  # crawl processes started
    batch_sizes: list[int]
    batch_cpu: list[float]  # CPU seconds of each crawl process (extraction workers included)
    daemon_cpu: float  # CPU seconds of the daemon (this process) during the cycle
    seconds: float
    requests: int
    new_articles: int
    peak_mb: float  # peak resident memory of the daemon's process tree

    @property
    def cpu(self) -> float:
        """All CPU of the cycle: crawl processes and daemon."""
        return sum(self.batch_cpu) + self.daemon_cpu


@dataclass
class DaemonFigures:
    """What the daemon-driven run measured."""

    cycles: list[TickCycle]
    legacy_cpu: list[float]  # one `crawl --source NAME` process each, nothing changed
    legacy_rss_mb: list[float]
    batch_size: int
    load: tuple[float, float, float]


class TreeMemory:
    """Samples the resident memory of this process and its descendants (minus excluded subtrees)."""

    def __init__(self, exclude: set[int]) -> None:
        self.exclude = exclude
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-memory", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def reset(self) -> float:
        """The peak since the last reset, in MB; starts a new peak."""
        peak, self.peak_kb = self.peak_kb, 0
        return peak / 1024

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak_kb = max(self.peak_kb, self._tree_kb())

    def _tree_kb(self) -> int:
        parents: dict[int, int] = {}
        rss: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                status = Path(entry.path, "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            parents[int(entry.name)] = int(fields.get("PPid", "0").strip() or 0)
            rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
        root = os.getpid()
        total = 0
        for pid in rss:
            node = pid
            while node not in (0, 1, root) and node not in self.exclude:
                node = parents.get(node, 0)
            if node == root:
                total += rss[pid]
        return total


def _metered_command(out: Path) -> CrawlCommand:
    def command(config_path: str | None, sources: Sequence[str]) -> list[str]:
        return [
            sys.executable,
            "-m",
            "bench.metered",
            str(out),
            "--",
            *default_crawl_command(config_path, sources),
        ]

    return command


def _metered(out: Path) -> list[dict[str, float]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def run_daemon_capacity(args: argparse.Namespace, work: Path) -> DaemonFigures:
    """The compressed-schedule daemon run (see the module docstring)."""
    n_sources, articles, batch_size = args.daemon_sources, args.daemon_articles, args.batch_size
    url = f"sqlite:///{work / 'daemon.db'}"
    metered = work / "metered.jsonl"
    with GeneratedNetwork(n_sources, articles, seed=1, new_per_cycle=0.05, in_process=False) as net:
        config = net.config_dict(url, data_dir=str(work / "daemon-data"))
        for source in config["sources"]:
            source["schedule"] = "6h"  # the benchmark makes sources due itself (compressed schedule)
        config["crawl"].update(
            {
                "http_cache": True,
                "extract_workers": args.workers,
                "timeout": 30,
                "batch_size": batch_size,
                "tick": "6h",
            }
        )
        config_path = work / "daemon.yaml"
        config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        upgrade(url)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        assert net._process is not None and net._process.pid is not None
        memory = TreeMemory(exclude={net._process.pid})
        memory.start()
        daemon = make_daemon(config_path, StorageBackend(sessions), crawl_command=_metered_command(metered))
        cycles: list[TickCycle] = []
        try:
            for name in ("first crawl", "nothing changed", "nothing changed", "5% new articles"):
                if name.startswith("5%"):
                    net.advance()
                net.requests.clear()
                before = len(_metered(metered))
                with sessions() as session:
                    stored = int(session.scalar(select(func.count(Article.id))) or 0)
                cpu_before, started = time.process_time(), time.monotonic()
                memory.reset()
                if not cycles:
                    daemon.start()  # every source is due: never crawled
                else:
                    with sessions() as session, session.begin():
                        session.execute(update(Source).values(next_due_at=datetime.now(UTC)))
                    daemon.request_tick()
                while sum(e["sources"] for e in _metered(metered)[before:]) < n_sources:
                    time.sleep(POLL)
                entries = _metered(metered)[before:]
                with sessions() as session:
                    now_stored = int(session.scalar(select(func.count(Article.id))) or 0)
                cycles.append(
                    TickCycle(
                        name,
                        sum(int(e["sources"]) for e in entries),
                        len(entries),
                        [int(e["sources"]) for e in entries],
                        [float(e["cpu"]) for e in entries],
                        time.process_time() - cpu_before,
                        time.monotonic() - started,
                        len(net.requests.records()),
                        now_stored - stored,
                        memory.reset(),
                    )
                )
        finally:
            daemon.stop()
            memory.stop()
            engine.dispose()
        legacy_cpu: list[float] = []
        legacy_rss: list[float] = []
        for site in list(net.sites)[: args.legacy_sample]:
            _, _, rss, cpu = run_child(default_crawl_command(str(config_path), [site]), work / "legacy.log")
            legacy_cpu.append(cpu)
            legacy_rss.append(rss)
    return DaemonFigures(cycles, legacy_cpu, legacy_rss, batch_size, os.getloadavg())


def fixed_and_marginal(cycles: list[TickCycle]) -> tuple[float, float]:
    """CPU of a crawl process's start (fixed) and per source (marginal), nothing changed.

    A least-squares line through every unchanged batch: CPU = fixed + marginal x sources.
    """
    points = [
        (n, c)
        for cyc in cycles
        if cyc.name == "nothing changed"
        for n, c in zip(cyc.batch_sizes, cyc.batch_cpu, strict=True)
    ]
    xs = [float(n) for n, _ in points]
    ys = [c for _, c in points]
    if len(set(xs)) < 2:
        per = sum(ys) / sum(xs)
        return 0.0, per
    slope, intercept = statistics.linear_regression(xs, ys)
    return max(intercept, 0.0), slope


def _row(design: str, cpu_day: float, processes: int) -> str:
    return f"{design:<36}{cpu_day:>11.0f}{cpu_day / 86400:>19.1%}{processes:>15}"


def report_daemon(
    figures: DaemonFigures, sources_day: int = 10_000, per_day: int = 4, articles_day: int = 10
) -> str:
    """The tables and the extrapolation to 10,000 sources."""
    cycles = figures.cycles
    lines = [
        f"== daemon-driven batch tick: {cycles[0].sources} generated sources, batch_size {figures.batch_size}"
    ]
    head = (
        f"{'cycle':<18}{'sources':>8}{'procs':>6}{'seconds':>9}{'requests':>9}{'req/src':>8}{'new':>6}"
        f"{'crawl CPU s':>12}{'daemon CPU s':>13}{'CPU ms/src':>11}{'peak MB':>9}"
    )
    lines += [head, "-" * len(head)]
    for c in cycles:
        lines.append(
            f"{c.name:<18}{c.sources:>8}{c.processes:>6}{c.seconds:>9.1f}{c.requests:>9}"
            f"{c.requests / c.sources:>8.2f}{c.new_articles:>6}{sum(c.batch_cpu):>12.2f}{c.daemon_cpu:>13.2f}"
            f"{1000 * c.cpu / c.sources:>11.1f}{c.peak_mb:>9.0f}"
        )
    unchanged = [c for c in cycles if c.name == "nothing changed"]
    per_source = statistics.median(c.cpu / c.sources for c in unchanged)
    fresh = cycles[-1]
    per_article = max(fresh.cpu - statistics.median(c.cpu for c in unchanged), 0.0) / max(
        fresh.new_articles, 1
    )
    fixed, marginal = fixed_and_marginal(cycles)
    legacy = statistics.median(figures.legacy_cpu)
    peak = max(c.peak_mb for c in cycles)
    # The daemon's own CPU (selecting, ledger, reports) per source crawled, added to the crawl's.
    daemon_share = statistics.median(c.daemon_cpu / c.sources for c in unchanged)
    marginal_all = marginal + daemon_share
    cycles_day = sources_day * per_day
    new_day = sources_day * articles_day
    # Processes a day: due sources cluster in batches (the first start makes them due together) or,
    # at worst, spread evenly so that every 1-minute tick starts a process for a few sources.
    clustered = per_day * -(-sources_day // figures.batch_size)
    spread = 24 * 60
    batch_low = cycles_day * marginal_all + clustered * fixed + new_day * per_article
    batch_high = cycles_day * marginal_all + spread * fixed + new_day * per_article
    legacy_day = cycles_day * legacy + new_day * per_article
    lines += [
        "",
        f"unchanged cycle: {1000 * per_source:.1f} CPU ms per source (median of {len(unchanged)} cycles,"
        f" start-up included); fit over the batches: {fixed:.2f} CPU s per process"
        f" + {1000 * marginal:.1f} CPU ms per source, + {1000 * daemon_share:.1f} ms in the daemon",
        f"new article: {1000 * per_article:.0f} CPU ms"
        f" ({fresh.new_articles} new; the cycle's CPU above the unchanged median)",
        f"crawl processes per tick: one per {figures.batch_size} due sources"
        f" ({', '.join(str(c.processes) for c in cycles)} for {cycles[0].sources} due sources)",
        f"before batching (`crawl --source NAME`, one process per due source, nothing changed):"
        f" {legacy:.2f} CPU s and {statistics.median(figures.legacy_rss_mb):.0f} MB max RSS per process"
        f" (median of {len(figures.legacy_cpu)}); {legacy / per_source:.0f}x the batch's CPU per source",
        "",
        f"extrapolation: {sources_day} sources every {24 // per_day} h ({cycles_day} source-cycles a day),"
        f" {articles_day} new articles per source a day ({new_day} a day)",
        f"{'design':<36}{'CPU s/day':>11}{'share of one core':>19}{'processes/day':>15}",
        _row("batch tick, due sources clustered", batch_low, clustered),
        _row("batch tick, spread over 1-min ticks", batch_high, spread),
        _row("one process per source (before)", legacy_day, cycles_day),
        f"peak memory of the daemon's process tree: {peak:.0f} MB (goal < 1 GB); load average at end:"
        f" {' '.join(f'{x:.2f}' for x in figures.load)}",
    ]
    return "\n".join(lines)
