"""Capacity figures: the daemon's batch tick over many sources, and storage costs per article.

    .venv/bin/python -m bench.capacity [--daemon-sources 1000] [--batch-size 300] [--sites 50]

First the daemon-driven run (bench/capacity_daemon.py): a real daemon over `--daemon-sources`
generated sources on a compressed schedule, with CPU per source per unchanged cycle, per new
article, crawl processes per tick, peak memory, and the extrapolation to 10,000 sources every 6 h
with 10 new articles per source a day, beside the one-process-per-source design it replaces.
`--skip-storage` stops there. Then the storage costs:

For each database (SQLite in a temporary file; PostgreSQL in a fresh schema on
COUNTYWATCH_TEST_POSTGRES_URL, `source scripts/services.sh; start_services`, left out and said so
when unset), a GeneratedNetwork served from a child process is crawled with `countywatch crawl
--json`, each crawl in its own process: (1) the first crawl, (2) nothing changed, (3) after
`advance()` adds about 1% new articles, (4) one source alone with nothing changed (what the daemon's
per-source crawl process costs, start-up included). Printed: requests the sites answered, articles
stored, CPU seconds (crawl process plus its extraction workers) per cycle, and the database size
(SQLite file after a WAL checkpoint; PostgreSQL `pg_total_relation_size` summed over the schema's
tables) empty and after the first crawl, per table, and per stored article. Also: the HTTP cache
folder, the crawl_runs and deliveries row costs, the CPU of one near-duplicate query on the
neardup_bands table (what each new article pays; the index is on disk, nothing of it is held in
memory: its size is the neardup_bands row of the table) and, with
COUNTYWATCH_TEST_REDIS_URL set, the CPU of one `countywatch worker --enqueue --source NAME` process
(the daemon's crawl job in distributed mode).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from redis import Redis
from sqlalchemy import Engine, select, text

from bench.capacity_daemon import report_daemon, run_daemon_capacity
from bench.crawl import COUNTYWATCH, run_child
from bench.databases import postgres_schema_url, sqlite_url
from crawler.dedupe.fingerprint import MinHashSignature
from replica.generate import GeneratedNetwork
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Alert, Article
from storage.neardup import CANDIDATE_THRESHOLD
from storage.neardup_stored import StoredNearDupIndex
from storage.repository import ensure_deliveries

# Tables whose growth follows the number of stored articles; the rest (sources, crawl runs,
# deliveries, alembic) grow with sources, runs and digests instead.
ARTICLE_TABLES = ("articles", "article_versions", "stories", "alerts", "neardup_bands")
INDEX_QUERIES = 300  # near-duplicate queries timed, with stored signatures


@dataclass
class CycleCost:
    """One crawl cycle of the network."""

    name: str
    requests: int
    stored: int  # articles in the database after the cycle
    cpu_seconds: float  # crawl process + extraction workers


@dataclass
class Sizes:
    """Bytes per table (indexes and TOAST included), and the whole database."""

    tables: dict[str, int]
    total: int


@dataclass
class Measured:
    """Everything one database's run measured."""

    costs: list[CycleCost]
    empty: Sizes
    full: Sizes  # after the first crawl
    stored: int  # articles stored by the first crawl
    mean_chars: float  # mean stored text length, characters
    cache_bytes: int  # the HTTP cache folder after the crawls
    signature_bytes: float  # mean stored MinHash signature (read back whole to build the index)
    run_bytes: float  # crawl_runs bytes per recorded run (one per source and crawl)
    delivery_bytes: float  # deliveries bytes per row (one per alert, subscription and channel)
    alerts_per_article: float  # alerts (new, changed, withdrawn) per stored article
    index_query_us: float  # CPU microseconds of one near-duplicate query (what each new article pays)
    enqueue_cpu: float | None  # `countywatch worker --enqueue --source NAME` process; None without Redis


def _sizes(engine: Engine) -> Sizes:
    """Table sizes now; SQLite's WAL is checkpointed first so the file holds everything."""
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        assert path is not None
        # a plain connection: the engine's connections open BEGIN IMMEDIATE, and a checkpoint
        # cannot run inside a transaction
        with closing(sqlite3.connect(path)) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = raw.execute(
                "SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize) FROM dbstat s"
                " LEFT JOIN sqlite_schema m ON m.name = s.name GROUP BY 1"
            ).fetchall()
        return Sizes({name: int(size) for name, size in pages}, os.path.getsize(path))
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind = 'r' AND n.nspname = current_schema()"
            )
        ).all()
        tables = {name: int(size) for name, size in rows}
        return Sizes(tables, sum(tables.values()))


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _mean(engine: Engine, expression: str, table: str) -> float:
    with engine.connect() as conn:
        return float(conn.execute(text(f"SELECT avg({expression}) FROM {table}")).scalar_one())


def _enqueue_cpu(config: dict[str, Any], source: str, redis: str, work: Path) -> float:
    """CPU seconds of the process the daemon starts per due source in distributed mode."""
    prefix = f"capacity-{uuid.uuid4().hex[:8]}"
    config = {**config, "distributed": {"redis_url": redis, "queue_prefix": prefix}}
    path = work / "distributed.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    argv = [*COUNTYWATCH[:3], "worker", "--enqueue", "--source", source, "--config", str(path)]
    _, _, _, cpu = run_child(argv, work / "enqueue.log")
    server = Redis.from_url(redis)
    try:
        keys = list(server.scan_iter(f"{prefix}:*"))
        if keys:
            server.delete(*keys)
    finally:
        server.close()
    return cpu


def _delivery_bytes(engine: Engine, before: Sizes) -> tuple[float, int]:
    """Deliveries bytes per row and rows: every stored alert queued for one subscription and channel."""
    with make_session_factory(engine)() as session, session.begin():
        ids = list(session.scalars(select(Alert.id)))
        ensure_deliveries(session, ids, "capacity-subscription", "capacity-channel")
    grown = _sizes(engine).tables["deliveries"] - before.tables["deliveries"]
    return grown / max(len(ids), 1), len(ids)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(url: str, args: argparse.Namespace, work: Path, redis: str | None) -> Measured:
    """The crawls into the database at `url` (and one enqueue when a Redis URL is given)."""
    upgrade(url)
    engine = make_engine(url)
    try:
        empty = _sizes(engine)
        costs: list[CycleCost] = []
        with GeneratedNetwork(args.sites, args.articles, seed=args.seed, in_process=False) as net:
            config = net.config_dict(url, data_dir=str(work / "data"))
            config["crawl"].update({"http_cache": True, "extract_workers": args.workers, "timeout": 30})
            config_path = work / "sources.yaml"
            config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
            after_first: Sizes | None = None
            stored_first, mean_chars = 0, 0.0
            first_source = next(iter(net.sites))
            runs = [
                ("first crawl", []),
                ("nothing changed", []),
                ("~1% new", []),
                ("one source alone", ["--source", first_source]),
            ]
            for name, extra in runs:
                if name == "~1% new":
                    net.advance()
                net.requests.clear()
                out, _, _, cpu = run_child([*COUNTYWATCH, str(config_path), *extra], work / "crawl.log")
                parsed = json.loads(out)
                cpu += parsed["extract_cpu_seconds"] + parsed.get("store_cpu_seconds", 0.0)
                stored = _count(engine, "articles")
                costs.append(CycleCost(name, len(net.requests.records()), stored, cpu))
                if after_first is None:
                    after_first, stored_first = _sizes(engine), stored
                    mean_chars = _mean(engine, "length(text)", "articles")
            enqueue_cpu = _enqueue_cpu(config, first_source, redis, work) if redis else None
        cache = _folder_bytes(work / "data" / "httpcache")
        end = _sizes(engine)
        run_bytes = (end.tables["crawl_runs"] - empty.tables["crawl_runs"]) / _count(engine, "crawl_runs")
        signature = _mean(engine, "length(signature)", "articles")
        with make_session_factory(engine)() as session:
            index = StoredNearDupIndex(session)
            blobs = session.scalars(
                select(Article.signature).where(Article.signature.is_not(None)).limit(INDEX_QUERIES)
            ).all()
            started = time.process_time()
            for blob in blobs:
                if blob:
                    index.query(MinHashSignature.from_bytes(blob), CANDIDATE_THRESHOLD)
            index_query_us = 1e6 * (time.process_time() - started) / max(len(blobs), 1)
        delivery_bytes, alerts = _delivery_bytes(engine, end)
        articles = _count(engine, "articles")
        assert after_first is not None
        return Measured(
            costs,
            empty,
            after_first,
            stored_first,
            mean_chars,
            cache,
            signature,
            run_bytes,
            delivery_bytes,
            alerts / articles,
            index_query_us,
            enqueue_cpu,
        )
    finally:
        engine.dispose()


def report(backend: str, args: argparse.Namespace, result: Measured) -> str:
    """The tables for one database."""
    costs, empty, full, stored, cache = (
        result.costs,
        result.empty,
        result.full,
        result.stored,
        result.cache_bytes,
    )
    lines = [f"== {backend}: {args.sites} sites x {args.articles} articles, extract_workers={args.workers}"]
    head = (
        f"{'cycle':<18}{'requests':>10}{'req/source':>12}{'stored':>8}{'new':>6}{'CPU s':>8}"
        f"{'CPU ms/source':>15}"
    )
    lines += [head, "-" * len(head)]
    previous = 0
    for c in costs:
        sources = 1 if c.name == "one source alone" else args.sites
        lines.append(
            f"{c.name:<18}{c.requests:>10}{c.requests / sources:>12.2f}{c.stored:>8}"
            f"{c.stored - previous:>6}{c.cpu_seconds:>8.2f}{1000 * c.cpu_seconds / sources:>15.1f}"
        )
        previous = c.stored
    first = costs[0]
    lines.append(
        f"first crawl: {1000 * first.cpu_seconds / max(first.stored, 1):.1f} CPU ms per stored article"
    )
    lines.append("")
    head = f"{'table':<22}{'empty bytes':>13}{'after bytes':>13}{'bytes/article':>15}"
    lines += [head, "-" * len(head)]
    for name in sorted(full.tables, key=lambda n: -full.tables[n]):
        grown = full.tables[name] - empty.tables.get(name, 0)
        lines.append(
            f"{name:<22}{empty.tables.get(name, 0):>13}{full.tables[name]:>13}{grown / stored:>15.0f}"
        )
    per_article = (full.total - empty.total) / stored
    lines.append(f"{'total':<22}{empty.total:>13}{full.total:>13}{per_article:>15.0f}")
    article_only = sum(full.tables.get(t, 0) - empty.tables.get(t, 0) for t in ARTICLE_TABLES) / stored
    lines.append(f"mean stored text: {result.mean_chars:.0f} characters per article")
    lines.append(f"article tables ({', '.join(ARTICLE_TABLES)}): {article_only:.0f} bytes per article")
    lines.append(f"HTTP cache folder: {cache} bytes, {cache / args.sites:.0f} per source")
    lines.append(f"stored MinHash signature: {result.signature_bytes:.0f} bytes per article")
    lines.append(f"crawl_runs: {result.run_bytes:.0f} bytes per recorded run (one per source and crawl)")
    lines.append(
        f"deliveries: {result.delivery_bytes:.0f} bytes per row (alert x subscription x channel);"
        f" {result.alerts_per_article:.2f} alerts per stored article"
    )
    lines.append(
        f"near-duplicate index: neardup_bands rows (bytes per article in the table above), nothing held"
        f" in memory; one query at Jaccard {CANDIDATE_THRESHOLD}: {result.index_query_us:.0f} CPU us"
    )
    if result.enqueue_cpu is None:
        lines.append("worker --enqueue --source NAME: not run: set COUNTYWATCH_TEST_REDIS_URL")
    else:
        lines.append(f"worker --enqueue --source NAME: {result.enqueue_cpu:.2f} CPU s per process")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="countywatch extraction processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--daemon-sources", type=int, default=1000, help="sources of the daemon-driven run")
    parser.add_argument("--daemon-articles", type=int, default=2, help="articles per source there")
    parser.add_argument("--batch-size", type=int, default=300, help="crawl.batch_size of the daemon run")
    parser.add_argument("--legacy-sample", type=int, default=8, help="one-source crawl processes measured")
    parser.add_argument("--skip-storage", action="store_true", help="only the daemon-driven run")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-capacity-daemon-") as tmp:
        print(report_daemon(run_daemon_capacity(args, Path(tmp))))
    print()
    if args.skip_storage:
        return
    pg = os.environ.get("COUNTYWATCH_TEST_POSTGRES_URL")
    redis = os.environ.get("COUNTYWATCH_TEST_REDIS_URL")
    for backend in ("sqlite", "postgresql"):
        if backend == "postgresql" and not pg:
            print("== postgresql: not run: set COUNTYWATCH_TEST_POSTGRES_URL")
            continue
        database = sqlite_url() if backend == "sqlite" else postgres_schema_url(pg or "")
        with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp, database as url:
            print(report(backend, args, measure(url, args, Path(tmp), redis)))
        print()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
