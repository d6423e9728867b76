"""The `countywatch` command: a click group whose subcommands live in `countywatch.commands.*`.

Subcommands are imported only when invoked, so `countywatch extract` does not pay for loading
Scrapy, SQLAlchemy and APScheduler.
"""

from __future__ import annotations

import importlib
import sys

import click

# command name -> module under countywatch.commands holding a click command called `command`
COMMANDS: dict[str, str] = {
    "demo": "demo",
    "extract": "extract",
    "crawl": "crawl",
    "run": "run",
    "status": "status",
    "digest": "digest",
    "articles": "articles",
    "sources": "sources",
    "db": "db",
    "worker": "worker",
    "replica": "replica",
    "serve": "serve",
    "feed": "feed",
    "history": "history",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMANDS.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"countywatch.commands.{module_name}")
        command = module.command
        assert isinstance(command, click.Command)
        return command


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
