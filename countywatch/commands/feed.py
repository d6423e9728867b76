"""`countywatch feed SUBSCRIPTION`: the subscription's Atom feed, as `countywatch serve` gives it."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from alerts.atom import feed_alerts, render_feed
from countywatch.commands._common import config_option, database, fail, load_or_exit


@click.command("feed")
@config_option
@click.argument("subscription")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the feed to FILE (default: stdout).",
)
def command(config_path: str | None, subscription: str, output: str | None) -> None:
    """Write the Atom 1.0 feed of the alerts SUBSCRIPTION receives (new, changed with the diff,
    withdrawn): the same document as /feeds/SUBSCRIPTION.atom of `countywatch serve`."""
    config = load_or_exit(config_path)
    chosen = next((s for s in config.notify.subscriptions if s.name == subscription), None)
    if chosen is None:
        known = ", ".join(s.name for s in config.notify.subscriptions) or "none"
        fail(f"no subscription named {subscription!r} (configured: {known})")
        return
    now = datetime.now(UTC)
    with database(config, read_only=True) as sessions, sessions() as session:
        alerts = feed_alerts(session, chosen, limit=config.serve.feed_entries, now=now)
    body = render_feed(chosen, alerts, now=now)
    if output is None:
        sys.stdout.buffer.write(body)
        return
    try:
        Path(output).write_bytes(body)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    click.echo(f"{len(alerts)} entries written to {output}", err=True)
