"""What every subcommand shares: the `--config` option and turning errors into one-line messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from countywatch.config import Config, ConfigError, load_config

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="COUNTYWATCH_CONFIG",
    help="Configuration file (default: $COUNTYWATCH_CONFIG, else ./sources.yaml, else built-in defaults).",
)


def load_or_exit(config_path: str | None) -> Config:
    """Load the configuration, or print what is wrong with it and exit with status 2."""
    try:
        return load_config(config_path)
    except ConfigError as exc:
        click.echo(f"countywatch: configuration error:\n{exc}", err=True)
        raise SystemExit(2) from None


def fail(message: str, status: int = 1) -> None:
    """Print a one-line error (never a traceback) and exit."""
    click.echo(f"countywatch: {message}", err=True)
    raise SystemExit(status)
