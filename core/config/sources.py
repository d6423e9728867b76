"""Sources: the sites to watch, their kinds, and when each is crawled (`Schedule`)."""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from apscheduler.triggers.cron import CronTrigger
from cssselect import GenericTranslator, SelectorError
from lxml import etree
from pydantic import Field, ValidationInfo, field_validator, model_validator

from core.config.base import ErrorAt, Model
from core.config.durations import Duration, at_least, format_duration, short
from core.timezone import CHINA_TZ_NAME

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


# field -> (what reads the value, the error it raises, what a bad one is called, whether to say why)
_READERS: dict[str, tuple[Callable[[str], object], type[Exception], str, bool]] = {
    "link_selector": (GenericTranslator().css_to_xpath, SelectorError, "invalid CSS selector", True),
    "link_xpath": (etree.XPath, etree.XPathSyntaxError, "invalid XPath", True),
    "encoding": (codecs.lookup, LookupError, "unknown encoding", False),
}


@functools.cache
def _known_timezones() -> frozenset[str]:
    """The IANA zone names this machine knows (read once: it walks the zone folders)."""
    return frozenset(available_timezones())


class Schedule(Model):
    """When a job runs: every `interval`, or on a five-field `cron` expression, plus random `jitter`."""

    interval: Annotated[Duration, at_least(timedelta(minutes=1), "one minute")] | None = None
    cron: str | None = None
    jitter: Duration = timedelta(0)
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

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            _validate_cron(value)
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Schedule:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("give exactly one of 'interval' (e.g. 6h) or 'cron' (e.g. '0 8 * * *')")
        return self

    @property
    def jitter_seconds(self) -> int:
        """Random delay added to each run, in whole seconds."""
        return int(self.jitter.total_seconds())

    def describe(self, *, jitter: bool = True) -> str:
        """The schedule as the file writes it: `6h ±5m`, `0 8 * * *` (without the jitter: `6h`)."""
        text = format_duration(self.interval) if self.interval is not None else self.cron or ""
        return f"{text} ±{format_duration(self.jitter)}" if jitter and self.jitter_seconds else text


def _check_host(host: str) -> None:
    if not _HOSTNAME.match(host.lower()):
        raise ValueError(f"{short(host)} is not a host name")


def _validate_cron(expr: str) -> None:
    # APScheduler's own parser is the authority on what it accepts.
    try:
        CronTrigger.from_crontab(expr, timezone=CHINA_TZ_NAME)
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {expr!r}: {exc}") from exc


SourceKind = Literal["government", "education_bureau", "newspaper", "mirror", "document_sharing", "other"]
OFFICIAL_KINDS: frozenset[str] = frozenset({"government", "education_bureau", "newspaper"})


class Source(Model):
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
    schedule: Schedule = Schedule(interval=timedelta(hours=6), jitter=timedelta(minutes=5))
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
    @field_validator("link_selector", "link_xpath", "encoding")
    @classmethod
    def _understood(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            read, refusal, what, why = _READERS[info.field_name or ""]
            try:
                read(value)
            except refusal as exc:
                raise ValueError(f"{what} {short(value)}{f': {exc}' if why else ''}") from None
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
                raise ErrorAt(("deny",), f"pattern {pattern!r} excludes the start URL {hidden[0]}")
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
