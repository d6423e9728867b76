"""Checks of a configuration beyond its schema, for `countywatch sources validate`.

The schema (countywatch.config) already rejects bad URLs, regexes, schedules and references; these
checks look at what only makes sense per source (selectors, encodings, deny patterns that would hide
the start pages) and at the deployment (environment variables the file names but that are unset).
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from cssselect import GenericTranslator, SelectorError
from lxml import etree

from countywatch.config import Config, Source

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: an error makes `sources validate` exit 2, a warning does not."""

    level: Literal["error", "warning"]
    where: str  # key path, e.g. sources[1] (zhenping).link_selector
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


def check_source(index: int, source: Source) -> list[Problem]:
    """What is wrong with one source that the schema cannot see."""
    where = f"sources[{index}] ({source.name})"
    problems: list[Problem] = []
    if source.link_selector:
        try:
            GenericTranslator().css_to_xpath(source.link_selector)
        except SelectorError as exc:
            problems.append(Problem("error", f"{where}.link_selector", f"invalid CSS selector: {exc}"))
    if source.link_xpath:
        try:
            etree.XPath(source.link_xpath)
        except etree.XPathSyntaxError as exc:
            problems.append(Problem("error", f"{where}.link_xpath", f"invalid XPath: {exc}"))
    if source.encoding:
        try:
            codecs.lookup(source.encoding)
        except LookupError:
            problems.append(Problem("error", f"{where}.encoding", f"unknown encoding {source.encoding!r}"))
    for key, hosts in (("allowed_domains", source.allowed_domains), ("mobile_hosts", [*source.mobile_hosts])):
        for host in hosts:
            if not _HOSTNAME.match(host.lower()):
                problems.append(Problem("error", f"{where}.{key}", f"{host!r} is not a host name"))
    for pattern in source.deny:
        hidden = [url for url in source.start_urls if re.search(pattern, url)]
        if hidden:
            problems.append(
                Problem("error", f"{where}.deny", f"pattern {pattern!r} excludes the start URL {hidden[0]}")
            )
    if not source.enabled:
        problems.append(Problem("warning", where, "disabled: it is never crawled"))
    return problems


def unset_secret_variables(config: Config, environ: Mapping[str, str] | None = None) -> list[Problem]:
    """Environment variables the file names for secrets but that are not set here."""
    env = os.environ if environ is None else environ
    problems = []
    for name, channel in config.notify.channels.items():
        for key in ("password_env", "url_env", "secret_env"):
            variable = getattr(channel, key, None)
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
