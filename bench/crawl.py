"""Crawl benchmark: countywatch's crawl cycle beside a naive Scrapy + trafilatura crawl, in one run.

    .venv/bin/python -m bench.crawl                      # 200 generated sites x 30 articles
    .venv/bin/python -m bench.crawl --sites 20 --repeat 3

Against a GeneratedNetwork (served from a child process), each system crawls three cycles, each
crawl in its own subprocess on a fresh database: (1) the first crawl, (2) again with nothing
changed, (3) after `advance()` adds about 1% new articles. Measured per cycle: wall time of the
crawl subprocess (start-up, extraction and storage included), requests the sites answered, article
pages stored (of the network's expected articles), articles/s, CPU seconds and max RSS of the
subprocess (extraction workers included). With --repeat N, the table shows medians of N runs.

countywatch: `countywatch crawl --json` (HTTP cache on, extract_workers = --workers).
baseline: bench/crawl_baseline.py, a CrawlSpider following every in-domain link with
trafilatura in the callback and SQLite inserts, nothing incremental.
With --attachments SHARE (default 0.3; 0 leaves the rows out), two more systems crawl a network
whose education notices link a PDF 岗位表 in that share: "cw attach off" (crawl.attachments false)
and "cw attach on" (the default: each PDF fetched, read and stored), so the cost of attachments is
the difference of two rows of one run.

"scrapy floor" (bench/crawl_floor.py) is a bare Scrapy process that asks each configured list
page, feed and sitemap once and does nothing else: no Scrapy-based crawler's unchanged cycle can
cost less, and the verdict gives countywatch's unchanged cycle against it.

Goals: first cycle >= 1.5x the baseline's articles/s; the unchanged cycle >= 10x cheaper than the
first in seconds and in CPU seconds (its requests are at the floor: one conditional GET per list
page, feed and sitemap; robots.txt comes from the cache while fresh); max RSS flat across cycles.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.urls import canonicalize_url
from replica.generate import GeneratedNetwork
from storage.db import make_engine, make_session_factory
from storage.models import Article

COUNTYWATCH = [
    sys.executable,
    "-c",
    "from countywatch.cli import main; main()",
    "crawl",
    "--json",
    "--config",
]
BASELINE = [sys.executable, "-m", "bench.crawl_baseline"]
FLOOR = [sys.executable, "-m", "bench.crawl_floor"]


@dataclass
class Cycle:
    """One crawl of one system."""

    system: str
    cycle: int
    seconds: float
    requests: int
    stored: int  # expected article pages in the database after this cycle
    new: int  # of those, first stored in this cycle
    max_rss_mb: float
    cpu_seconds: float  # user + system time of the crawl process, plus its workers' extraction CPU

    @property
    def rate(self) -> float:
        """Articles stored in this cycle per second."""
        return self.new / self.seconds if self.seconds else 0.0


def run_child(argv: list[str], log: Path) -> tuple[str, float, float, float]:
    """Run a crawl subprocess: stdout, wall seconds, max RSS (MB) and CPU seconds (children included)."""
    started = os.times().elapsed
    with log.open("ab") as err:
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, cwd=Path(__file__).parent.parent)
        assert child.stdout is not None
        out = child.stdout.read().decode()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = os.times().elapsed - started
    if child.returncode != 0:
        raise SystemExit(f"{argv[3] if len(argv) > 3 else argv}: exit {child.returncode}, see {log}")
    return out, seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def stored_ours(db: Path, expected: set[str]) -> set[str]:
    engine = make_engine(f"sqlite:///{db}")
    try:
        with make_session_factory(engine)() as session:
            return {url for (url,) in session.query(Article.url)} & expected
    finally:
        engine.dispose()


def stored_baseline(db: Path, expected: set[str]) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {canonicalize_url(url) for (url,) in conn.execute("SELECT url FROM pages")} & expected


ATTACH_SYSTEMS = {"cw attach off": False, "cw attach on": True}


def run_system(system: str, args: argparse.Namespace, folder: Path) -> list[Cycle]:
    """Three cycles of one system against a fresh network."""
    out: list[Cycle] = []
    share = args.attachments if system in ATTACH_SYSTEMS else 0.0
    with GeneratedNetwork(
        args.sites, args.articles, seed=args.seed, attachment_share=share, in_process=False
    ) as net:
        config = net.config_dict(f"sqlite:///{folder / 'countywatch.db'}", data_dir=str(folder / "data"))
        config["crawl"].update({"http_cache": True, "extract_workers": args.workers, "timeout": 30})
        if system in ATTACH_SYSTEMS:
            config["crawl"]["attachments"] = ATTACH_SYSTEMS[system]
        config_path = folder / "sources.yaml"
        config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        seen: set[str] = set()
        for cycle in (1, 2, 3):
            if cycle == 3:
                net.advance()
            expected = {canonicalize_url(a.url) for a in net.expected.stored(net.cycle)}
            net.requests.clear()
            if system not in ("baseline", "scrapy floor"):
                report, seconds, rss, cpu = run_child([*COUNTYWATCH, str(config_path)], folder / "crawl.log")
                # the forkserver's workers and store writer are not this process's children: they
                # report their own CPU
                parsed = json.loads(report)
                cpu += parsed["extract_cpu_seconds"] + parsed.get("store_cpu_seconds", 0.0)
                stored = stored_ours(folder / "countywatch.db", expected)
            elif system == "scrapy floor":
                _, seconds, rss, cpu = run_child([*FLOOR, str(config_path)], folder / "crawl.log")
                stored = set()
            else:
                _, seconds, rss, cpu = run_child(
                    [*BASELINE, str(config_path), str(folder / "baseline.db")], folder / "crawl.log"
                )
                stored = stored_baseline(folder / "baseline.db", expected)
            requests = len(net.requests.records())
            out.append(Cycle(system, cycle, seconds, requests, len(stored), len(stored - seen), rss, cpu))
            seen |= stored
    return out


def median_cycles(runs: list[list[Cycle]]) -> list[Cycle]:
    """The per-cycle medians of repeated runs."""
    merged = []
    for cycles in zip(*runs, strict=True):
        first = cycles[0]
        merged.append(
            Cycle(
                first.system,
                first.cycle,
                statistics.median(c.seconds for c in cycles),
                int(statistics.median(c.requests for c in cycles)),
                int(statistics.median(c.stored for c in cycles)),
                int(statistics.median(c.new for c in cycles)),
                statistics.median(c.max_rss_mb for c in cycles),
                statistics.median(c.cpu_seconds for c in cycles),
            )
        )
    return merged


def table(rows: list[Cycle]) -> str:
    head = (
        f"{'cycle':<22}{'system':<15}{'seconds':>9}{'requests':>10}{'stored':>8}{'new':>7}{'art/s':>8}"
        f"{'CPU s':>8}{'maxRSS MB':>11}"
    )
    names = {1: "1 first crawl", 2: "2 nothing changed", 3: "3 ~1% new"}
    lines = [head, "-" * len(head)]
    for c in sorted(rows, key=lambda c: (c.cycle, c.system)):
        lines.append(
            f"{names[c.cycle]:<22}{c.system:<15}{c.seconds:>9.1f}{c.requests:>10}{c.stored:>8}{c.new:>7}"
            f"{c.rate:>8.1f}{c.cpu_seconds:>8.1f}{c.max_rss_mb:>11.0f}"
        )
    return "\n".join(lines)


def verdict(rows: list[Cycle], sites: int) -> str:
    by = {(c.system, c.cycle): c for c in rows}
    ours1, ours2 = by[("countywatch", 1)], by[("countywatch", 2)]
    base1 = by.get(("baseline", 1))
    if base1 is None:
        first = "first cycle throughput: baseline not run (--without-baseline)"
    else:
        speedup = ours1.rate / base1.rate if base1.rate else float("inf")
        first = f"first cycle throughput: {speedup:.2f}x the baseline (goal >= 1.5x)"
    cheaper_requests = ours1.requests / max(ours2.requests, 1)
    cheaper_time = ours1.seconds / ours2.seconds if ours2.seconds else float("inf")
    cheaper_cpu = ours1.cpu_seconds / ours2.cpu_seconds if ours2.cpu_seconds else float("inf")
    rss = [by[("countywatch", n)].max_rss_mb for n in (1, 2, 3)]
    attach = []
    if ("cw attach on", 1) in by:
        on, off = by[("cw attach on", 1)], by[("cw attach off", 1)]
        on2, off2 = by[("cw attach on", 2)], by[("cw attach off", 2)]
        attach = [
            f"attachments on: first cycle {on.seconds / off.seconds:.2f}x the time and "
            f"{on.cpu_seconds / off.cpu_seconds:.2f}x the CPU of attachments off, "
            f"{on.requests - off.requests} more requests; unchanged cycle "
            f"{on2.requests - off2.requests} more requests (304s)"
        ]
    floor = by.get(("scrapy floor", 2))
    above_floor = (
        [
            f"unchanged cycle against the floor (a bare Scrapy process asking each entry page once, "
            f"nothing else): {ours2.seconds / floor.seconds:.2f}x its time, "
            f"{ours2.cpu_seconds / floor.cpu_seconds:.2f}x its CPU"
        ]
        if floor is not None and floor.seconds and floor.cpu_seconds
        else []
    )
    return "\n".join(
        [
            first,
            f"unchanged cycle: {cheaper_requests:.1f}x fewer requests, {cheaper_time:.1f}x less time, "
            f"{cheaper_cpu:.1f}x less CPU than the first (goal >= 10x in time and CPU); "
            f"{ours2.requests / max(sites, 1):.1f} requests per source",
            *above_floor,
            f"countywatch max RSS per cycle: {', '.join(f'{r:.0f}' for r in rss)} MB",
            *attach,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--articles", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2, help="countywatch extraction processes")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    parser.add_argument(
        "--attachments",
        type=float,
        default=0.3,
        metavar="SHARE",
        help="add rows for a network whose education notices link a PDF in this share, attachments off "
        "and on (0: leave them out)",
    )
    parser.add_argument(
        "--without-baseline",
        action="store_true",
        help="leave out the plain Scrapy baseline (for the unchanged-cycle and memory figures alone)",
    )
    args = parser.parse_args()
    if not 0.0 <= args.attachments <= 1.0:
        parser.error(f"--attachments must be a share between 0 and 1, got {args.attachments}")
    rows: list[Cycle] = []
    systems = [
        *(() if args.without_baseline else ("baseline",)),
        "scrapy floor",
        "countywatch",
        *(ATTACH_SYSTEMS if args.attachments else ()),
    ]
    for system in systems:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix=f"bench-crawl-{system}-") as tmp:
                runs.append(run_system(system, args, Path(tmp)))
        rows.extend(median_cycles(runs))
    print(
        f"{args.sites} sites x {args.articles} articles, countywatch extract_workers={args.workers}, "
        f"median of {args.repeat} run(s)"
    )
    print(table(rows))
    print(verdict(rows, args.sites))
    if args.json:
        print(json.dumps([c.__dict__ for c in rows]))


if __name__ == "__main__":
    main()
