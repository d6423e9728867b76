"""What the daemon takes from the application that runs it: the configuration, metrics, log tags.

The daemon schedules and runs jobs; reading the YAML file, serving Prometheus metrics and tagging
log records belong to the application shell (`countywatch`), which passes them in as `DaemonHooks`
(`countywatch.daemon_hooks`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from core.config import Config
from core.config import Metrics as MetricsSettings

# Reads and validates the configuration at a path (None: the defaults); raises ConfigError.
ConfigLoader = Callable[[str | None], Config]


class LogContext(Protocol):
    """Tags every log record made inside the block with a source name and a run id."""

    def __call__(self, *, source: str = "", run_id: str = "") -> AbstractContextManager[None]: ...


class DaemonMetrics(Protocol):
    """What the daemon reports as it runs, and the endpoint that serves it."""

    def serve(self, settings: MetricsSettings) -> None:
        """Start serving the metrics when `settings.enabled`; ConfigError when they cannot be."""

    def close(self) -> None:
        """Stop serving (nothing when not serving)."""

    def observe_crawl(
        self, source: str, status: str, duration: float, report: Mapping[str, Any] | None
    ) -> None:
        """One crawl run of `source` and the child's report."""

    def observe_deliveries(self, sent: int, failed: int) -> None:
        """Digests delivered and failed by one delivery job."""

    def set_health(self, states: Iterable[tuple[str, str]]) -> None:
        """(source, health state) of every source."""

    def set_alerts(self, counts: Mapping[str, int]) -> None:
        """{alert kind: number of alerts} in the outbox."""

    def job_error(self, job_id: str, kind: str) -> None:
        """A job that raised (`error`) or was missed (`missed`)."""


@dataclass(frozen=True, slots=True)
class DaemonHooks:
    """The daemon's ties to the application: how to read the configuration, metrics, log tags."""

    load_config: ConfigLoader
    metrics: DaemonMetrics
    log_context: LogContext
