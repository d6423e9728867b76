"""`countywatch --help` lists the commands from COMMANDS without importing them, saying what they say."""

from __future__ import annotations

import importlib
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from countywatch.cli import COMMANDS, LazyGroup, cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_line_is_the_commands_own(name: str) -> None:
    module, line = COMMANDS[name]
    command = importlib.import_module(f"countywatch.commands.{module}").command
    assert command.name == name
    assert line == command.get_short_help_str(limit=10_000)


def test_help_lists_as_click_would_with_every_command_imported() -> None:
    ours = CliRunner().invoke(cli, ["--help"])
    assert ours.exit_code == 0

    class Eager(LazyGroup):
        format_commands = click.Group.format_commands  # click's own: asks every command

    eager = Eager(
        name=cli.name,
        callback=cli.callback,
        params=cli.params,
        help=cli.help,
        context_settings=cli.context_settings,
    )
    theirs = CliRunner().invoke(eager, ["--help"], prog_name=cli.name)
    assert theirs.exit_code == 0
    assert "crawl" in ours.output and "Commands:" in ours.output
    assert ours.output == theirs.output


def test_help_imports_no_command_module() -> None:
    probe = (
        "import sys\n"
        "from countywatch.cli import main\n"
        "sys.argv = ['countywatch', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('countywatch.commands.') or m in "
        "('scrapy', 'sqlalchemy', 'twisted', 'uvicorn', 'apscheduler'))\n"
        "print('LOADED', loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "LOADED []" in out, out
