"""`countywatch serve`: the web page, JSON API and Atom feeds, read-only, on 127.0.0.1 by default."""

from __future__ import annotations

import click
import uvicorn

from countywatch.commands._common import config_option, fail, load_or_exit
from countywatch.web.access import AccessError, check_bind, configured_token
from countywatch.web.app import create_app
from storage.db import StorageError, display_url, open_read_only


@click.command("serve")
@config_option
@click.option("--host", default=None, help="Address to listen on (default: serve.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: serve.port, 8730).")
def command(config_path: str | None, host: str | None, port: int | None) -> None:
    """Serve the latest announcements, each article's versions and copies, sources, subscriptions,
    archived digests, an Atom feed per subscription (/feeds/NAME.atom) and a JSON API (/api/...).

    The database is opened read-only. Any address other than loopback needs a token: set the
    variable named by serve.token_env (COUNTYWATCH_SERVE_TOKEN by default); every request must then
    send it (Authorization: Bearer TOKEN; feed URLs may carry ?token=TOKEN instead)."""
    config = load_or_exit(config_path)
    host = host or config.serve.host
    port = port or config.serve.port
    token = configured_token(config.serve)
    try:
        check_bind(host, token, config.serve.token_env)
        engine = open_read_only(config.database_url)
    except (AccessError, StorageError) as exc:
        fail(str(exc))
        return
    app = create_app(config, engine, token=token)
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"countywatch: serving {display_url(config.database_url)} read-only on http://{shown}:{port}/",
        err=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False)
