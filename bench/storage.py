"""Storage throughput: articles stored per second, with and without near-duplicate dedupe.

    .venv/bin/python -m bench.storage [--articles 1000] [--repeats 3]

(as a module: run as a script, this file would shadow the `storage` package)

Each run ingests the same generated stream (new stories, exact reprints and near-duplicate copies,
committing every 100 articles) into a fresh database. SQLite uses a temporary file; PostgreSQL uses
a fresh schema on COUNTYWATCH_TEST_POSTGRES_URL (`source scripts/services.sh; start_services`),
and is left out, saying so, when that is not set. The baseline column is exact-hash dedupe only
(no index); ours adds the MinHash LSH near-duplicate index held in memory. The last column stores
as the crawl's writer does (crawler/runtime/pipelines/batch_writer.py): the index in the database
(`neardup_bands`), one transaction per 64 articles, a savepoint per article. Medians of the repeats.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path

import yaml

from bench.databases import postgres_schema_url, sqlite_url
from crawler.article import Article
from storage.db import make_engine, make_session_factory, upgrade
from storage.neardup import NearDupIndex
from storage.neardup_stored import StoredNearDupIndex
from storage.repository import SourceRef, ingest_article

TEXTS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "storage" / "texts.yaml"
SOURCES = [SourceRef("gov", "government"), SourceRef("paper", "newspaper"), SourceRef("mirror", "mirror")]
BATCH = 100
# The crawl's writer: items per transaction (crawler.runtime.pipelines.store.BATCH_ITEMS).
WRITER_BATCH = 64


def _stream(n: int, seed: int = 7) -> list[tuple[SourceRef, str, Article]]:
    """n articles: 70% new stories, 15% exact reprints, 15% near-duplicate copies (one paragraph edited)."""
    rng = random.Random(seed)
    data = yaml.safe_load(TEXTS.read_text(encoding="utf-8"))
    pool = "".join(p for item in data.values() for p in item["paragraphs"])
    stories: list[list[str]] = []
    out: list[tuple[SourceRef, str, Article]] = []
    for i in range(n):
        roll = rng.random()
        if stories and roll < 0.15:
            paras = rng.choice(stories)
        elif stories and roll < 0.30:
            paras = list(rng.choice(stories))
            start = rng.randrange(len(pool) - 200)
            paras[rng.randrange(len(paras))] = pool[start : start + rng.randint(60, 200)]
        else:
            paras = []
            for _ in range(rng.randint(4, 10)):
                start = rng.randrange(len(pool) - 200)
                paras.append(pool[start : start + rng.randint(60, 200)])
            stories.append(paras)
        article = Article(
            title=f"教育新闻 {i}", text="\n".join(paras), published_at="2024-03-01", topics=["education"]
        )
        out.append((SOURCES[i % len(SOURCES)], f"http://site{i % 7}.example.com/a/{i}.html", article))
    return out


def _run(url: str, stream: list[tuple[SourceRef, str, Article]], dedupe: bool) -> float:
    """Articles per second for one ingest of the stream into a fresh database."""
    upgrade(url)
    engine = make_engine(url)
    index = NearDupIndex() if dedupe else None
    try:
        with make_session_factory(engine)() as session:
            started = time.perf_counter()
            for i, (source, page_url, article) in enumerate(stream, 1):
                ingest_article(session, article, source=source, fetched_url=page_url, index=index)
                if i % BATCH == 0:
                    session.commit()
            session.commit()
            return len(stream) / (time.perf_counter() - started)
    finally:
        engine.dispose()


def _run_writer(url: str, stream: list[tuple[SourceRef, str, Article]]) -> float:
    """Articles per second stored as the crawl's writer stores them, into a fresh database."""
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        started = time.perf_counter()
        for start in range(0, len(stream), WRITER_BATCH):
            with sessions() as session, session.begin():
                index = StoredNearDupIndex(session)
                for source, page_url, article in stream[start : start + WRITER_BATCH]:
                    with session.begin_nested():
                        ingest_article(session, article, source=source, fetched_url=page_url, index=index)
        return len(stream) / (time.perf_counter() - started)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    stream = _stream(args.articles)
    backends: list[tuple[str, str | None]] = [("sqlite", "")]
    pg = os.environ.get("COUNTYWATCH_TEST_POSTGRES_URL")
    backends.append(("postgresql", pg))
    print(f"{args.articles} articles per run, commit every {BATCH}, median of {args.repeats} runs")
    print(
        f"{'backend':<12} {'exact only (baseline)':>22} {'+ near-dup index':>18} {'ratio':>7}"
        f" {'as the crawl writer':>20} {'ratio':>7}"
    )
    for name, base in backends:
        if base is None:
            print(f"{name:<12} {'not run: set COUNTYWATCH_TEST_POSTGRES_URL':>49}")
            continue
        rates: dict[str, list[float]] = {"off": [], "on": [], "writer": []}
        for _ in range(args.repeats):
            for mode in rates:
                with sqlite_url() if name == "sqlite" else postgres_schema_url(base) as url:
                    rate = _run_writer(url, stream) if mode == "writer" else _run(url, stream, mode == "on")
                    rates[mode].append(rate)
        off, on, writer = (statistics.median(rates[mode]) for mode in ("off", "on", "writer"))
        print(
            f"{name:<12} {off:>18.0f} a/s {on:>14.0f} a/s {on / off:>6.2f}x"
            f" {writer:>16.0f} a/s {writer / off:>6.2f}x"
        )


if __name__ == "__main__":
    main()
