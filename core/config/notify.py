"""Notifications: channels, subscriptions (who gets what, and when), and delivery retries."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from core.config.base import ErrorAt, Model, check_env_name
from core.config.durations import Duration, at_least

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Header names whose values are credentials (Authorization, Cookie, X-Api-Key, X-Auth-Token, ...).
_SECRET_HEADER = re.compile(r"auth|cookie|token|secret|passw|key|signature|credential|session", re.I)


class _Channel(Model):
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

    _env = field_validator("password_env")(check_env_name)


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

    _env = field_validator("url_env", "secret_env")(check_env_name)

    @field_validator("headers")
    @classmethod
    def _no_secret_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name in headers:
            if _SECRET_HEADER.search(name):
                raise ErrorAt(
                    (name,),
                    f"header {name!r} carries a secret, which is not kept in the file: put its value "
                    f"in an environment variable and name it under 'headers_env'",
                )
        return headers

    @field_validator("headers_env")
    @classmethod
    def _header_env_names(cls, headers: dict[str, str]) -> dict[str, str]:
        for env_name in headers.values():
            check_env_name(env_name)
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

    _env = field_validator("url_env", "secret_env")(check_env_name)


Channel = Annotated[EmailChannel | WebhookChannel | BotChannel, Field(discriminator="type")]


class Subscription(Model):
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


class Retry(Model):
    """Delivery retries: exponential backoff from `backoff` up to `max_backoff`."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff: Duration = timedelta(seconds=30)
    max_backoff: Duration = timedelta(hours=2)
    # How often the daemon looks for deliveries due again.
    every: Annotated[Duration, at_least(timedelta(seconds=1), "one second")] = timedelta(minutes=1)


class Notify(Model):
    """Channels, subscriptions, and how deliveries are retried."""

    channels: dict[str, Channel] = {}
    subscriptions: list[Subscription] = []
    retry: Retry = Retry()
    # How long a runner owns the deliveries of a digest it is sending; after a crash they are sent
    # again (same idempotency key) once it ends. Longer than the slowest channel's timeout.
    claim_lease: Annotated[Duration, at_least(timedelta(seconds=1), "one second")] = timedelta(minutes=10)
    # Threads of the daemon for digests and deliveries, apart from the crawl jobs, so a busy crawl
    # schedule never delays an "immediate" digest.
    workers: int = Field(default=2, ge=1, le=16)
    digest_dir: str | None = None  # where rendered HTML digests are kept; default <data_dir>/digests
    # Base URL of links in digests' footers (optional).
    public_url: str | None = None

    @model_validator(mode="after")
    def _references(self) -> Notify:
        names = set()
        for i, sub in enumerate(self.subscriptions):
            if sub.name in names:
                raise ErrorAt(("subscriptions", i, "name"), f"subscription name {sub.name!r} is used twice")
            names.add(sub.name)
            for channel in sub.channels:
                if channel not in self.channels:
                    raise ErrorAt(
                        ("subscriptions", i, "channels"),
                        f"subscription {sub.name!r} names channel {channel!r}, which is not under "
                        f"notify.channels (known: {', '.join(sorted(self.channels)) or 'none'})",
                    )
        return self
