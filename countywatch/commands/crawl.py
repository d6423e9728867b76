"""`countywatch crawl`: one crawl cycle, a table (or JSON) of what each source gave."""

from __future__ import annotations

import json

import click
from sqlalchemy.exc import SQLAlchemyError

from core import textable
from core.config import ConfigError
from countywatch.commands._common import config_option, fail, load_or_exit
from crawler.runtime.runner import CrawlError, CycleReport, run_cycle
from storage.db import StorageError

_COLUMNS = (
    "source",
    "pages",
    "304",
    "links",
    "fetched",
    "new",
    "changed",
    "dup",
    "unchanged",
    "gone",
    "errors",
    "health",
)


def format_table(report: CycleReport) -> str:
    """The per-source table `countywatch crawl` prints."""
    rows = [_COLUMNS]
    for source in report.sources:
        s = source.stats
        rows.append(
            (
                source.name,
                str(s.list_pages),
                str(s.list_unchanged),
                str(s.links_found),
                str(s.articles_fetched),
                str(s.new),
                str(s.changed),
                str(s.duplicate),
                str(s.unchanged),
                str(s.gone),
                str(s.error_count),
                source.health,
            )
        )
    lines = textable.format_table(rows)
    seconds = (report.finished_at - report.started_at).total_seconds()
    lines.append(
        f"{report.requests} requests ({report.responses_304} not modified) in {seconds:.1f}s; "
        f"finished: {report.finish_reason}"
    )
    lines.extend(f"  {s.name}: {s.error}" for s in report.sources if s.error)
    return "\n".join(lines)


@click.command("crawl")
@config_option
@click.option(
    "--source", "sources", multiple=True, metavar="NAME", help="Crawl only this source (repeatable)."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print a machine-readable JSON report instead of a table."
)
def command(config_path: str | None, sources: tuple[str, ...], as_json: bool) -> None:
    """Run one crawl cycle over the configured sources and report pages, new, changed, errors and health.

    Exits non-zero only when the run itself fails; a failing site shows in its health column.
    """
    config = load_or_exit(config_path, writable=True)
    try:
        report = run_cycle(config, list(sources) or None)
    except ConfigError as exc:
        fail(str(exc), status=2)
        return
    except CrawlError as exc:
        fail(str(exc))
        return
    except (StorageError, SQLAlchemyError) as exc:
        fail(f"database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        return
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        click.echo(format_table(report))
