"""`countywatch demo`: crawl the local replica site network twice and show the digest."""

from __future__ import annotations

from pathlib import Path

import click

from countywatch.commands._common import fail
from countywatch.demo.flow import DemoOptions, run_demo
from countywatch.demo.workdir import DemoError

DEFAULT_WORKDIR = "countywatch-demo"


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_WORKDIR,
    show_default=True,
    help="Folder for the demo's configuration, database, crawl logs and digest.",
)
@click.option(
    "--keep",
    is_flag=True,
    help="Keep the database of an earlier demo run instead of starting afresh (the replica gets new "
    "ports each run, so re-checks of the earlier run's articles fail as connection errors).",
)
@click.option(
    "--slow-seconds",
    type=click.FloatRange(min=0, max=30),
    default=1.0,
    show_default=True,
    help="How long the replica's deliberately slow page takes to answer.",
)
def command(workdir: Path, keep: bool, slow_seconds: float) -> None:
    """Crawl a local replica of county government, education-bureau and newspaper sites, and show the digest.

    The replica sites are served on 127.0.0.x by this process; nothing reaches the internet.
    The demo crawls them, changes them (articles added, edited, taken down), crawls them again,
    then prints the digest a subscriber would get, writes it as HTML, and sums up what each
    crawl found. The folder keeps a sources.yaml that the other commands accept with --config.
    """
    try:
        run_demo(DemoOptions(workdir=workdir, keep=keep, slow_seconds=slow_seconds), click.echo)
    except DemoError as exc:
        fail(str(exc))
