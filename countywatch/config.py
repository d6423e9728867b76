"""The typed configuration: one YAML file, validated before anything runs.

Every key is documented in `deploy/sources.example.yaml`. Secrets are never in the file: a key
ending in `_env` names the environment variable that holds the secret.
"""

from __future__ import annotations

import codecs
import functools
import os
import re
import tempfile
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import available_timezones

import yaml
from apscheduler.triggers.cron import CronTrigger
from cssselect import GenericTranslator, SelectorError
from lxml import etree
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

from core.timezone import CHINA_TZ_NAME
from countywatch.topics import DEFAULT_TOPICS

CONFIG_ENV = "COUNTYWATCH_CONFIG"
DEFAULT_CONFIG_PATH = "sources.yaml"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
# Longer durations make no sense for a schedule, lease or limit, and overflow datetime arithmetic.
MAX_DURATION = timedelta(days=3650)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
# Keys that would hold a secret in the file itself; the `_env` form must be used instead.
_SECRET_KEYS = {"password", "secret", "token", "access_token", "api_key", "key"}
# Header names whose values are credentials (Authorization, Cookie, X-Api-Key, X-Auth-Token, ...).
_SECRET_HEADER = re.compile(r"auth|cookie|token|secret|passw|key|signature|credential|session", re.I)


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
        if not 0 <= value <= MAX_DURATION.total_seconds():
            raise ValueError(f"duration must be between 0 and {MAX_DURATION.days} days, got {value}")
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(f"expected a duration such as 30m, 6h or 1d, got {value!r}")
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"invalid duration {_short(value)} (use e.g. 45s, 30m, 6h, 1d, 1w)")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"duration {_short(value)} is longer than {MAX_DURATION.days} days")
    return timedelta(seconds=seconds)


def _short(value: object, limit: int = 60) -> str:
    """repr(value), cut so one bad value cannot flood the one-line error."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


@functools.cache
def _known_timezones() -> frozenset[str]:
    """The IANA zone names this machine knows (read once: it walks the zone folders)."""
    return frozenset(available_timezones())


def _check_env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


class _Model(BaseModel):
    # No inf or NaN: `.inf` would pass every lower bound and then stall a timeout or a delay.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

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
    timezone: str = CHINA_TZ_NAME

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        # Checked against the list of zones, not by opening one: a name is a path to ZoneInfo.
        if value not in _known_timezones():
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai or UTC)")
        return value

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        # Shorthand: "6h" is an interval, "0 8 * * *" a cron expression.
        if isinstance(data, str):
            return {"cron": data} if len(data.split()) == 5 else {"interval": data}
        return data

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) < timedelta(minutes=1):
            raise ValueError(f"interval {value!r} is shorter than one minute")
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            _validate_cron(value)
        return value

    @field_validator("jitter")
    @classmethod
    def _jitter(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Schedule:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("give exactly one of 'interval' (e.g. 6h) or 'cron' (e.g. '0 8 * * *')")
        return self

    @property
    def interval_delta(self) -> timedelta | None:
        """The interval as a timedelta (None for cron schedules)."""
        return parse_duration(self.interval) if self.interval else None

    @property
    def jitter_seconds(self) -> int:
        """Random delay added to each run, in whole seconds."""
        return int(parse_duration(self.jitter).total_seconds())


def _check_host(host: str) -> None:
    if not _HOSTNAME.match(host.lower()):
        raise ValueError(f"{_short(host)} is not a host name")


def _validate_cron(expr: str) -> None:
    # APScheduler's own parser is the authority on what it accepts.
    try:
        CronTrigger.from_crontab(expr, timezone=CHINA_TZ_NAME)
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
    # The charset to try first for every page of the source, as if its server declared it (for
    # sites that declare the wrong one); bytes that contradict it are still read by evidence.
    encoding: str | None = None
    schedule: Schedule = Schedule(interval="6h", jitter="5m")
    max_pages: int = Field(default=5, ge=1, le=1000)
    max_articles: int | None = Field(default=None, ge=1, le=1_000_000)
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

    # Selectors and encodings are checked here, not first inside a crawl: a crawl given a bad one
    # found no links and reported the source "empty" instead of failing.
    @field_validator("link_selector")
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                GenericTranslator().css_to_xpath(value)
            except SelectorError as exc:
                raise ValueError(f"invalid CSS selector {_short(value)}: {exc}") from None
        return value

    @field_validator("link_xpath")
    @classmethod
    def _xpath(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                etree.XPath(value)
            except etree.XPathSyntaxError as exc:
                raise ValueError(f"invalid XPath {_short(value)}: {exc}") from None
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown encoding {_short(value)}") from None
        return value

    @field_validator("allowed_domains")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            _check_host(host)
        return hosts

    @field_validator("mobile_hosts")
    @classmethod
    def _mobile_hosts(cls, hosts: dict[str, str]) -> dict[str, str]:
        for host, canonical in hosts.items():
            _check_host(host)
            _check_host(canonical)
        return hosts

    @model_validator(mode="after")
    def _start_urls_not_denied(self) -> Source:
        for pattern in self.deny:
            hidden = [url for url in self.start_urls if re.search(pattern, url)]
            if hidden:
                raise _ErrorAt(("deny",), f"pattern {pattern!r} excludes the start URL {hidden[0]}")
        return self

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
    min_hits: int = Field(default=2, ge=1, le=1000)  # keyword hits in the body needed when the title has none
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
    download_delay: float = Field(default=0.5, ge=0, le=3600)
    autothrottle: bool = True
    timeout: float = Field(default=30, gt=0, le=3600)
    retries: int = Field(default=2, ge=0, le=10)
    max_page_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=1024**3)
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
    # Per-page extraction budget (CPU time, bytes): a page over it is an `over_budget` error, and
    # the crawl goes on.
    extract_time_limit: str = "20s"
    extract_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    recheck_after: str = "1d"  # re-check a known article this long after it was first seen, doubling
    recheck_max: str = "30d"  # and stop re-checking it after it is this old
    # Articles first seen and published this recently are re-checked every crawl with a conditional
    # GET (a 304 costs no download and no extraction), so an edit is found in the next cycle; "0s"
    # turns it off.
    recheck_recent: str = "3d"
    # ...but a recent article is asked at most once per this interval: not again until its last
    # check (a full answer, a due re-check or an early 304) is this old. A cycle run right after
    # another asks nothing; a daemon on any schedule at least this long asks every cycle. "0s":
    # every cycle, however close together.
    recheck_recent_every: str = "1h"
    # Attachments (附件) of new and changed articles: fetched within the source's scope, at most
    # attachment_max_bytes each, their text extracted within attachment_seconds.
    attachments: bool = True
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    attachment_seconds: float = Field(default=20, gt=0)
    attachments_per_article: int = Field(default=10, ge=1, le=100)
    # Reposts are matched against articles first seen within this window: it bounds the
    # near-duplicate index's memory and the time each crawl process spends loading it.
    dedupe_window: str = "180d"
    http_cache: bool = True
    cache_dir: str | None = None  # default: <data_dir>/httpcache

    @field_validator(
        "time_limit",
        "source_time_limit",
        "tick",
        "recheck_after",
        "recheck_max",
        "recheck_recent",
        "recheck_recent_every",
        "dedupe_window",
        "extract_time_limit",
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
    timeout: float = Field(default=30, gt=0, le=3600)

    _env = field_validator("password_env")(_check_env_name)


class WebhookChannel(_Channel):
    """Generic JSON POST, signed with HMAC-SHA256 in X-Countywatch-Signature when a secret is set."""

    type: Literal["webhook"]
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    headers: dict[str, str] = {}
    # Headers whose value is a secret (Authorization, API keys): header name -> environment variable.
    headers_env: dict[str, str] = {}
    timeout: float = Field(default=15, gt=0, le=3600)

    _env = field_validator("url_env", "secret_env")(_check_env_name)

    @field_validator("headers")
    @classmethod
    def _no_secret_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name in headers:
            if _SECRET_HEADER.search(name):
                raise _ErrorAt(
                    (name,),
                    f"header {name!r} carries a secret, which is not kept in the file: put its value "
                    f"in an environment variable and name it under 'headers_env'",
                )
        return headers

    @field_validator("headers_env")
    @classmethod
    def _header_env_names(cls, headers: dict[str, str]) -> dict[str, str]:
        for env_name in headers.values():
            _check_env_name(env_name)
        return headers

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
    timeout: float = Field(default=15, gt=0, le=3600)

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
    every: str = "1m"  # how often the daemon looks for deliveries due again

    @field_validator("backoff", "max_backoff")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("every")
    @classmethod
    def _every(cls, value: str) -> str:
        if parse_duration(value) < timedelta(seconds=1):
            raise ValueError(f"every {value!r} is shorter than one second")
        return value


class Notify(_Model):
    """Channels, subscriptions, and how deliveries are retried."""

    channels: dict[str, Channel] = {}
    subscriptions: list[Subscription] = []
    retry: Retry = Retry()
    # How long a runner owns the deliveries of a digest it is sending; after a crash they are sent
    # again (same idempotency key) once it ends. Longer than the slowest channel's timeout.
    claim_lease: str = "10m"
    # Threads of the daemon for digests and deliveries, apart from the crawl jobs, so a busy crawl
    # schedule never delays an "immediate" digest.
    workers: int = Field(default=2, ge=1, le=16)
    digest_dir: str | None = None  # where rendered HTML digests are kept; default <data_dir>/digests
    # Base URL of links in digests' footers (optional).
    public_url: str | None = None

    @field_validator("claim_lease")
    @classmethod
    def _lease(cls, value: str) -> str:
        if parse_duration(value) < timedelta(seconds=1):
            raise ValueError(f"claim_lease {value!r} is shorter than one second")
        return value

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


class Serve(_Model):
    """`countywatch serve`: the web page, JSON API and Atom feeds (read-only)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8730, ge=1, le=65535)
    # When this variable is set, every request needs its value as a bearer token; an address
    # other than loopback is refused without one.
    token_env: str | None = "COUNTYWATCH_SERVE_TOKEN"
    page_size: int = Field(default=50, ge=1, le=500)  # articles per page and per API call
    feed_entries: int = Field(default=50, ge=1, le=1000)  # entries of each Atom feed

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


# Bounds on what a configuration file may hold, far above any real one: past them the YAML parser
# or the validators would recurse too deeply, spend minutes, or convert absurd integers.
MAX_DEPTH = 50
MAX_VALUES = 200_000  # scalars and collections after YAML aliases are expanded
MAX_INT_DIGITS = 30
MAX_ERROR_LINES = 100


class _LimitError(yaml.YAMLError):
    """A file past one of the bounds above; `mark` says where."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _BoundedLoader(yaml.SafeLoader):
    """yaml.SafeLoader with limits on nesting depth and integer length, refusing repeated keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def fetch_flow_collection_start(self, token_class: type[yaml.Token]) -> None:
        # Flow collections ([[[…) are counted while scanning: the scanner's own bookkeeping grows
        # with the depth, so a deep file would take seconds before composing even starts.
        if self.flow_level >= MAX_DEPTH:
            raise _LimitError(f"nested more than {MAX_DEPTH} levels deep", self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # PyYAML composes recursively: stop before Python's recursion limit does, with a mark.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _LimitError(f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # PyYAML keeps the last of two equal keys without a word: a second `database:` further
        # down a long file would silently win.
        seen: set[Any] = set()
        for key_node, _ in node.value:
            # `<<: *defaults` merges are not keys; keys given beside them override on purpose.
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise _LimitError(f"key {_short(key)} appears twice in one mapping", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise _LimitError(f"an integer of {digits} digits is too long", node.start_mark)
        return super().construct_yaml_int(node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


def _count_values(data: Any) -> int:
    """How many values the data holds, aliases counted each time (stops past MAX_VALUES)."""
    count, stack = 0, [data]
    while stack and count <= MAX_VALUES:
        node = stack.pop()
        count += 1
        if isinstance(node, Mapping):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return count


def _format_loc(loc: tuple[int | str, ...], data: Any) -> str:
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            # Name list items by their `name` where they have one: sources[2] (zhenping).
            if isinstance(node, Mapping) and isinstance(node.get("name"), str):
                out += f" ({_cut(node['name'])})"
        else:
            if node is not None and not isinstance(node, Mapping | list):
                # The file wrote a shorthand (schedule: 6h): name the key it has, not the expansion.
                break
            out += f".{_cut(str(part))}" if out else _cut(str(part))
            node = node.get(part) if isinstance(node, Mapping) else None
    return out or "(top level)"


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _validation_errors(exc: ValidationError) -> list[tuple[tuple[int | str, ...], str]]:
    out = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if p not in ("email", "webhook", "dingtalk", "wecom", "feishu", "slack")]
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, _ErrorAt):
            loc += cause.at
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        out.append((tuple(loc), msg))
    return out


def _reference_errors(data: Mapping[str, Any]) -> list[tuple[tuple[int | str, ...], str]]:
    """Names used twice and references to unknown names, read from the raw data.

    The models check these too, but a model's own checks run only when all its values are valid;
    read here, they are reported in the same pass as every other error.
    """
    errors: list[tuple[tuple[int | str, ...], str]] = []
    sources = data.get("sources")
    source_names: set[str] = set()
    for i, source in enumerate(sources if isinstance(sources, list) else []):
        name = source.get("name") if isinstance(source, Mapping) else None
        if isinstance(name, str):
            if name in source_names:
                errors.append((("sources", i, "name"), f"source name {name!r} is used twice"))
            source_names.add(name)
    notify = data.get("notify")
    notify = notify if isinstance(notify, Mapping) else {}
    channels = notify.get("channels")
    channel_names = set(channels) if isinstance(channels, Mapping) else set()
    topics = data.get("topics", DEFAULT_TOPICS)
    topic_names = set(topics) if isinstance(topics, Mapping) else None
    subscriptions = notify.get("subscriptions")
    sub_names: set[str] = set()
    for i, sub in enumerate(subscriptions if isinstance(subscriptions, list) else []):
        if not isinstance(sub, Mapping):
            continue
        at = ("notify", "subscriptions", i)
        name = sub.get("name")
        if isinstance(name, str):
            if name in sub_names:
                errors.append(((*at, "name"), f"subscription name {name!r} is used twice"))
            sub_names.add(name)
        for key, known, what in (
            ("channels", channel_names, "channel"),
            ("topics", topic_names, "topic"),
            ("sources", source_names, "source"),
        ):
            wanted = sub.get(key, ["education"] if key == "topics" else [])
            if known is None or not isinstance(wanted, list):
                continue
            for item in wanted:
                if isinstance(item, str) and item not in known:
                    errors.append(((*at, key), _unknown_reference(what, name, item, known)))
                    break
    return errors


def _unknown_reference(what: str, subscription: Any, name: str, known: set[str]) -> str:
    sub = f"subscription {subscription!r}" if isinstance(subscription, str) else "the subscription"
    if what == "channel":
        return (
            f"{sub} names channel {name!r}, which is not under notify.channels "
            f"(known: {', '.join(sorted(known)) or 'none'})"
        )
    if what == "topic":
        return f"{sub} names topic {name!r}, which is not under topics"
    return f"{sub} names source {name!r}, which is not configured"


def _writable_errors(data: Mapping[str, Any], base_dir: str) -> list[tuple[tuple[int | str, ...], str]]:
    """Folders the daemon and crawls write to that cannot be written (checked by writing a file)."""
    errors: list[tuple[tuple[int | str, ...], str]] = []
    crawl, notify = data.get("crawl"), data.get("notify")
    candidates: list[tuple[tuple[int | str, ...], Any]] = [
        (("data_dir",), data.get("data_dir", ".countywatch"))
    ]
    if isinstance(crawl, Mapping):
        candidates.append((("crawl", "cache_dir"), crawl.get("cache_dir")))
    if isinstance(notify, Mapping):
        candidates.append((("notify", "digest_dir"), notify.get("digest_dir")))
    for loc, value in candidates:
        if not isinstance(value, str) or not value:
            continue
        folder = Path(value).expanduser()
        folder = folder if folder.is_absolute() else Path(base_dir) / folder
        problem = _cannot_write(folder)
        if problem:
            errors.append((loc, f"cannot write to {_short(value)}: {problem}"))
    return errors


def _cannot_write(folder: Path) -> str | None:
    """Why files cannot be made in `folder` (or in the folder that would hold it); None if they can."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():
            return f"{existing} is a broken symbolic link"
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a folder"
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".countywatch-probe-")
    except OSError as exc:
        return f"{existing}: {exc.strerror or exc}"
    os.close(fd)
    os.unlink(probe)
    return None


def _error_lines(path: str, errors: list[tuple[tuple[int | str, ...], str]], data: Any) -> str:
    lines = list(dict.fromkeys(f"{path}: {_format_loc(loc, data)}: {msg}" for loc, msg in errors))
    if len(lines) > MAX_ERROR_LINES:
        lines = [*lines[:MAX_ERROR_LINES], f"{path}: … and {len(lines) - MAX_ERROR_LINES} more error(s)"]
    return "\n".join(lines)


def config_from_dict(
    data: Mapping[str, Any], *, path: str = "<config>", base_dir: str = ".", writable: bool = False
) -> Config:
    """Validate a parsed configuration; ConfigError names the file, key path and problem.

    Every error is reported at once, one line each. `writable` also checks that the folders the
    daemon and crawls write to can be written.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, not {type(data).__name__}")
    if _count_values(data) > MAX_VALUES:
        raise ConfigError(f"{path}: holds more than {MAX_VALUES} values (YAML aliases expanding?)")
    errors: list[tuple[tuple[int | str, ...], str]] = []
    config: Config | None = None
    if "base_dir" in data:
        errors.append((("base_dir",), "unknown key"))
    try:
        config = Config.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        errors += _validation_errors(exc)
    errors += _reference_errors(data)
    if writable:
        errors += _writable_errors(data, base_dir)
    if errors:
        raise ConfigError(_error_lines(path, errors, data))
    assert config is not None
    return config


def resolve_config_path(path: str | os.PathLike[str] | None) -> Path | None:
    """The file to read: the given path, else $COUNTYWATCH_CONFIG, else ./sources.yaml if present."""
    if path is not None:
        return Path(path)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    default = Path(DEFAULT_CONFIG_PATH)
    return default if default.exists() else None


def load_config(path: str | os.PathLike[str] | None = None, *, writable: bool = False) -> Config:
    """Read and validate the configuration file (YAML, loaded safely, within bounds).

    `writable`: the caller will write to the data folders (the daemon, crawls, digests), so check
    they can be written, in the same pass as every other value.
    """
    resolved = resolve_config_path(path)
    if resolved is None:
        return config_from_dict({}, path="(defaults)", writable=writable)
    try:
        raw = resolved.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{resolved}: cannot read the configuration file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{resolved}: not UTF-8 text (byte {exc.start})") from None
    try:
        # _BoundedLoader is yaml.SafeLoader plus limits: this is safe_load with bounds.
        data = yaml.load(text, Loader=_BoundedLoader)
    except yaml.reader.ReaderError as exc:
        # Characters YAML refuses (NUL, other control characters) are found before any parsing.
        raise ConfigError(
            f"{resolved}: character {exc.position + 1}: invalid YAML: "
            f"unacceptable character #x{exc.character:04x} (control characters are not allowed)"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{resolved}:{where} invalid YAML: {problem}") from None
    if data is None:
        data = {}
    return config_from_dict(
        data, path=str(resolved), base_dir=str(resolved.parent.resolve()), writable=writable
    )
