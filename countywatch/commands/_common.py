"""What every subcommand shares: the `--config` option and turning errors into one-line messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.config import Config, ConfigError
from countywatch.config import load_config
from storage.db import StorageError, display_url, error_reason, make_session_factory, open_existing

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="COUNTYWATCH_CONFIG",
    help="Configuration file (default: $COUNTYWATCH_CONFIG, else ./sources.yaml, else built-in defaults).",
)


def load_or_exit(config_path: str | None, *, writable: bool = False) -> Config:
    """Load the configuration, or print what is wrong with it and exit with status 2.

    `writable`: the command writes to the data folders, so their being writable is checked too.
    """
    try:
        return load_config(config_path, writable=writable)
    except ConfigError as exc:
        click.echo(f"countywatch: configuration error:\n{exc}", err=True)
        raise SystemExit(2) from None


def fail(message: str, status: int = 1) -> None:
    """Print a one-line error (never a traceback) and exit."""
    click.echo(f"countywatch: {message}", err=True)
    raise SystemExit(status)


@contextmanager
def database(config: Config, *, read_only: bool = False) -> Iterator[sessionmaker[Session]]:
    """Sessions on the configured, migrated database; a database error exits with one line.

    Errors raised inside the `with` block are caught too: a command never shows a traceback for a
    locked, missing or unmigrated database.
    """
    url = config.database_url
    try:
        engine = open_existing(url, read_only=read_only)
    except StorageError as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits; keeps the type checker sure `engine` is bound
    try:
        yield make_session_factory(engine)
    except StorageError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"database error on {display_url(url)}: {error_reason(exc)}")
    finally:
        engine.dispose()
