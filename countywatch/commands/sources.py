"""`countywatch sources list|validate|health`: the configured sites, their checks, their health."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click

from core.config import Config, ConfigError
from core.textable import format_table
from core.timezone import CHINA_TZ
from countywatch.commands._common import config_option, database, load_or_exit
from countywatch.config import load_config
from countywatch.source_checks import check_config
from storage.repository import source_health


def _schedule(config: Config, index: int) -> str:
    return config.sources[index].schedule.describe()


def _rows(rows: Sequence[tuple[str, ...]]) -> str:
    return "\n".join(format_table(rows))


def _when(value: datetime | None) -> str:
    return value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if value else "-"


@click.group("sources")
def command() -> None:
    """List the configured sources, validate the configuration, or show each source's health."""


@command.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source.")
def list_sources(config_path: str | None, as_json: bool) -> None:
    """List configured sources: name, kind, region, schedule and the domains a crawl may enter."""
    config = load_or_exit(config_path)
    if as_json:
        for i, s in enumerate(config.sources):
            entry: dict[str, Any] = {
                "name": s.name,
                "kind": s.kind,
                "region": s.region,
                "schedule": _schedule(config, i),
                "domains": s.domains,
                "enabled": s.enabled,
            }
            click.echo(json.dumps(entry, ensure_ascii=False))
        return
    if not config.sources:
        click.echo("no sources configured")
        return
    rows = [("name", "kind", "region", "schedule", "domains")]
    for i, s in enumerate(config.sources):
        name = s.name if s.enabled else f"{s.name} (disabled)"
        rows.append((name, s.kind, s.region or "-", _schedule(config, i), ",".join(s.domains)))
    click.echo(_rows(rows))


@command.command("validate")
@config_option
def validate(config_path: str | None) -> None:
    """Validate the configuration and each source's URLs, patterns and selectors; exit 2 on errors."""
    try:
        config = load_config(config_path, writable=True)
    except ConfigError as exc:
        click.echo(f"countywatch: configuration error:\n{exc}", err=True)
        raise SystemExit(2) from None
    problems = check_config(config)
    for problem in problems:
        click.echo(str(problem), err=problem.level == "error")
    errors = sum(p.level == "error" for p in problems)
    if errors:
        click.echo(f"countywatch: {errors} error(s) in the configuration", err=True)
        raise SystemExit(2)
    click.echo(
        f"configuration OK: {len(config.sources)} source(s), {len(config.notify.channels)} channel(s), "
        f"{len(config.notify.subscriptions)} subscription(s)"
    )


@command.command("health")
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source.")
def health(config_path: str | None, as_json: bool) -> None:
    """Show each source's health from the database: state, since when, last run and last error."""
    config = load_or_exit(config_path)
    with database(config, read_only=True) as sessions, sessions() as session:
        known = {row.name: row for row in source_health(session)}
    names = [s.name for s in config.sources] + sorted(set(known) - {s.name for s in config.sources})
    if as_json:
        for name in names:
            row = known.get(name)
            click.echo(
                json.dumps(
                    {
                        "name": name,
                        "configured": name in {s.name for s in config.sources},
                        "health": row.health if row else None,
                        "since": row.since.isoformat() if row and row.since else None,
                        "last_run_at": row.last_run_at.isoformat() if row and row.last_run_at else None,
                        "last_error": row.last_error if row else None,
                    },
                    ensure_ascii=False,
                )
            )
        return
    rows = [("name", "health", "since", "last run", "last error")]
    for name in names:
        row = known.get(name)
        if row is None:
            rows.append((name, "never crawled", "-", "-", "-"))
        else:
            error = (row.last_error or "-").splitlines()[0][:80] if row.last_error else "-"
            rows.append(
                (name, row.health or "never crawled", _when(row.since), _when(row.last_run_at), error)
            )
    click.echo(_rows(rows) if len(rows) > 1 else "no sources configured or crawled")
