"""The typed configuration: one YAML file, validated before anything runs.

Every key is documented in `deploy/sources.example.yaml`. Secrets are never in the file: a key
ending in `_env` names the environment variable that holds the secret.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from countywatch.topics import DEFAULT_TOPICS

CONFIG_ENV = "COUNTYWATCH_CONFIG"
DEFAULT_CONFIG_PATH = "sources.yaml"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Keys that would hold a secret in the file itself; the `_env` form must be used instead.
_SECRET_KEYS = {"password", "secret", "token", "access_token", "api_key", "key"}


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names file, key path and problem."""


class _ErrorAt(ValueError):
    """A model validator's error about one key below the model: `at` is the path from the model."""

    def __init__(self, at: tuple[int | str, ...], message: str) -> None:
        super().__init__(message)
        self.at = at


def parse_duration(value: str | int | float) -> timedelta:
    """Parse `30s`, `15m`, `6h`, `1d`, `2w` (or a number of seconds) into a timedelta."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"duration must not be negative, got {value}")
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(f"expected a duration such as 30m, 6h or 1d, got {value!r}")
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"invalid duration {value!r} (use e.g. 45s, 30m, 6h, 1d, 1w)")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def _check_env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key in data:
                if key in _SECRET_KEYS:
                    # Point at the `_env` key this kind of entry really has (bots: url_env).
                    env_keys = [f for f in cls.model_fields if f.endswith("_env")]
                    hint = f"{key}_env" if f"{key}_env" in env_keys else " or ".join(env_keys) or f"{key}_env"
                    raise _ErrorAt(
                        (key,),
                        f"secrets are not kept in the file: put the {key} in an environment "
                        f"variable and name it with '{hint}'",
                    )
        return data


def read_secret(env_name: str | None) -> str | None:
    """The secret held by environment variable `env_name` (None when no name is configured)."""
    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if value is None:
        raise ConfigError(f"environment variable {env_name} is not set (it holds a secret the config names)")
    return value


class Schedule(_Model):
    """When a job runs: every `interval`, or on a five-field `cron` expression, plus random `jitter`."""

    interval: str | None = None
    cron: str | None = None
    jitter: str = "0s"
    timezone: str = "Asia/Shanghai"

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        # Shorthand: "6h" is an interval, "0 8 * * *" a cron expression.
        if isinstance(data, str):
            return {"cron": data} if len(data.split()) == 5 else {"interval": data}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Schedule:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("give exactly one of 'interval' (e.g. 6h) or 'cron' (e.g. '0 8 * * *')")
        if self.interval is not None and parse_duration(self.interval) < timedelta(minutes=1):
            raise ValueError(f"interval {self.interval!r} is shorter than one minute")
        if self.cron is not None:
            _validate_cron(self.cron)
        parse_duration(self.jitter)
        return self

    @property
    def interval_delta(self) -> timedelta | None:
        """The interval as a timedelta (None for cron schedules)."""
        return parse_duration(self.interval) if self.interval else None

    @property
    def jitter_seconds(self) -> int:
        """Random delay added to each run, in whole seconds."""
        return int(parse_duration(self.jitter).total_seconds())


def _validate_cron(expr: str) -> None:
    # APScheduler's own parser is the authority on what it accepts.
    try:
        CronTrigger.from_crontab(expr, timezone="Asia/Shanghai")
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {expr!r}: {exc}") from exc


SourceKind = Literal["government", "education_bureau", "newspaper", "mirror", "document_sharing", "other"]
OFFICIAL_KINDS: frozenset[str] = frozenset({"government", "education_bureau", "newspaper"})


class Source(_Model):
    """One site to watch: where to start, what to follow, how often."""

    name: str = Field(min_length=1, max_length=100)
    start_urls: list[str] = Field(min_length=1)
    kind: SourceKind = "government"
    region: str | None = None
    feeds: list[str] = []
    sitemaps: list[str] = []
    allow: list[str] = []
    deny: list[str] = []
    # Extra domains (besides those of start_urls, feeds and sitemaps) the crawl may enter.
    allowed_domains: list[str] = []
    include_subdomains: bool = False
    # mobile host -> canonical host, e.g. {"m.zhenping.gov.cn": "www.zhenping.gov.cn"}
    mobile_hosts: dict[str, str] = {}
    link_selector: str | None = None  # CSS selector overriding automatic link discovery
    link_xpath: str | None = None
    encoding: str | None = None  # forced page encoding for sites that declare the wrong one
    schedule: Schedule = Schedule(interval="6h", jitter="5m")
    max_pages: int = Field(default=5, ge=1, le=1000)
    max_articles: int | None = Field(default=None, ge=1)
    enabled: bool = True

    @field_validator("start_urls", "feeds", "sitemaps")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{url!r} is not an http(s) URL")
        return urls

    @field_validator("allow", "deny")
    @classmethod
    def _regexes(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from exc
        return patterns

    @property
    def domains(self) -> list[str]:
        """Every host this source may be crawled on (lower case, no port)."""
        hosts: list[str] = []
        for url in [*self.start_urls, *self.feeds, *self.sitemaps]:
            host = (urlsplit(url).hostname or "").lower()
            if host and host not in hosts:
                hosts.append(host)
        for host in [*self.allowed_domains, *self.mobile_hosts]:
            host = host.lower()
            if host not in hosts:
                hosts.append(host)
        return hosts

    @property
    def official(self) -> bool:
        """Whether this source may raise a "new announcement" alert on its own."""
        return self.kind in OFFICIAL_KINDS


class Category(_Model):
    """A category of a topic, assigned when any keyword appears in the title (or body)."""

    label: str
    keywords: list[str] = Field(min_length=1)
    title_only: bool = False


class Topic(_Model):
    """A topic articles are classified into, and whether it raises alerts."""

    keywords: list[str] = Field(min_length=1)
    exclude: list[str] = []
    min_hits: int = Field(default=2, ge=1)  # keyword hits in the body needed when the title has none
    categories: dict[str, Category] = {}
    alert: bool = True  # raise "new" alerts for this topic
    alert_kinds: list[SourceKind] = ["government", "education_bureau", "newspaper"]
    # Only these categories raise "new" alerts ([] = any category, including none).
    alert_categories: list[str] = []


class Crawl(_Model):
    """How politely and how hard to crawl."""

    user_agent: str = "countywatch/0.1 (+{contact})"
    contact_url: str = "https://countywatch.example/contact"
    obey_robots: bool = True
    concurrent_requests: int = Field(default=16, ge=1, le=256)
    concurrent_per_domain: int = Field(default=2, ge=1, le=32)
    download_delay: float = Field(default=0.5, ge=0)
    autothrottle: bool = True
    timeout: float = Field(default=30, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    max_page_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    time_limit: str = "1h"  # a crawl run (one process, a whole batch of sources) is stopped after this long
    # Inside one crawl, each source stops being fetched after this long (its open requests are
    # closed), so a slow or hanging site cannot hold the rest of a batch.
    source_time_limit: str = "10m"
    # The daemon's tick: this often it selects the sources that are due (by their own schedules)
    # and crawls up to `batch_size` of them, most overdue first, in one process. 0 runs one process
    # per source on its own APScheduler job instead (the design before batching).
    tick: str = "1m"
    batch_size: int = Field(default=300, ge=0, le=10000)
    extract_workers: int = Field(default=2, ge=0, le=64)  # processes for extraction; 0 = in-process
    recheck_after: str = "1d"  # re-check a known article this long after it was first seen, doubling
    recheck_max: str = "30d"  # and stop re-checking it after it is this old
    # Reposts are matched against articles first seen within this window: it bounds the
    # near-duplicate index's memory and the time each crawl process spends loading it.
    dedupe_window: str = "180d"
    http_cache: bool = True
    cache_dir: str | None = None  # default: <data_dir>/httpcache

    @field_validator(
        "time_limit", "source_time_limit", "tick", "recheck_after", "recheck_max", "dedupe_window"
    )
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class _Channel(_Model):
    name: str = ""


class EmailChannel(_Channel):
    """SMTP email: multipart text + HTML."""

    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    sender: str
    sender_name: str = "countywatch"
    to: list[str] = Field(min_length=1)
    timeout: float = 30

    _env = field_validator("password_env")(_check_env_name)


class WebhookChannel(_Channel):
    """Generic JSON POST, signed with HMAC-SHA256 in X-Countywatch-Signature when a secret is set."""

    type: Literal["webhook"]
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    headers: dict[str, str] = {}
    timeout: float = 15

    _env = field_validator("url_env", "secret_env")(_check_env_name)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookChannel:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of 'url' or 'url_env'")
        return self


class BotChannel(_Channel):
    """A chat bot webhook. Bot URLs carry their access token, so they come from `url_env`."""

    type: Literal["dingtalk", "wecom", "feishu", "slack"]
    url_env: str
    secret_env: str | None = None  # DingTalk and Feishu signing secrets
    timeout: float = 15

    _env = field_validator("url_env", "secret_env")(_check_env_name)


Channel = Annotated[EmailChannel | WebhookChannel | BotChannel, Field(discriminator="type")]


class Subscription(_Model):
    """Who gets what, and when."""

    name: str = Field(min_length=1)
    channels: list[str] = Field(min_length=1)
    # immediate | hourly | daily HH:MM | weekly <mon..sun> HH:MM
    schedule: str = "daily 08:00"
    topics: list[str] = ["education"]
    categories: list[str] = []
    regions: list[str] = []
    sources: list[str] = []
    keywords: list[str] = []
    include_changed: bool = True
    include_withdrawn: bool = True
    operators: bool = False  # also receives source-health changes and delivery failures

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parse_digest_schedule(value)
        return value


def parse_digest_schedule(value: str) -> tuple[str, int | None, int | None, int | None]:
    """Parse a subscription schedule into (kind, weekday 0-6, hour, minute)."""
    words = value.strip().lower().split()
    if words == ["immediate"] or words == ["hourly"]:
        return words[0], None, None, None
    if len(words) == 2 and words[0] == "daily" and (m := _HHMM.match(words[1])):
        return "daily", None, int(m.group(1)), int(m.group(2))
    if len(words) == 3 and words[0] == "weekly" and words[1] in _WEEKDAYS and (m := _HHMM.match(words[2])):
        return "weekly", _WEEKDAYS.index(words[1]), int(m.group(1)), int(m.group(2))
    raise ValueError(
        f"invalid schedule {value!r} (use immediate, hourly, 'daily HH:MM' or 'weekly mon HH:MM')"
    )


class Retry(_Model):
    """Delivery retries: exponential backoff from `backoff` up to `max_backoff`."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff: str = "30s"
    max_backoff: str = "2h"

    @field_validator("backoff", "max_backoff")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class Notify(_Model):
    """Channels, subscriptions, and how deliveries are retried."""

    channels: dict[str, Channel] = {}
    subscriptions: list[Subscription] = []
    retry: Retry = Retry()
    digest_dir: str | None = None  # where rendered HTML digests are kept; default <data_dir>/digests
    # Base URL of links in digests' footers (optional).
    public_url: str | None = None

    @model_validator(mode="after")
    def _references(self) -> Notify:
        names = set()
        for i, sub in enumerate(self.subscriptions):
            if sub.name in names:
                raise _ErrorAt(("subscriptions", i, "name"), f"subscription name {sub.name!r} is used twice")
            names.add(sub.name)
            for channel in sub.channels:
                if channel not in self.channels:
                    raise _ErrorAt(
                        ("subscriptions", i, "channels"),
                        f"subscription {sub.name!r} names channel {channel!r}, which is not under "
                        f"notify.channels (known: {', '.join(sorted(self.channels)) or 'none'})",
                    )
        return self


class Metrics(_Model):
    """The Prometheus metrics endpoint (off unless enabled)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=1, le=65535)
    token_env: str | None = "COUNTYWATCH_METRICS_TOKEN"

    _env = field_validator("token_env")(_check_env_name)


class Logging(_Model):
    """Log level and format."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = Field(default=False, alias="json")
    file: str | None = None


class Distributed(_Model):
    """Distributed crawling through scrapy-redis (off unless a Redis URL is given)."""

    redis_url_env: str | None = None
    redis_url: str | None = None
    seen_ttl: str = "12h"  # seen-URL entries expire so changed pages are re-checked
    queue_prefix: str = "countywatch"

    @field_validator("seen_ttl")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class Config(_Model):
    """The whole configuration file."""

    database: str = "sqlite:///countywatch.db"
    data_dir: str = ".countywatch"
    sources: list[Source] = []
    topics: dict[str, Topic] = Field(
        default_factory=lambda: {name: Topic.model_validate(t) for name, t in DEFAULT_TOPICS.items()}
    )
    notify: Notify = Notify()
    crawl: Crawl = Crawl()
    metrics: Metrics = Metrics()
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
                raise _ErrorAt(("sources", i, "name"), f"source name {source.name!r} is used twice")
            seen.add(source.name)
        for i, sub in enumerate(self.notify.subscriptions):
            at = ("notify", "subscriptions", i)
            for topic in sub.topics:
                if topic not in self.topics:
                    raise _ErrorAt(
                        (*at, "topics"),
                        f"subscription {sub.name!r} names topic {topic!r}, which is not under topics",
                    )
            for source_name in sub.sources:
                if source_name not in seen:
                    raise _ErrorAt(
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


def _format_loc(loc: tuple[int | str, ...], data: Any) -> str:
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            # Name list items by their `name` where they have one: sources[2] (zhenping).
            if isinstance(node, Mapping) and isinstance(node.get("name"), str):
                out += f" ({node['name']})"
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, Mapping) else None
    return out or "(top level)"


def _format_validation_error(path: str, exc: ValidationError, data: Any) -> str:
    lines = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if p not in ("email", "webhook", "dingtalk", "wecom", "feishu", "slack")]
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, _ErrorAt):
            loc += cause.at
        label = _format_loc(tuple(loc), data)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"{path}: {label}: {msg}")
    return "\n".join(lines)


def config_from_dict(data: Mapping[str, Any], *, path: str = "<config>", base_dir: str = ".") -> Config:
    """Validate a parsed configuration; ConfigError names the file, key path and problem."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, not {type(data).__name__}")
    try:
        return Config.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(path, exc, data)) from None


def resolve_config_path(path: str | os.PathLike[str] | None) -> Path | None:
    """The file to read: the given path, else $COUNTYWATCH_CONFIG, else ./sources.yaml if present."""
    if path is not None:
        return Path(path)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    default = Path(DEFAULT_CONFIG_PATH)
    return default if default.exists() else None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the configuration file (YAML, loaded safely)."""
    resolved = resolve_config_path(path)
    if resolved is None:
        return config_from_dict({}, path="(defaults)")
    try:
        raw = resolved.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{resolved}: cannot read the configuration file: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{resolved}: not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{resolved}:{where}: invalid YAML: {problem}") from None
    if data is None:
        data = {}
    return config_from_dict(data, path=str(resolved), base_dir=str(resolved.parent.resolve()))
