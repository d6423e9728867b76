"""`countywatch replica serve`: run the local replica site network in the foreground."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click
import yaml

from countywatch.commands._common import fail
from replica.generate import GeneratedNetwork
from replica.network import ReplicaNetwork


@click.group("replica")
def command() -> None:
    """The local replica of county government, education-bureau and newspaper sites."""


@command.command("serve")
@click.option(
    "--sites",
    "n_sites",
    type=click.IntRange(min=0, max=60000),
    default=0,
    show_default=True,
    help="Serve this many generated sites instead of the seven hand-made ones (0 = hand-made).",
)
@click.option(
    "--articles-per-site",
    type=click.IntRange(min=1, max=10000),
    default=30,
    show_default=True,
    help="Articles on each generated site.",
)
@click.option(
    "--cycle",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Crawl cycle to start in (2: one article changed, two gone, two new).",
)
@click.option(
    "--advance-every",
    type=click.FloatRange(min=1),
    default=None,
    help="Move to the next cycle every this many seconds.",
)
@click.option(
    "--slow-seconds",
    type=click.FloatRange(min=0, max=600),
    default=3.0,
    show_default=True,
    help="Delay of the slow page.",
)
@click.option(
    "--write-config",
    "config_out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write a countywatch configuration for crawling the network to this file.",
)
@click.option(
    "--database",
    default="sqlite:///replica-demo.db",
    show_default=True,
    help="Database URL put in the written configuration.",
)
def serve(
    n_sites: int,
    articles_per_site: int,
    cycle: int,
    advance_every: float | None,
    slow_seconds: float,
    config_out: str | None,
    database: str,
) -> None:
    """Serve the replica network on 127.0.0.x until Ctrl-C or SIGTERM, printing each site's URL."""
    network: ReplicaNetwork | GeneratedNetwork
    if n_sites:
        network = GeneratedNetwork(n_sites, articles_per_site, slow_seconds=slow_seconds, cycle=cycle)
    else:
        network = ReplicaNetwork(slow_seconds=slow_seconds, cycle=cycle)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            network.start()
        except (OSError, RuntimeError) as exc:
            fail(f"cannot start the replica network: {exc}")
        with network:
            for info in network.sites.values():
                click.echo(f"{info.name:<16} {info.kind:<17} {info.base_url}/  {info.title}")
            click.echo(f"{'(off-domain)':<16} {'must not crawl':<17} {network.offsite_url}/")
            if config_out is not None:
                text = yaml.safe_dump(network.config_dict(database), allow_unicode=True, sort_keys=False)
                try:
                    Path(config_out).write_text(text, encoding="utf-8")
                except OSError as exc:
                    fail(f"cannot write {config_out}: {exc.strerror or exc}")
                click.echo(f"configuration written to {config_out}")
            click.echo(f"cycle {network.cycle}; press Ctrl-C to stop")
            while not stop.wait(advance_every):
                click.echo(f"cycle {network.advance()}")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("stopped")
