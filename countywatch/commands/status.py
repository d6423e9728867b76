"""`countywatch status`: last and next runs, source health, failing deliveries, the daemon."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import click

from core.textable import format_table
from core.timezone import CHINA_TZ
from countywatch.commands._common import config_option, database, fail, load_or_exit
from scheduler.daemon import state_path
from scheduler.overview import SourceStatus, StatusReport, build_status
from scheduler.state import StateError, read_state

# Times are shown on the clock of the sites and readers.


def _when(value: str | None) -> str:
    """An ISO timestamp shortened to minutes in China time, or '-'."""
    if not value:
        return "-"
    if value == "on start":
        return value
    moment = datetime.fromisoformat(value)
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def format_status(report: StatusReport) -> str:
    """The text `countywatch status` prints."""
    lines = [
        f"daemon: running (pid {report.daemon_pid}, since {_when(report.daemon_started_at)})"
        if report.daemon_running
        else "daemon: not running"
    ]
    lines.append("")
    lines.append("sources:")
    rows = [("name", "schedule", "last run", "result", "next run", "health")]
    for s in report.sources:
        rows.append(
            (s.name, s.schedule, _when(s.last_run), s.last_status or "-", _when(s.next_run), s.health or "-")
        )
    lines += _table(rows)
    lines += [f"  {s.name}: {_problem(s)}" for s in report.sources if _problem(s)]
    lines.append("")
    lines.append("digests:")
    rows = [("subscription", "schedule", "last run", "result", "next run", "last sent")]
    for d in report.digests:
        rows.append(
            (
                d.name,
                d.schedule,
                _when(d.last_run),
                d.last_status or "-",
                _when(d.next_run),
                _when(d.last_sent),
            )
        )
    lines += _table(rows)
    lines.append("")
    lines.append(f"deliveries: {report.pending_deliveries} pending, {len(report.failing)} failing")
    for f in report.failing:
        retry = f"next attempt {_when(f.next_attempt)}" if f.state == "retrying" else "gave up"
        lines.append(
            f"  {f.subscription} → {f.channel}: {f.deliveries} deliveries, "
            f"{f.attempts} attempts, {retry}: {f.last_error}"
        )
    return "\n".join(lines)


def _problem(source: SourceStatus) -> str | None:
    if source.last_error:
        return source.last_error
    return source.health_error if source.health not in (None, "ok") else None


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    return format_table(rows, indent="  ") if len(rows) > 1 else ["  (none configured)"]


@click.command("status")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@click.option(
    "--require-daemon", is_flag=True, help="Exit with status 1 when no daemon is running (health checks)."
)
def command(config_path: str | None, as_json: bool, require_daemon: bool) -> None:
    """Show last and next runs per source and digest, source health, pending and failing deliveries,
    and whether a daemon is running."""
    config = load_or_exit(config_path)
    try:
        state = read_state(state_path(config))
    except StateError as exc:
        fail(str(exc))
        return
    with database(config, read_only=True) as sessions:
        report = build_status(config, state, sessions, now=datetime.now(UTC))
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(format_status(report))
    if require_daemon and not report.daemon_running:
        raise SystemExit(1)
