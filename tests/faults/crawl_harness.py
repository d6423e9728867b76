"""Crawling the replica network as separate `countywatch crawl` processes, killing them, and
reading back what a crawl stored, so a killed-and-resumed crawl can be compared with a clean one.

A kill moment is a condition polled while the crawl runs (a file in the HTTP cache, a number of
responses served, a number of articles stored), taken from a measured clean run, never a sleep.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from replica.network import ReplicaNetwork
from storage.db import make_engine, make_session_factory
from storage.models import Alert, Article, Source
from tests.polling import wait_for

CRAWL = [sys.executable, "-m", "countywatch", "crawl", "--json"]
SLOW = 0.2  # seconds the replica's slow page takes


@dataclass(frozen=True)
class Snapshot:
    """What a database holds after crawling: URLs, stories (as sets of URLs) and alerts."""

    urls: frozenset[str]
    stories: frozenset[frozenset[str]]
    alerts: tuple[tuple[str, str], ...]  # (kind, what it is about), sorted; duplicates kept

    def lost_urls(self, clean: Snapshot) -> set[str]:
        """Stored by the clean run, missing here."""
        return set(clean.urls - self.urls)

    def alert_counts(self) -> dict[tuple[str, str], int]:
        """How many alerts of each (kind, subject)."""
        out: dict[tuple[str, str], int] = {}
        for alert in self.alerts:
            out[alert] = out.get(alert, 0) + 1
        return out


@dataclass(frozen=True)
class CleanRun:
    """A crawl nobody interrupted: what it stored, and the URLs it requested in order."""

    stored: Snapshot
    requested: tuple[str, ...]

    def next_pages(self, net: ReplicaNetwork) -> set[str]:
        """The list pages it reached by following pagination (not a start URL, feed or sitemap)."""
        entry = {u for s in net.sites.values() for u in (*s.start_urls, *s.feeds, *s.sitemaps)}
        articles = {a.url for a in net.expected.articles}
        return {u for u in self.requested if u not in entry | articles and not u.endswith("/robots.txt")}


def served(net: ReplicaNetwork) -> list[str]:
    """The URLs the network answered so far (since its log was last cleared)."""
    return [net.sites[r.site].base_url + r.path for r in net.requests.records() if r.site in net.sites]


def write_config(net: ReplicaNetwork, folder: Path, database_url: str, log_level: str | None = None) -> Path:
    """A configuration crawling the whole network into `database_url`, the HTTP cache on.

    `log_level` "DEBUG" makes the crawl log what the fault tests wait for (each batch the store
    writer takes or hands over).
    """
    folder.mkdir(parents=True, exist_ok=True)
    config = net.config_dict(database_url, data_dir=str(folder / "data"))
    config["crawl"].update({"http_cache": True, "timeout": SLOW + 3, "extract_workers": 1})
    if log_level is not None:
        config["logging"] = {"level": log_level}
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def crawl(config: Path) -> subprocess.CompletedProcess[str]:
    """One complete crawl; fails the test unless it exits 0."""
    done = subprocess.run([*CRAWL, "--config", str(config)], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def start_crawl(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """A crawl running in the background (its own process group), its log going to `log`."""
    with log.open("wb") as err:
        return subprocess.Popen(
            [*CRAWL, "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def kill_at(proc: subprocess.Popen[bytes], moment: Callable[[], Any], what: str) -> bool:
    """SIGKILL the crawl process when `moment()` holds; False when the crawl ended before it did."""
    wait_for(lambda: moment() or proc.poll() is not None, timeout=120, what=what)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # The extraction workers die with it (they must not outlive the crawl and hold its output).
    wait_for(lambda: not group_alive(proc.pid), timeout=30, what="the crawl's workers to exit")
    return True


def cached_pages(folder: Path) -> int:
    """Pages (robots.txt aside) written to the HTTP cache, committed or not.

    An entry is complete once its `pickled_meta` is written (the cache writes it last); it names
    the URL. One still being written is not counted yet.
    """
    count = 0
    for meta in (folder / "data" / "httpcache").rglob("pickled_meta"):
        try:
            url = pickle.loads(meta.read_bytes())["url"]
        except (OSError, EOFError, pickle.UnpicklingError, KeyError):
            continue
        count += not url.endswith("/robots.txt")
    return count


def stored_articles(database_url: str) -> int:
    """Articles stored so far (0 before the schema exists)."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return int(session.scalar(select(func.count(Article.id))) or 0)
    except DBAPIError:  # the crawl has not created the tables yet
        return 0
    finally:
        engine.dispose()


def snapshot(database_url: str) -> Snapshot:
    """The stored URLs, stories and alerts, independent of row ids."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            articles = list(session.execute(select(Article.id, Article.url, Article.story_id)))
            sources = {row.id: row.name for row in session.execute(select(Source.id, Source.name))}
            alerts = list(session.scalars(select(Alert)))
    finally:
        engine.dispose()
    members: dict[int, set[str]] = {}
    for _, url, story in articles:
        members.setdefault(story, set()).add(url)
    url_of = {article_id: url for article_id, url, _ in articles}
    subjects: list[tuple[str, str]] = []
    for alert in alerts:
        if alert.story_id is not None:
            subject = " ".join(sorted(members.get(alert.story_id, {"?"})))
        elif alert.article_id is not None:
            subject = url_of.get(alert.article_id, "?")
        else:
            subject = f"{sources.get(alert.source_id or 0, '?')}: {alert.payload.get('health')}"
        subjects.append((alert.kind, subject))
    return Snapshot(
        urls=frozenset(url for _, url, _ in articles),
        stories=frozenset(frozenset(urls) for urls in members.values()),
        alerts=tuple(sorted(subjects)),
    )
