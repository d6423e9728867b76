"""Running `countywatch worker` processes in tests and benchmarks, and comparing databases.

A database is reduced to what must be identical whichever process stored it: the canonical URLs
of the articles (with status and version), the stories as sets of URLs, and the alert keys with
story and article ids replaced by those URLs (ids differ between databases).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml
from redis import Redis
from sqlalchemy import select

from crawler.distributed.queue import Keys, WorkQueue
from storage.db import make_engine, make_session_factory
from storage.models import Alert, Article, CrawlRun, Source

COUNTYWATCH = [sys.executable, "-c", "from countywatch.cli import main; main()"]
ARTICLE_ALERTS = ("new", "changed", "withdrawn")


@dataclass(frozen=True)
class Snapshot:
    """What a crawl stored, free of database ids."""

    articles: frozenset[tuple[str, str, int]]  # (canonical URL, status, version)
    stories: frozenset[frozenset[str]]
    alerts: tuple[tuple[str, Any], ...]  # sorted (kind, story URLs or article URL + version)


def snapshot(database_url: str) -> Snapshot:
    """The id-free content of a database."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            rows = list(session.scalars(select(Article)))
            alerts = list(session.scalars(select(Alert).where(Alert.kind.in_(ARTICLE_ALERTS))))
    finally:
        engine.dispose()
    url_of = {row.id: row.url for row in rows}
    members: dict[int, set[str]] = {}
    for row in rows:
        members.setdefault(row.story_id, set()).add(row.url)
    story = {sid: frozenset(urls) for sid, urls in members.items()}
    keys: list[tuple[str, Any]] = []
    for alert in alerts:
        parts = alert.key.split(":")
        if parts[1] == "story":
            keys.append((parts[0], tuple(sorted(story[int(parts[2])]))))
        else:
            keys.append((parts[0], (url_of[int(parts[2])], *parts[3:])))
    return Snapshot(
        articles=frozenset((row.url, row.status, row.version) for row in rows),
        stories=frozenset(story.values()),
        alerts=tuple(sorted(keys, key=repr)),
    )


def write_config(config: dict[str, Any], folder: Path, name: str = "sources.yaml") -> Path:
    """Write a configuration dict as YAML; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def distributed_config(
    base: dict[str, Any], folder: Path, *, prefix: str, redis_env: str, extract_workers: int = 1
) -> dict[str, Any]:
    """`base` (a replica config_dict) with a distributed section and its own data folder."""
    config = dict(base)
    config["crawl"] = {**base["crawl"], "extract_workers": extract_workers}
    config["data_dir"] = str(folder / "data")
    config["distributed"] = {"redis_url_env": redis_env, "queue_prefix": prefix}
    return config


def run_command(args: Sequence[str], env: dict[str, str], timeout: float = 120) -> str:
    """Run a countywatch command to completion; its stdout (fails with its stderr)."""
    done = subprocess.run([*COUNTYWATCH, *args], capture_output=True, text=True, env=env, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"countywatch {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


class Worker:
    """A `countywatch worker` subprocess, its log in a file."""

    def __init__(
        self, config: Path, worker_id: str, env: dict[str, str], log_dir: Path, *, lease: float, tick: float
    ) -> None:
        self.worker_id = worker_id
        self.log_path = log_dir / f"{worker_id}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        args = ["worker", "--config", str(config), "--worker-id", worker_id]
        args += ["--lease", str(lease), "--tick", str(tick)]
        # Its own process group, so a kill takes its extraction processes with it.
        self.process = subprocess.Popen(
            [*COUNTYWATCH, *args], env=env, stdout=self._log, stderr=self._log, start_new_session=True
        )

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, and wait for a clean exit; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        """SIGKILL: the worker dies with whatever it had claimed."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()

    def log_tail(self, n: int = 3000) -> str:
        """The end of the worker's log."""
        return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")


def work_queue(redis_url: str, prefix: str) -> WorkQueue:
    """The shared queue under `prefix`."""
    return WorkQueue(Redis.from_url(redis_url), Keys(prefix))


def drop_keys(redis_url: str, prefix: str) -> None:
    """Delete every key under `prefix` (test clean-up)."""
    server = Redis.from_url(redis_url)
    try:
        for key in server.scan_iter(match=f"{prefix}:*"):
            server.delete(key)
    finally:
        server.close()


def child_env(**extra: str) -> dict[str, str]:
    """The environment for countywatch subprocesses."""
    return {**os.environ, **extra}


@dataclass(frozen=True)
class RunRecord:
    """The newest crawl run of a source, free of ids and times."""

    finished: bool
    health: str | None
    stats: dict[str, Any]
    error: str | None


def latest_runs(database_url: str) -> dict[str, RunRecord]:
    """Source name -> its newest crawl run."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.execute(
                select(Source.name, CrawlRun)
                .join(CrawlRun, CrawlRun.source_id == Source.id)
                .order_by(CrawlRun.started_at, CrawlRun.id)
            ).all()
    finally:
        engine.dispose()
    return {
        name: RunRecord(run.finished_at is not None, run.health, dict(run.stats), run.error)
        for name, run in rows
    }
