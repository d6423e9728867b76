"""The configuration models: what a valid configuration is, as typed, frozen values.

Every layer reads its settings from these models; reading the YAML file, resolving its path and
formatting errors for the command line stay in the shell (`countywatch.config`).

- `base`: `ConfigError`, `ErrorAt`, the base `Model`, `read_secret` (secrets from env vars).
- `durations`: `Duration` (text in, `timedelta` out), `parse_duration`, `format_duration`.
- `sources`: `Source`, `SourceKind`, `OFFICIAL_KINDS`, `Schedule`.
- `topics`: `Topic`, `Category`, `DEFAULT_TOPICS`, `default_topics()`.
- `notify`: channels, `Subscription`, `parse_digest_schedule`, `Retry`, `Notify`.
- `models`: `Crawl`, `Metrics`, `Serve`, `Logging`, `Distributed`, and `Config`, the whole file.
"""

from __future__ import annotations

from core.config.base import ConfigError, ErrorAt, Model, read_secret
from core.config.durations import MAX_DURATION, Duration, format_duration, parse_duration
from core.config.models import Config, Crawl, Distributed, Logging, Metrics, Serve
from core.config.notify import (
    BotChannel,
    Channel,
    EmailChannel,
    Notify,
    Retry,
    Subscription,
    WebhookChannel,
    parse_digest_schedule,
)
from core.config.sources import OFFICIAL_KINDS, Schedule, Source, SourceKind
from core.config.topics import DEFAULT_TOPICS, Category, Topic, default_topics

__all__ = [
    "DEFAULT_TOPICS",
    "MAX_DURATION",
    "OFFICIAL_KINDS",
    "BotChannel",
    "Category",
    "Channel",
    "Config",
    "ConfigError",
    "Crawl",
    "Distributed",
    "Duration",
    "EmailChannel",
    "ErrorAt",
    "Logging",
    "Metrics",
    "Model",
    "Notify",
    "Retry",
    "Schedule",
    "Serve",
    "Source",
    "SourceKind",
    "Subscription",
    "Topic",
    "WebhookChannel",
    "default_topics",
    "format_duration",
    "parse_digest_schedule",
    "parse_duration",
    "read_secret",
]
