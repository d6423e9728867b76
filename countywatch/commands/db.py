"""`countywatch db`: create or migrate the database (`upgrade`) and show where it is (`current`)."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from countywatch.commands._common import config_option, fail, load_or_exit
from storage.db import (
    current_revision,
    display_url,
    error_reason,
    head_revision,
    make_engine,
    missing_sqlite_file,
    upgrade,
)


@click.group("db")
def command() -> None:
    """Create, migrate and inspect the database named by `database` in the configuration."""


def _ensure_sqlite_folder(url: str) -> None:
    """A SQLite file may live in a folder that does not exist yet (the data folder on first run)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


@command.command("upgrade")
@config_option
def upgrade_command(config_path: str | None) -> None:
    """Create the tables, or migrate them to the newest revision (safe to repeat)."""
    config = load_or_exit(config_path)
    url = config.database_url
    try:
        _ensure_sqlite_folder(url)
        upgrade(url)
    except (SQLAlchemyError, OSError) as exc:
        reason = error_reason(exc) if isinstance(exc, SQLAlchemyError) else (exc.strerror or str(exc))
        fail(f"cannot upgrade database {display_url(url)}: {reason}")
    click.echo(f"database {display_url(url)} is at revision {head_revision()} (newest)")


@command.command("current")
@config_option
def current_command(config_path: str | None) -> None:
    """Show the database's revision and whether it needs `countywatch db upgrade`."""
    config = load_or_exit(config_path)
    url = config.database_url
    missing = missing_sqlite_file(url)
    if missing is not None:
        click.echo(f"database file {missing} does not exist: run `countywatch db upgrade`")
        return
    engine = make_engine(url)
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        fail(f"cannot read database {display_url(url)}: {error_reason(exc)}")
        return
    finally:
        engine.dispose()
    head = head_revision()
    if current is None:
        click.echo(f"database {display_url(url)} is empty: run `countywatch db upgrade` (newest is {head})")
    elif current == head:
        click.echo(f"database {display_url(url)} is at revision {current} (newest)")
    else:
        click.echo(
            f"database {display_url(url)} is at revision {current}; run `countywatch db upgrade` to {head}"
        )
