"""`countywatch worker`: crawl from the shared Redis queue until stopped; `--enqueue` pushes a cycle."""

from __future__ import annotations

import click
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from core.config import ConfigError
from countywatch.commands._common import config_option, fail, load_or_exit
from crawler.distributed.enqueue import enqueue_sources, queue_status
from crawler.distributed.worker import run_worker
from crawler.distributed.worker_settings import DEFAULT_LEASE, DEFAULT_TICK
from crawler.runtime.runner import CrawlError
from storage.db import StorageError


@click.command("worker")
@config_option
@click.option(
    "--enqueue",
    is_flag=True,
    help="Push the start requests of the sources (one crawl cycle) into the queue and exit.",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="NAME",
    help="With --enqueue: only this source (repeatable)",
)
@click.option(
    "--status",
    "show_status",
    is_flag=True,
    help="Print how many requests are queued and in flight, and exit.",
)
@click.option("--worker-id", default=None, help="This worker's id (default: host-pid-random).")
@click.option(
    "--lease",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_LEASE,
    show_default=True,
    help="Seconds without a heartbeat after which other workers requeue this worker's requests.",
)
@click.option(
    "--tick",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TICK,
    show_default=True,
    help="Seconds between heartbeats (also how often dead workers' requests are looked for).",
)
def command(
    config_path: str | None,
    enqueue: bool,
    sources: tuple[str, ...],
    show_status: bool,
    worker_id: str | None,
    lease: float,
    tick: float,
) -> None:
    """Crawl as one of many workers sharing a Redis queue (config `distributed:`), until SIGTERM.

    Any number of workers, on any machines with the same configuration, share the request queue
    and the seen-URL filter and write to one database. On SIGTERM a worker finishes its in-flight
    requests and exits; a killed worker's requests are requeued by the others after --lease.
    """
    config = load_or_exit(config_path, writable=True)
    if sources and not enqueue:
        fail("--source only applies with --enqueue (a worker crawls whatever is queued)", status=2)
    try:
        if show_status:
            queued, in_flight = queue_status(config)
            click.echo(f"{queued} queued, {in_flight} in flight")
        elif enqueue:
            pushed = enqueue_sources(config, list(sources) or None)
            click.echo(f"pushed {pushed} start requests")
        else:
            reason = run_worker(config, worker_id=worker_id, lease=lease, tick=tick)
            click.echo(f"worker stopped: {reason}", err=True)
    except ConfigError as exc:
        fail(str(exc), status=2)
    except (CrawlError, RedisError) as exc:
        fail(f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": "))
    except ValueError as exc:  # a malformed Redis URL
        fail(f"invalid Redis URL or value: {str(exc).splitlines()[0]}", status=2)
    except (StorageError, SQLAlchemyError) as exc:
        fail(f"database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
