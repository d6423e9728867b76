"""`countywatch run`: the daemon — crawls on each source's schedule, digests on each subscription's."""

from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

from core.config import ConfigError
from countywatch.commands._common import config_option, fail, load_or_exit
from countywatch.daemon_hooks import make_daemon
from countywatch.logging_setup import configure_logging
from scheduler.backend import StorageBackend
from scheduler.lock import DaemonLockError
from scheduler.state import StateError
from storage.db import StorageError, display_url, make_engine, make_session_factory, require_current


@click.command("run")
@config_option
@click.option("--log-json/--no-log-json", default=None, help="Log JSON lines (default: logging.json).")
@click.option(
    "--stop-grace",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds a running crawl may take to finish after SIGTERM before it is interrupted.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1, max=64),
    default=4,
    show_default=True,
    help="How many crawl processes may run at once (digests and deliveries have notify.workers "
    "threads of their own).",
)
def command(config_path: str | None, log_json: bool | None, stop_grace: float, jobs: int) -> None:
    """Run the scheduler daemon until SIGTERM: crawls, digests and delivery retries on their schedules.

    Every `crawl.tick` the daemon takes the sources that are due by their own schedules (most
    overdue first, up to `crawl.batch_size`) and crawls them together in one `countywatch crawl`
    process with the configured time limit, each source within `crawl.source_time_limit`, reading
    the configuration the daemon accepted. SIGHUP reloads the configuration (a bad file is logged
    and the running one kept, for crawls too). Only one daemon may run per database. Run
    `countywatch db upgrade` first.
    """
    config = load_or_exit(config_path, writable=True)
    configure_logging(config, json_lines=log_json)
    engine = make_engine(config.database_url)
    try:
        require_current(engine)
        daemon = make_daemon(
            config_path, StorageBackend(make_session_factory(engine)), stop_grace=stop_grace, workers=jobs
        )
        status = daemon.run()
    except (ConfigError, DaemonLockError, StateError, StorageError) as exc:
        fail(str(exc).replace("\n", "; "), status=2 if isinstance(exc, ConfigError) else 1)
        return
    except SQLAlchemyError as exc:
        fail(f"database error on {display_url(config.database_url)}: {str(exc).splitlines()[0]}")
        return
    finally:
        engine.dispose()
    raise SystemExit(status)
