"""The daemon as the application runs it: `scheduler.daemon.Daemon` tied to the shell's parts.

The scheduler package does not read configuration files, serve metrics or set up logging; this
module hands it those (`scheduler.hooks.DaemonHooks`): the YAML file read with every folder
checked for writing, Prometheus metrics behind a token, and log records tagged per crawl.
"""

from __future__ import annotations

import os
from typing import Any

from core.config import Config
from countywatch.config import load_config, resolve_config_path
from countywatch.logging_setup import log_context
from countywatch.metrics import DaemonMetrics
from scheduler.backend import Backend
from scheduler.daemon import Daemon
from scheduler.hooks import DaemonHooks


def load_for_daemon(path: str | None) -> Config:
    """The configuration at `path` (None: defaults), its data folders checked for writing."""
    return load_config(path, writable=True)


def daemon_hooks() -> DaemonHooks:
    """The shell's configuration loading, a fresh set of metrics, and its log tags."""
    return DaemonHooks(load_config=load_for_daemon, metrics=DaemonMetrics(), log_context=log_context)


def make_daemon(config_path: str | os.PathLike[str] | None, backend: Backend, **options: Any) -> Daemon:
    """A daemon for the file `--config`, $COUNTYWATCH_CONFIG or ./sources.yaml names (`options`: Daemon's)."""
    resolved = resolve_config_path(config_path)
    return Daemon(str(resolved) if resolved is not None else None, backend, daemon_hooks(), **options)
