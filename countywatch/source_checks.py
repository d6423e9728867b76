"""Checks of a configuration beyond its schema, for `countywatch sources validate`.

The schema (countywatch.config) rejects every bad value — URLs, patterns, selectors, encodings,
schedules, references — so that the daemon and each crawl refuse them too. These checks look at the
deployment instead: environment variables the file names but that are unset here, disabled sources.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from core.config import Config, Source


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: an error makes `sources validate` exit 2, a warning does not."""

    level: Literal["error", "warning"]
    where: str  # key path, e.g. sources[1] (zhenping).link_selector
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


def check_source(index: int, source: Source) -> list[Problem]:
    """What is worth saying about one source that the schema accepted."""
    where = f"sources[{index}] ({source.name})"
    if not source.enabled:
        return [Problem("warning", where, "disabled: it is never crawled")]
    return []


def unset_secret_variables(config: Config, environ: Mapping[str, str] | None = None) -> list[Problem]:
    """Environment variables the file names for secrets but that are not set here."""
    env = os.environ if environ is None else environ
    problems = []
    for name, channel in config.notify.channels.items():
        variables = [(key, getattr(channel, key, None)) for key in ("password_env", "url_env", "secret_env")]
        variables += [(f"headers_env.{h}", v) for h, v in getattr(channel, "headers_env", {}).items()]
        for key, variable in variables:
            if variable and variable not in env:
                problems.append(
                    Problem(
                        "warning",
                        f"notify.channels.{name}.{key}",
                        f"environment variable {variable} is not set",
                    )
                )
    if config.metrics.enabled and config.metrics.token_env and config.metrics.token_env not in env:
        problems.append(
            Problem(
                "error", "metrics.token_env", f"metrics are enabled but {config.metrics.token_env} is not set"
            )
        )
    return problems


def check_config(config: Config, environ: Mapping[str, str] | None = None) -> list[Problem]:
    """Every finding for a configuration that passed the schema."""
    problems = [p for i, source in enumerate(config.sources) for p in check_source(i, source)]
    return problems + unset_secret_variables(config, environ)
