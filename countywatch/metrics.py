"""Prometheus metrics of the daemon, served on loopback behind a bearer token.

The metrics live in their own `CollectorRegistry` owned by the daemon (no module-level registry), and
the endpoint is prometheus_client's WSGI app wrapped in a token check. `DaemonMetrics` is what the
shell hands the daemon (`scheduler.hooks.DaemonMetrics`): the daemon reports to it and asks it to
serve the endpoint the configuration describes.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from core.config import ConfigError
from core.config import Metrics as MetricsSettings
from scheduler.crawl_process import report_entry
from storage.models import HEALTH_STATES

log = logging.getLogger("countywatch.daemon")

StartResponse = Callable[..., Any]


class DaemonMetrics:
    """Counters and gauges for crawl runs, articles, alerts, deliveries, source health and job errors."""

    def __init__(self) -> None:
        self.server: MetricsServer | None = None  # the endpoint, while `serve` has it running
        self.registry = CollectorRegistry()
        r = self.registry
        self.crawl_runs = Counter(
            "countywatch_crawl_runs", "Crawl runs by source and outcome.", ["source", "status"], registry=r
        )
        self.crawl_duration = Gauge(
            "countywatch_crawl_last_duration_seconds",
            "Duration of the last crawl run.",
            ["source"],
            registry=r,
        )
        self.crawl_last_success = Gauge(
            "countywatch_crawl_last_success_timestamp_seconds",
            "When the last successful crawl run of a source finished.",
            ["source"],
            registry=r,
        )
        self.pages = Counter("countywatch_pages_fetched", "Pages fetched by crawls.", ["source"], registry=r)
        self.articles = Counter(
            "countywatch_articles",
            "Articles stored, by outcome (new, changed).",
            ["source", "outcome"],
            registry=r,
        )
        self.alerts = Gauge("countywatch_alerts", "Alerts in the outbox, by kind.", ["kind"], registry=r)
        self.deliveries = Counter(
            "countywatch_deliveries", "Digest deliveries by result (sent, failed).", ["result"], registry=r
        )
        self.source_health = Gauge(
            "countywatch_source_health",
            "1 for the current health state of each source, 0 for the others.",
            ["source", "state"],
            registry=r,
        )
        self.job_errors = Counter(
            "countywatch_job_errors",
            "Scheduler jobs that raised or were missed.",
            ["job", "kind"],
            registry=r,
        )

    def serve(self, settings: MetricsSettings) -> None:
        """Serve /metrics as `settings` say (nothing unless enabled); ConfigError in one line if it cannot."""
        if not settings.enabled:
            return
        token = os.environ.get(settings.token_env or "", "")
        if not token:
            raise ConfigError(
                f"metrics.enabled is true but no token: set the environment variable {settings.token_env}"
            )
        try:
            self.server = MetricsServer(self.registry, token, settings.host, settings.port)
        except OSError as exc:
            raise ConfigError(
                f"metrics: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}"
            ) from None
        self.server.start()
        log.info("metrics on http://%s:%d/metrics", settings.host, self.server.port)

    def close(self) -> None:
        """Stop serving /metrics (nothing when not serving)."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    def observe_crawl(
        self, source: str, status: str, duration: float, report: Mapping[str, Any] | None
    ) -> None:
        """Count one crawl run and what its `countywatch crawl --json` report says of the source."""
        self.crawl_runs.labels(source, status).inc()
        self.crawl_duration.labels(source).set(duration)
        if status == "ok":
            self.crawl_last_success.labels(source).set_to_current_time()
        entry = report_entry(report, source)
        if entry is None:
            return
        self.pages.labels(source).inc(_count(entry, "list_pages") + _count(entry, "articles_fetched"))
        self.articles.labels(source, "new").inc(_count(entry, "new"))
        self.articles.labels(source, "changed").inc(_count(entry, "changed"))

    def observe_deliveries(self, sent: int, failed: int) -> None:
        """Count delivered and failed digests."""
        self.deliveries.labels("sent").inc(sent)
        self.deliveries.labels("failed").inc(failed)

    def set_health(self, states: Iterable[tuple[str, str]]) -> None:
        """Set the health gauge from (source, state) pairs."""
        for source, state in states:
            for candidate in {*HEALTH_STATES, state}:
                self.source_health.labels(source, candidate).set(1 if candidate == state else 0)

    def set_alerts(self, counts: Mapping[str, int]) -> None:
        """Set the alert gauge from {kind: number of alerts}."""
        for kind, number in counts.items():
            self.alerts.labels(kind).set(number)

    def job_error(self, job_id: str, kind: str) -> None:
        """Count a job that raised (kind `error`) or was missed (kind `missed`)."""
        self.job_errors.labels(job_id, kind).inc()


def _count(entry: Mapping[str, Any], key: str) -> int:
    value = entry.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def bearer_auth(app: Callable[..., Iterable[bytes]], token: str) -> Callable[..., Iterable[bytes]]:
    """Wrap a WSGI app so only requests with `Authorization: Bearer <token>` reach it.

    The scheme is matched without regard to case, as RFC 9110 says auth schemes are; the token
    exactly, in constant time.
    """
    expected = token.encode()

    def guarded(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            start_response(
                "401 Unauthorized",
                [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("WWW-Authenticate", 'Bearer realm="metrics"'),
                ],
            )
            return [b"unauthorized\n"]
        return app(environ, start_response)

    return guarded


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every 15 s would flood the log; errors still surface through the app."""


class MetricsServer:
    """The /metrics endpoint in a background thread; `port=0` picks a free port (see `.port`)."""

    def __init__(
        self, registry: CollectorRegistry, token: str, host: str = "127.0.0.1", port: int = 9464
    ) -> None:
        if not token:
            raise ValueError("the metrics endpoint needs a bearer token (metrics.token_env)")
        self._server = make_server(
            host, port, bearer_auth(make_wsgi_app(registry), token), ThreadingWSGIServer, _QuietHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Start serving."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
