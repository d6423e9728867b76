"""The `countywatch` command: a click group whose subcommands live in `countywatch.commands.*`.

Subcommands are imported only when invoked, so `countywatch extract` does not pay for loading
Scrapy, SQLAlchemy and APScheduler.
"""

from __future__ import annotations

import sys

import click

from core.imports import import_long_lived

# command name -> (module under countywatch.commands holding a click command called `command`,
# the command's one-line help). `countywatch --help` lists the commands from these lines without
# importing every command's module (Scrapy, SQLAlchemy, uvicorn...); tests/test_cli_help.py checks
# that each line is the command's own.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "demo",
        "Crawl a local replica of county government, education-bureau and newspaper sites, and show the "
        "digest.",
    ),
    "extract": (
        "extract",
        "Extract one page (a file, or - for standard input) and print its record as JSON.",
    ),
    "crawl": (
        "crawl",
        "Run one crawl cycle over the configured sources and report pages, new, changed, errors and health.",
    ),
    "run": (
        "run",
        "Run the scheduler daemon until SIGTERM: crawls, digests and delivery retries on their schedules.",
    ),
    "status": (
        "status",
        "Show last and next runs per source and digest, source health, pending and failing deliveries, and "
        "whether a daemon is running.",
    ),
    "digest": (
        "digest",
        "Render the subscriptions' digests now and send them (or, with --dry-run, print them).",
    ),
    "articles": ("articles", "Print stored articles, newest first."),
    "sources": (
        "sources",
        "List the configured sources, validate the configuration, or show each source's health.",
    ),
    "db": ("db", "Create, migrate and inspect the database named by `database` in the configuration."),
    "worker": (
        "worker",
        "Crawl as one of many workers sharing a Redis queue (config `distributed:`), until SIGTERM.",
    ),
    "replica": ("replica", "The local replica of county government, education-bureau and newspaper sites."),
    "serve": (
        "serve",
        "Serve the latest announcements, each article's versions and copies, sources, subscriptions, "
        "archived digests, an Atom feed per subscription (/feeds/NAME.atom) and a JSON API (/api/...).",
    ),
    "feed": (
        "feed",
        "Write the Atom 1.0 feed of the alerts SUBSCRIPTION receives (new, changed with the diff, "
        "withdrawn): the same document as /feeds/SUBSCRIPTION.atom of `countywatch serve`.",
    ),
    "history": (
        "history",
        "Show the versions of one stored article (by URL or id), newest first, each with its diff against "
        "the one before, and the story's other copies.",
    ),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        # Imported as long-lived (core.imports): a command's modules stay to the process's end.
        command = import_long_lived(f"countywatch.commands.{entry[0]}").command
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of --help, from COMMANDS' help lines: no command module is imported."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        # A stand-in command shortens the line exactly as the command itself would.
        rows = [
            (name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)) for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="countywatch")
def cli() -> None:
    """Watch Chinese county government, education-bureau and local-paper sites for education news."""


def main() -> None:
    """Entry point of the console script."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
