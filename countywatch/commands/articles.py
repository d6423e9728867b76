"""`countywatch articles`: list, search and export stored articles (JSON lines, CSV or a table)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from datetime import datetime

import click

from core.textable import fit
from countywatch.commands._common import config_option, database, load_or_exit
from storage.queries import ArticleFilter, StoredArticle, iter_articles

CSV_COLUMNS = (
    "id",
    "story_id",
    "status",
    "url",
    "title",
    "published_at",
    "source",
    "site_name",
    "region",
    "categories",
    "topics",
    "flags",
    "authors",
    "first_seen",
    "last_changed",
    "versions",
)
TABLE_COLUMNS = (("id", 6), ("story", 6), ("status", 9), ("published", 10), ("source", 16), ("title", 40))


@click.command("articles")
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "table"]),
    default="table",
    show_default=True,
    help="jsonl: one `extract` record per line plus story_id, status, first_seen, last_changed, versions.",
)
@click.option(
    "--search",
    default=None,
    help="Only articles whose title or text contains every space-separated term of TEXT (found "
    "through the search index; a term under 3 characters is matched by a slower scan), or whose "
    "attachment text contains TEXT.",
)
@click.option("--source", default=None, help="Only articles from the configured source NAME.")
@click.option("--region", default=None, help="Only articles whose region contains TEXT (e.g. 镇坪县).")
@click.option("--category", default=None, help="Only articles with this category LABEL (e.g. 招生入学).")
@click.option("--status", type=click.Choice(["active", "withdrawn"]), default=None, help="Only this status.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only articles published on or after DATE (YYYY-MM-DD; first seen, when the date is unknown).",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Print at most N articles.")
def command(
    config_path: str | None,
    fmt: str,
    search: str | None,
    source: str | None,
    region: str | None,
    category: str | None,
    status: str | None,
    since: datetime | None,
    limit: int | None,
) -> None:
    """Print stored articles, newest first."""
    config = load_or_exit(config_path)
    filters = ArticleFilter(
        search=search,
        source=source,
        region=region,
        category=category,
        status=status,
        since=since.date() if since else None,
        limit=limit,
    )
    with database(config, read_only=True) as sessions, sessions() as session:
        rows = iter_articles(session, filters)
        if fmt == "jsonl":
            _jsonl(rows)
        elif fmt == "csv":
            _csv(rows)
        else:
            _table(rows)


def _jsonl(rows: Iterable[StoredArticle]) -> None:
    for row in rows:
        click.echo(json.dumps(row.to_json(), ensure_ascii=False))


def _csv(rows: Iterable[StoredArticle]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        data = row.to_json()
        data["id"] = row.id
        writer.writerow(
            ";".join(value)
            if isinstance(value := data.get(column), list)
            else ("" if value is None else value)
            for column in CSV_COLUMNS
        )


def _table(rows: Iterable[StoredArticle]) -> None:
    click.echo("  ".join(fit(name, width) for name, width in TABLE_COLUMNS).rstrip())
    count = 0
    for row in rows:
        cells = (
            str(row.id),
            str(row.story_id),
            row.status,
            (row.record.get("published_at") or "")[:10],
            row.source_name,
            row.record.get("title") or "",
        )
        click.echo("  ".join(fit(c, w) for c, (_, w) in zip(cells, TABLE_COLUMNS, strict=True)).rstrip())
        count += 1
    click.echo(f"({count} article{'s' if count != 1 else ''})", err=True)
