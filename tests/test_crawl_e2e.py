"""End to end: `countywatch crawl` as a subprocess against the replica site network.

Four cycles on one fresh SQLite database, checked against the replica's ground truth:
1. first crawl: exactly the expected articles, stories and "new" alerts; hostile pages store nothing;
2. after `advance()` (two new articles, one changed, two gone, one replaced by a "deleted"
   notice), nothing known is due yet: list pages, feeds and sitemaps are revalidated (304 where
   unchanged), only the new articles fetched;
3. a day later (the stored re-check times moved into the past, as a day passing would): every
   known article is due and fetched again; unchanged ones stay at version 1, the changed one gets
   a second version and a "changed" alert, the 404/410 ones count a first miss, and the deleted
   notice withdraws its article at once, with a "withdrawn" alert;
4. another day later, the second miss withdraws the 404/410 ones, with one "withdrawn" alert each.
No request ever reaches the off-domain trap host.

Early conditional re-checks of recent articles are off here (`recheck_recent: 0s`): this test follows
the decaying schedule alone; tests/test_crawl_recent_e2e.py crawls with them on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update

from core.urls import canonicalize_url
from replica.expected import Expected
from replica.network import ReplicaNetwork
from storage.db import make_engine, make_session_factory
from storage.models import Alert, Article, ArticleVersion

pytestmark = pytest.mark.e2e
SLOW = 0.2
CRAWL = [sys.executable, "-c", "from countywatch.cli import main; main()", "crawl", "--json"]


def write_config(net: ReplicaNetwork, folder: Path) -> Path:
    config = net.config_dict(f"sqlite:///{folder / 'countywatch.db'}", data_dir=str(folder / "data"))
    config["crawl"].update(
        {"http_cache": True, "timeout": SLOW + 3, "extract_workers": 1, "recheck_recent": "0s"}
    )
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def crawl(config: Path) -> dict[str, Any]:
    done = subprocess.run([*CRAWL, "--config", str(config)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def database(folder: Path) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{folder / 'countywatch.db'}")
    try:
        with make_session_factory(engine)() as session:
            articles = list(session.scalars(select(Article)))
            versions = {row.article_id: row.version for row in session.scalars(select(ArticleVersion))}
            alerts = [(a.kind, a.story_id, a.article_id) for a in session.scalars(select(Alert))]
    finally:
        engine.dispose()
    return {"articles": articles, "versions": versions, "alerts": alerts}


def check_store(db: dict[str, Any], expected: Expected, cycle: int) -> dict[str, Article]:
    """The stored articles are exactly the expected ones, grouped into exactly the expected stories."""
    by_url = {row.url: row for row in db["articles"]}
    assert sorted(by_url) == sorted(canonicalize_url(a.url) for a in expected.stored(cycle))
    stories: defaultdict[int, set[str]] = defaultdict(set)
    for row in db["articles"]:
        stories[row.story_id].add(row.url)
    want = {frozenset(canonicalize_url(a.url) for a in copies) for copies in expected.stories(cycle).values()}
    assert {frozenset(urls) for urls in stories.values()} == want
    return by_url


def story_keys(db: dict[str, Any], expected: Expected, kind: str) -> list[str]:
    """The replica story keys of the stories that got an alert of `kind` (once each)."""
    story_of = {canonicalize_url(a.url): a.story for a in expected.articles}
    key_of_story = {row.story_id: story_of[row.url] for row in db["articles"]}
    return sorted(key_of_story[story_id] for k, story_id, _ in db["alerts"] if k == kind)


def a_day_passes(folder: Path) -> None:
    """Make every scheduled re-check due, as if its time had come."""
    engine = make_engine(f"sqlite:///{folder / 'countywatch.db'}")
    try:
        with make_session_factory(engine)() as session, session.begin():
            past = datetime.now(UTC) - timedelta(minutes=1)
            session.execute(
                update(Article).where(Article.next_check_at.is_not(None)).values(next_check_at=past)
            )
    finally:
        engine.dispose()


def article_requests(net: ReplicaNetwork, expected: Expected) -> dict[str, list[int]]:
    """Article URL -> statuses of the requests made for it since the log was cleared."""
    paths = {a.url: a for a in expected.articles}
    out: defaultdict[str, list[int]] = defaultdict(list)
    for record in net.requests.records():
        site = net.sites.get(record.site)
        if site is not None and site.base_url.rstrip("/") + record.path in paths:
            out[site.base_url.rstrip("/") + record.path].append(record.status)
    return out


def test_four_cycles_against_the_replica(tmp_path: Path) -> None:
    with ReplicaNetwork(slow_seconds=SLOW) as net:
        expected = net.expected
        config = write_config(net, tmp_path)

        # 1. first crawl
        report = crawl(config)
        db = database(tmp_path)
        check_store(db, expected, 1)
        assert story_keys(db, expected, "new") == sorted(expected.alert_stories(1))
        assert report["offsite_dropped"] >= 1  # the off-domain redirect was dropped, not followed
        by_name = {s["name"]: s for s in report["sources"]}
        assert by_name["dongqu"]["errors"]["offsite"] >= 1
        assert by_name["dongqu"]["errors"]["blocked"] >= 1
        assert by_name["zhenping"]["errors"]["redirect_loop"] == 1
        assert by_name["ankang_jyj"]["errors"]["too_large"] == 1
        assert by_name["ankang_jyj"]["errors"]["binary"] == 1
        for site, never in expected.never_fetched.items():
            assert not set(never) & set(net.requests.paths(site))

        # 2. changes on the sites; nothing known is due for a re-check yet
        net.requests.clear()
        net.advance()
        report = crawl(config)
        db = database(tmp_path)
        check_store(db, expected, 2)
        assert story_keys(db, expected, "new") == sorted(
            expected.alert_stories(1) | expected.alert_stories(2)
        )
        fetched = set(article_requests(net, expected))
        # the new articles, and the hostile pages that stored nothing (tried again); no known article
        assert {a.url for a in expected.new(2)} <= fetched
        assert fetched - {a.url for a in expected.new(2)} <= {a.url for a in expected.unstored}
        assert report["responses_304"] > 0
        # robots.txt came from the cache (fresh for a day), and its rules still held
        assert not [r for r in net.requests.records() if r.path == "/robots.txt"]
        for site, never in expected.never_fetched.items():
            assert not set(never) & set(net.requests.paths(site))
        # list pages, feeds and sitemaps of the sites without news: all revalidated, all unchanged
        quiet = {"ankang_jyj", "xiangtan_daily", "songtao", "huaxia_mirror", "wentop"}
        pages = {a.url for a in expected.articles}
        for record in net.requests.records():
            url = (
                net.sites[record.site].base_url.rstrip("/") + record.path if record.site in net.sites else ""
            )
            if record.site in quiet and record.path != "/robots.txt" and url not in pages:
                assert record.status == 304, record

        # 3. a day later: every known article is due; conditional GETs find what changed
        net.requests.clear()
        a_day_passes(tmp_path)
        report = crawl(config)
        db = database(tmp_path)
        by_url = check_store(db, expected, 2)
        changed = {canonicalize_url(a.url) for a in expected.changed(2)}
        gone = {canonicalize_url(a.url): a for a in expected.gone(2)}
        # The first re-check of cycle 2's pages: what expected.withdrawn(2) assumes.
        withdrawn = {canonicalize_url(a.url) for a in expected.withdrawn(2)}
        assert withdrawn and withdrawn < set(gone)
        for url, row in by_url.items():
            assert db["versions"].get(row.id, 1) == (2 if url in changed else 1), url
            assert row.gone_count == (1 if url in gone else 0), url
            assert row.status == ("withdrawn" if url in withdrawn else "active"), url
        edu_changed = [a for a in expected.changed(2) if a.must_alert]
        assert len([k for k, _, _ in db["alerts"] if k == "changed"]) == len(edu_changed)
        withdrawn_alerts = [k for k, _, _ in db["alerts"] if k == "withdrawn"]
        assert len(withdrawn_alerts) == len([a for a in expected.withdrawn(2) if a.must_alert]) > 0
        deleted = [a for a in expected.gone(2) if a.deleted_notice]
        by_source = {s["name"]: s for s in report["sources"]}
        for article in deleted:
            assert by_source[article.site]["gone"] == by_source[article.site]["withdrawn"] == 1
        statuses = article_requests(net, expected)
        rechecked_unchanged = [a for a in expected.served(2) if a.changed_in != 2]
        for article in rechecked_unchanged:
            # the stored ETag/Last-Modified go with the due re-check: unchanged costs a 304
            assert statuses[article.url] == [304], article.url
        assert sum(s["unchanged"] + s["duplicate"] for s in report["sources"]) == len(rechecked_unchanged)

        # 4. the second miss withdraws the 404/410 articles; the deleted notice raises no second alert
        a_day_passes(tmp_path)
        crawl(config)
        db = database(tmp_path)
        by_url = check_store(db, expected, 2)
        assert sorted(u for u, row in by_url.items() if row.status == "withdrawn") == sorted(gone)
        assert {canonicalize_url(a.url) for a in expected.withdrawn(3)} == set(gone)
        withdrawn_alerts = [k for k, _, _ in db["alerts"] if k == "withdrawn"]
        assert len(withdrawn_alerts) == len([a for a in gone.values() if a.must_alert])

        assert net.offsite_hits() == []
