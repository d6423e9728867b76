"""The whole configuration file (`Config`) and its sections for crawling, serving and logging."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.config.base import ConfigError, ErrorAt, Model, check_env_name
from core.config.durations import Duration
from core.config.notify import Notify
from core.config.sources import Source
from core.config.topics import Topic, default_topics


class Crawl(Model):
    """How politely and how hard to crawl."""

    user_agent: str = "countywatch/0.1 (+{contact})"
    contact_url: str = "https://countywatch.example/contact"
    obey_robots: bool = True
    concurrent_requests: int = Field(default=16, ge=1, le=256)
    concurrent_per_domain: int = Field(default=2, ge=1, le=32)
    download_delay: float = Field(default=0.5, ge=0, le=3600)
    autothrottle: bool = True
    timeout: float = Field(default=30, gt=0, le=3600)
    retries: int = Field(default=2, ge=0, le=10)
    max_page_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=1024**3)
    # A crawl run (one process, a whole batch of sources) is stopped after this long.
    time_limit: Duration = timedelta(hours=1)
    # Inside one crawl, each source stops being fetched after this long (its open requests are
    # closed), so a slow or hanging site cannot hold the rest of a batch.
    source_time_limit: Duration = timedelta(minutes=10)
    # The daemon's tick: this often it selects the sources that are due (by their own schedules)
    # and crawls up to `batch_size` of them, most overdue first, in one process. 0 runs one process
    # per source on its own APScheduler job instead (the design before batching).
    tick: Duration = timedelta(minutes=1)
    batch_size: int = Field(default=300, ge=0, le=10000)
    # Extraction processes, and with any a store writer process; 0: both in the crawl process.
    extract_workers: int = Field(default=2, ge=0, le=64)
    # Per-page extraction budget (CPU time, bytes): a page over it is an `over_budget` error, and
    # the crawl goes on.
    extract_time_limit: Duration = timedelta(seconds=20)
    extract_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Re-check a known article this long after it was first seen, doubling each time.
    recheck_after: Duration = timedelta(days=1)
    recheck_max: Duration = timedelta(days=30)  # and stop re-checking it after it is this old
    # Articles first seen and published this recently are re-checked every crawl with a conditional
    # GET (a 304 costs no download and no extraction), so an edit is found in the next cycle; "0s"
    # turns it off.
    recheck_recent: Duration = timedelta(days=3)
    # ...but a recent article is asked at most once per this interval: not again until its last
    # check (a full answer, a due re-check or an early 304) is this old. A cycle run right after
    # another asks nothing; a daemon on any schedule at least this long asks every cycle. "0s":
    # every cycle, however close together.
    recheck_recent_every: Duration = timedelta(hours=1)
    # Attachments (附件) of new and changed articles: fetched within the source's scope, at most
    # attachment_max_bytes each, their text extracted within attachment_seconds.
    attachments: bool = True
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    attachment_seconds: float = Field(default=20, gt=0)
    attachments_per_article: int = Field(default=10, ge=1, le=100)
    # Reposts are matched against articles first seen within this window: it bounds the
    # near-duplicate index's memory and the time each crawl process spends loading it.
    dedupe_window: Duration = timedelta(days=180)
    http_cache: bool = True
    cache_dir: str | None = None  # default: <data_dir>/httpcache


class Metrics(Model):
    """The Prometheus metrics endpoint (off unless enabled)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=1, le=65535)
    token_env: str | None = "COUNTYWATCH_METRICS_TOKEN"

    _env = field_validator("token_env")(check_env_name)


class Serve(Model):
    """`countywatch serve`: the web page, JSON API and Atom feeds (read-only)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8730, ge=1, le=65535)
    # When this variable is set, every request needs its value as a bearer token; an address
    # other than loopback is refused without one.
    token_env: str | None = "COUNTYWATCH_SERVE_TOKEN"
    page_size: int = Field(default=50, ge=1, le=500)  # articles per page and per API call
    feed_entries: int = Field(default=50, ge=1, le=1000)  # entries of each Atom feed

    _env = field_validator("token_env")(check_env_name)


class Logging(Model):
    """Log level and format."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = Field(default=False, alias="json")
    file: str | None = None


class Distributed(Model):
    """Distributed crawling through scrapy-redis (off unless a Redis URL is given)."""

    redis_url_env: str | None = None
    redis_url: str | None = None
    seen_ttl: Duration = timedelta(hours=12)  # seen-URL entries expire so changed pages are re-checked
    queue_prefix: str = "countywatch"


class Config(Model):
    """The whole configuration file."""

    database: str = "sqlite:///countywatch.db"
    data_dir: str = ".countywatch"
    sources: list[Source] = []
    topics: dict[str, Topic] = Field(default_factory=lambda: dict(default_topics()))
    notify: Notify = Notify()
    crawl: Crawl = Crawl()
    metrics: Metrics = Metrics()
    serve: Serve = Serve()
    logging: Logging = Logging()
    distributed: Distributed = Distributed()
    # Where this file was read from; relative paths in it are taken from its folder.
    base_dir: str = Field(default=".", exclude=True)

    @field_validator("database")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"{value!r} is not a SQLAlchemy database URL") from exc
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(
                f"database backend {url.get_backend_name()!r} is not supported (sqlite, postgresql)"
            )
        return value

    @model_validator(mode="after")
    def _unique_sources(self) -> Config:
        seen: set[str] = set()
        for i, source in enumerate(self.sources):
            if source.name in seen:
                raise ErrorAt(("sources", i, "name"), f"source name {source.name!r} is used twice")
            seen.add(source.name)
        for i, sub in enumerate(self.notify.subscriptions):
            at = ("notify", "subscriptions", i)
            for topic in sub.topics:
                if topic not in self.topics:
                    raise ErrorAt(
                        (*at, "topics"),
                        f"subscription {sub.name!r} names topic {topic!r}, which is not under topics",
                    )
            for source_name in sub.sources:
                if source_name not in seen:
                    raise ErrorAt(
                        (*at, "sources"),
                        f"subscription {sub.name!r} names source {source_name!r}, which is not configured",
                    )
        return self

    def source(self, name: str) -> Source:
        """The source called `name`; ConfigError when there is none."""
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(f"no source named {name!r} (configured: {', '.join(s.name for s in self.sources)})")

    def path(self, value: str) -> Path:
        """A path from the file, taken relative to the file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p

    @property
    def data_path(self) -> Path:
        """The folder for the database file, HTTP cache and digests."""
        return self.path(self.data_dir)

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite path resolved against the config's folder."""
        url = make_url(self.database)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return str(url.set(database=str(self.path(url.database))))
        return self.database
