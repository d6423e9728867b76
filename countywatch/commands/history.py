"""`countywatch history URL|ID`: every stored version of one article, with its diffs."""

from __future__ import annotations

import click

from alerts.render import format_when
from core.urls import canonicalize_url
from countywatch.commands._common import config_option, database, fail, load_or_exit
from countywatch.web.pages import article_view
from storage.repository import article_id_by_url


def _style(line: str) -> str:
    if line.startswith("+"):
        return click.style(line, fg="green")
    if line.startswith("-"):
        return click.style(line, fg="red")
    return click.style(line, fg="yellow")


@click.command("history")
@config_option
@click.argument("article")
@click.option("--text", "with_text", is_flag=True, help="Also print the full text of each version.")
def command(config_path: str | None, article: str, with_text: bool) -> None:
    """Show the versions of one stored article (by URL or id), newest first, each with its diff
    against the one before, and the story's other copies."""
    config = load_or_exit(config_path)
    with database(config, read_only=True) as sessions, sessions() as session:
        if article.isdigit():
            article_id: int | None = int(article)
        else:
            try:
                url = canonicalize_url(article)
            except ValueError as exc:
                fail(f"{article!r} is neither an article id nor an http(s) URL: {exc}")
                return
            article_id = article_id_by_url(session, [url, article])
        view = article_view(session, article_id) if article_id is not None else None
        if view is None:
            fail(f"no stored article {article!r} (give an id or URL from `countywatch articles`)")
            return
    record = view.record.record
    status = view.record.status + (f" since {format_when(view.withdrawn_at)}" if view.withdrawn_at else "")
    click.echo(click.style(record.get("title") or "（无标题）", bold=True))
    click.echo(f"{record['url']}")
    click.echo(f"article {view.record.id} · story {view.story.id} · {view.record.source_name} · {status}")
    click.echo(f"{len(view.versions)} version{'s' if len(view.versions) != 1 else ''}")
    for version in view.versions:
        click.echo("")
        seen = format_when(version.seen_at)
        click.echo(click.style(f"version {version.version} · {seen}", bold=True))
        if version.version == 1:
            click.echo("  first seen")
        for line in version.diff:
            click.echo("  " + _style(line))
        if with_text:
            click.echo("")
            for paragraph in version.text.split("\n"):
                if paragraph.strip():
                    click.echo("  " + paragraph.strip())
    others = [m for m in view.story.members if m.id != view.record.id]
    if others:
        click.echo("")
        click.echo(f"other copies of the story (first published by {view.story.first_publisher or '?'}):")
        for m in others:
            marks = " (first)" if m.first else ""
            click.echo(f"  {m.id}  {m.source_name}{marks}  {m.url}")
