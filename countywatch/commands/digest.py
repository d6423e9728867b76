"""`countywatch digest`: render and send the subscriptions' digests now, or print them."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from sqlalchemy.exc import SQLAlchemyError

from alerts.delivery import DeliveryReport, deliver_due
from alerts.model import FailingDelivery
from alerts.render import render_markdown
from core.config import ConfigError, parse_duration
from core.timezone import CHINA_TZ
from countywatch.commands._common import config_option, fail, load_or_exit
from storage.db import StorageError, make_engine, make_session_factory, require_current
from storage.outbox import failing_deliveries


def parse_since(value: str, now: datetime) -> datetime:
    """`24h`/`7d` (a duration before now) or an ISO date/time (China time unless it has an offset)."""
    try:
        return now - parse_duration(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"--since {value!r}: expected a duration such as 24h or 7d, or an ISO date/time "
            "such as 2024-04-19 or 2024-04-19T08:00"
        ) from None
    return moment.replace(tzinfo=CHINA_TZ) if moment.tzinfo is None else moment


def _print_previews(report: DeliveryReport, fmt: str) -> None:
    for rendered in report.previews:
        if fmt == "html":
            click.echo(rendered.html)
        elif fmt == "markdown":
            click.echo(render_markdown(rendered.digest))
        else:
            click.echo(rendered.text)


def _print_results(report: DeliveryReport) -> None:
    for r in report.results:
        line = f"{r.subscription} → {r.channel} ({r.kind}): {r.outcome}, {r.alerts} alert(s)"
        click.echo(line if r.error is None else f"{line}: {r.error}")


def _failing_line(f: FailingDelivery) -> str:
    when = (
        f", next attempt {f.next_attempt_at.astimezone(CHINA_TZ):%Y-%m-%d %H:%M}" if f.next_attempt_at else ""
    )
    state = "retrying" if f.state == "retrying" else "gave up"
    return (
        f"{f.subscription} → {f.channel}: {state}, {f.deliveries} alert(s) after {f.attempts} "
        f"attempt(s){when}: {f.last_error}"
    )


@click.command("digest")
@config_option
@click.option("--subscription", "-s", default=None, help="Only this subscription (default: all of them).")
@click.option(
    "--since",
    "since_text",
    default=None,
    metavar="WHEN",
    help="Start of the window: an ISO date/time, or a duration before now such as 24h or 7d "
    "(default: since the subscription's last digest).",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the digests instead of sending them; nothing is recorded."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "html", "markdown"]),
    default="text",
    show_default=True,
    help="How --dry-run prints the digests.",
)
def command(
    config_path: str | None, subscription: str | None, since_text: str | None, dry_run: bool, fmt: str
) -> None:
    """Render the subscriptions' digests now and send them (or, with --dry-run, print them).

    Sending goes through the alerts outbox, as the daemon does: an alert already delivered to a
    channel is not sent to it again, and failed channels are retried with backoff later. Exits 1
    when a channel fails, or when nothing is due but earlier deliveries are still failing.
    """
    config = load_or_exit(config_path, writable=True)
    if not config.notify.subscriptions:
        fail("no subscriptions are configured under notify.subscriptions", 2)
    now = datetime.now(UTC)
    since = None
    if since_text is not None:
        try:
            since = parse_since(since_text, now)
        except ValueError as exc:
            fail(str(exc), 2)
    engine = make_engine(config.database_url)
    failing: list[FailingDelivery] = []
    try:
        require_current(engine)
        sessions = make_session_factory(engine)
        report = deliver_due(
            sessions, config, now=now, subscription=subscription, dry_run=dry_run, since=since, immediate=True
        )
        if not dry_run and not report.results:
            # Nothing was due, but deliveries waiting out a backoff (or given up) are no success.
            with sessions() as session:
                failing = [
                    f
                    for f in failing_deliveries(session, now=now)
                    if subscription is None or f.subscription == subscription
                ]
    except ConfigError as exc:
        fail(str(exc), 2)
    except StorageError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        detail = (str(exc).splitlines() or [""])[0]
        fail(f"database error ({type(exc).__name__}): {detail} — has `countywatch db upgrade` been run?")
    finally:
        engine.dispose()
    if dry_run:
        _print_previews(report, fmt)
        return
    _print_results(report)
    if failing:
        click.echo("nothing due to send now, but deliveries are failing:")
        for f in failing:
            click.echo(f"  {_failing_line(f)}")
        raise SystemExit(1)
    if not report.results:
        click.echo("nothing to send")
    if not report.ok:
        raise SystemExit(1)
