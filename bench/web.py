"""Web latency: p50/p95 of the main requests of `countywatch serve` on a 100,000-article database.

    .venv/bin/python -m bench.web [--articles 100000] [--requests 40] [--postgres URL]

The database is generated with bulk inserts (sources, stories with reprints, versions with diffs,
new/changed/withdrawn alerts, and the search index filled with `storage.search.search_document`),
then migrated the usual way. Requests go through the real application (Starlette's test client,
in process: routing, queries, templates, no network) on a read-only engine. Searches run twice
in the same run: through the search index (FTS5 trigram / pg_trgm), and with the index swapped
for `LIKE` over title and text (the baseline). SQLite uses a temporary file; PostgreSQL a fresh
schema on --postgres or COUNTYWATCH_TEST_POSTGRES_URL, left out (saying so) when neither is given.
Goal: p95 under 200 ms for each request.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from sqlalchemy import Engine, insert, select, text
from starlette.testclient import TestClient

from bench.databases import postgres_schema_url, sqlite_url
from countywatch.config import config_from_dict
from countywatch.web.app import create_app
from storage import search
from storage.db import make_engine, open_read_only, upgrade
from storage.models import Alert, Article, ArticleVersion, Source, Story

TEXTS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "storage" / "texts.yaml"
REGIONS = [
    "陕西省安康市镇坪县",
    "四川省攀枝花市东区",
    "湖南省湘潭市岳塘区",
    "贵州省铜仁市松桃苗族自治县",
    "北京市",
]
CATEGORIES = ["招生入学", "教师招聘", "中高考", "放假", "资助", "会议", "政策文件"]
KINDS = ["government", "education_bureau", "newspaper", "mirror"]
RARE = "课后延时服务"  # in about 0.2% of the articles
COMMON = "教育体育"  # in about one article in six
SHORT = "暑假"  # two characters: the fallback scan
BATCH = 5000


def _pool() -> str:
    data = yaml.safe_load(TEXTS.read_text(encoding="utf-8"))
    return "".join(p for item in data.values() for p in item["paragraphs"])


def _rows(n: int, now: datetime, seed: int = 11) -> dict[str, list[dict[str, Any]]]:
    """Every row of the generated database (ids assigned here, so bulk inserts need no round trips)."""
    rng = random.Random(seed)
    pool = _pool()
    sources = [
        {
            "id": i + 1,
            "name": f"source{i:02d}",
            "kind": KINDS[i % len(KINDS)],
            "health": "ok",
            "created_at": now,
        }
        for i in range(20)
    ]
    stories: list[dict[str, Any]] = []
    articles: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    span = timedelta(days=60)
    for i in range(n):
        article_id = i + 1
        seen = now - span + span * (i / n)  # oldest first: ids follow first-seen order
        reprint = stories and rng.random() < 0.1
        if reprint:
            story_id = rng.randrange(max(1, len(stories) - 200), len(stories) + 1)
        else:
            stories.append({"id": len(stories) + 1, "created_at": seen, "first_article_id": None})
            story_id = len(stories)
        paras = []
        for _ in range(rng.randint(3, 8)):
            start = rng.randrange(len(pool) - 200)
            paras.append(pool[start : start + rng.randint(60, 180)])
        if rng.random() < 0.002:
            paras.insert(1, f"全面推进{RARE}工作，家长可自愿申请。")
        if rng.random() < 0.15:
            paras.append(f"（县{COMMON}局供稿）")
        if rng.random() < 0.05:
            paras.append(f"{SHORT}期间请注意安全。")
        category = CATEGORIES[i % len(CATEGORIES)]
        region = REGIONS[i % len(REGIONS)]
        title = f"{region[-3:]}关于{2020 + i % 5}年{category}工作的通知（第{i}号）"
        body = "\n".join(paras)
        source = sources[i % len(sources)]
        withdrawn = rng.random() < 0.01
        changed = rng.random() < 0.05
        articles.append(
            {
                "id": article_id,
                "url": f"http://{source['name']}.example.gov.cn/art/{i}.html",
                "fetched_url": f"http://{source['name']}.example.gov.cn/art/{i}.html",
                "source_id": source["id"],
                "story_id": story_id,
                "title": title,
                "text": body,
                "published_at": (seen - timedelta(hours=6)).astimezone(UTC).date().isoformat(),
                "authors": [],
                "region": region,
                "topics": ["education"],
                "categories": [category],
                "flags": [],
                "language": "zh",
                "extra": {},
                "content_hash": f"{article_id:064x}",
                "alertable": True,
                "status": "withdrawn" if withdrawn else "active",
                "gone_count": 0,
                "version": 2 if changed else 1,
                "first_seen": seen,
                "last_seen": seen,
                "last_checked": seen,
                "last_changed": seen,
                "withdrawn_at": seen + timedelta(hours=2) if withdrawn else None,
            }
        )
        versions.append(
            {
                "article_id": article_id,
                "version": 1,
                "title": title,
                "text": body,
                "content_hash": "0" * 64,
                "diff": "",
                "seen_at": seen,
            }
        )
        if not reprint:
            alerts.append(_alert("new", f"new:story:{story_id}", article_id, story_id, source["id"], seen))
        if changed:
            diff = f"- {paras[0]}\n+ {paras[0]}（已更新）"
            versions.append(
                {
                    "article_id": article_id,
                    "version": 2,
                    "title": title,
                    "text": body,
                    "content_hash": "1" * 64,
                    "diff": diff,
                    "seen_at": seen + timedelta(hours=1),
                }
            )
            alerts.append(
                _alert(
                    "changed",
                    f"changed:article:{article_id}:v2",
                    article_id,
                    story_id,
                    source["id"],
                    seen + timedelta(hours=1),
                    {"diff": diff.split("\n"), "version": 2},
                )
            )
        if withdrawn:
            alerts.append(
                _alert(
                    "withdrawn",
                    f"withdrawn:article:{article_id}",
                    article_id,
                    story_id,
                    source["id"],
                    seen + timedelta(hours=2),
                )
            )
    return {
        "sources": sources,
        "stories": stories,
        "articles": articles,
        "versions": versions,
        "alerts": alerts,
    }


def _alert(
    kind: str,
    key: str,
    article_id: int,
    story_id: int,
    source_id: int,
    at: datetime,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "key": key,
        "article_id": article_id,
        "story_id": story_id,
        "source_id": source_id,
        "payload": payload or {},
        "created_at": at,
    }


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def generate(url: str, n: int) -> float:
    """Migrate `url` and fill it with n articles; seconds taken."""
    started = time.perf_counter()
    upgrade(url)
    rows = _rows(n, datetime.now(UTC))
    engine = make_engine(url)
    key = "rowid" if engine.dialect.name == "sqlite" else "article_id"
    documents = [
        {"id": a["id"], "document": search.search_document(a["title"], a["text"])} for a in rows["articles"]
    ]
    try:
        with engine.begin() as connection:
            for model, name in [
                (Source, "sources"),
                (Story, "stories"),
                (Article, "articles"),
                (ArticleVersion, "versions"),
                (Alert, "alerts"),
            ]:
                for chunk in _chunks(rows[name]):
                    connection.execute(insert(model), chunk)
            insert_document = text(
                f"INSERT INTO {search.SEARCH_TABLE} ({key}, document) VALUES (:id, :document)"
            )
            for chunk in _chunks(documents):
                connection.execute(insert_document, chunk)
            # One grouped pass (UPDATE ... FROM), not a subquery per story.
            connection.execute(
                text(
                    "UPDATE stories SET first_article_id = m.first, canonical_article_id = m.first,"
                    " first_publisher = 'source00' FROM (SELECT story_id, min(id) AS first FROM articles"
                    " GROUP BY story_id) AS m WHERE m.story_id = stories.id"
                )
            )
        # What autovacuum does to a live database: statistics, and the visibility map that lets
        # PostgreSQL read (first_seen, id) from the index alone.
        sweep = "ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE"
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(sweep))
    finally:
        engine.dispose()
    return time.perf_counter() - started


def _config(url: str, folder: str) -> Any:
    return config_from_dict(
        {
            "database": url,
            "data_dir": folder,
            "notify": {
                "channels": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/"}},
                "subscriptions": [{"name": "bench", "channels": ["hook"]}],
            },
        },
        base_dir=folder,
    )


def _like(session: Any, query: str) -> search.SearchPlan:
    """The baseline plan: `LIKE` over every article's title and text, no index."""
    found = select(Article.id).where(search.like_matches(query))
    return search.SearchPlan(found, (), session.get_bind().dialect.name)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def _time(client: TestClient, paths: list[str]) -> tuple[float, float]:
    samples = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code, response.text[:200])
    return _percentiles(samples)


@contextmanager
def _client(url: str, folder: str) -> Iterator[TestClient]:
    engine: Engine = open_read_only(url)
    with TestClient(create_app(_config(url, folder), engine)) as client:
        yield client


def measure(url: str, n: int, requests: int, folder: str) -> list[tuple[str, str, float, float]]:
    """(request, how, p50 ms, p95 ms) for each request kind; one warm-up request each first."""
    rng = random.Random(5)
    ids = [rng.randrange(1, n + 1) for _ in range(requests)]
    plans = {
        "GET /": ["/"] * requests,
        f"GET /?q={RARE} (rare)": [f"/?q={RARE}"] * requests,
        f"GET /?q={COMMON} (common)": [f"/?q={COMMON}"] * requests,
        f"GET /?q={SHORT} (2 chars)": [f"/?q={SHORT}"] * requests,
        "GET /articles/{id}": [f"/articles/{i}" for i in ids],
        "GET /feeds/bench.atom": ["/feeds/bench.atom"] * requests,
        "GET /api/articles?category=放假": ["/api/articles?category=放假"] * requests,
        "GET /sources": ["/sources"] * requests,
    }
    out = []
    with _client(url, folder) as client:
        for name, paths in plans.items():
            _time(client, paths[:1])
            out.append((name, "index" if "?q=" in name else "", *_time(client, paths)))
        with mock.patch.object(search, "plan", _like):
            for name, paths in plans.items():
                if "?q=" in name:
                    _time(client, paths[:1])
                    out.append((name, "LIKE (baseline)", *_time(client, paths)))
    return out


def _report(backend: str, n: int, seconds: float, rows: list[tuple[str, str, float, float]]) -> None:
    print(f"\n{backend}: {n} articles generated in {seconds:.1f} s")
    print("| request | search by | p50 ms | p95 ms | p95 < 200 ms |")
    print("|---|---|---|---|---|")
    for name, how, p50, p95 in rows:
        print(f"| {name} | {how or '-'} | {p50:.1f} | {p95:.1f} | {'yes' if p95 < 200 else 'NO'} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40, help="requests of each kind")
    parser.add_argument("--postgres", default=os.environ.get("COUNTYWATCH_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with sqlite_url("bench-web-") as url:
        folder = str(Path(url.removeprefix("sqlite:///")).parent)
        seconds = generate(url, args.articles)
        _report(
            "SQLite (FTS5 trigram)",
            args.articles,
            seconds,
            measure(url, args.articles, args.requests, folder),
        )
    if not args.postgres:
        print("\nPostgreSQL: left out (give --postgres URL or set COUNTYWATCH_TEST_POSTGRES_URL)")
        return 0
    with postgres_schema_url(args.postgres, "bench_web") as url, sqlite_url("bench-web-pg-") as scratch:
        folder = str(Path(scratch.removeprefix("sqlite:///")).parent)
        seconds = generate(url, args.articles)
        _report(
            "PostgreSQL (pg_trgm GIN)",
            args.articles,
            seconds,
            measure(url, args.articles, args.requests, folder),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
