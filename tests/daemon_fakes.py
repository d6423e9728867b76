"""Test doubles for the daemon: a backend that logs what it is asked, a fake crawl command, polling."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from core.config import Config
from scheduler.crawl_process import CrawlOutcome

FAKE_CRAWL = Path(__file__).with_name("fake_crawl.py")
FAKE_CRAWL_CONFIG = Path(__file__).with_name("fake_crawl_config.py")


class RecordingBackend:
    """Writes every call the daemon makes to a JSON-lines file (shared with a daemon subprocess)."""

    def __init__(self, path: Path, health: list[tuple[str, str]] | None = None) -> None:
        self.path = path
        self._health = health or []

    def _log(self, entry: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def record_crawl(self, config: Config, source: str, outcome: CrawlOutcome, started_at: datetime) -> None:
        self._log(
            {"call": "record_crawl", "source": source, "status": outcome.status, "error": outcome.error}
        )

    def deliver(self, config: Config, subscription: str | None, now: datetime) -> tuple[int, int]:
        self._log({"call": "deliver", "subscription": subscription})
        return (1, 0) if subscription else (0, 0)

    def health(self) -> list[tuple[str, str]]:
        return self._health

    def alert_counts(self) -> dict[str, int]:
        return {"new": 1}

    def calls(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines()]


def fake_crawl_command(
    folder: Path, *, reads_config: bool = False
) -> Callable[[str | None, Sequence[str]], list[str]]:
    """A crawl command running tests/fake_crawl.py with its behaviour files in `folder`.

    The sources of one crawl process travel as one comma-joined argument. `reads_config`: first
    read the configuration file the daemon hands the child, as a real crawl does
    (tests/fake_crawl_config.py), and fail as it would on a bad one.
    """

    def command(config_path: str | None, sources: Sequence[str]) -> list[str]:
        if reads_config and config_path is not None:
            return [sys.executable, str(FAKE_CRAWL_CONFIG), str(folder), ",".join(sources), config_path]
        return [sys.executable, str(FAKE_CRAWL), str(folder), ",".join(sources)]

    return command


def runs(folder: Path, source: str) -> list[str]:
    """The start/end lines the fake crawl wrote for `source`."""
    path = folder / f"{source}.runs"
    return path.read_text().splitlines() if path.exists() else []


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class QuietHTTPServer(ThreadingHTTPServer):
    """A loopback HTTP server that does not print the errors of clients that went away."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that does not log each request."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LoopbackEndpoint:
    """A webhook endpoint on 127.0.0.1, served from a thread while the `with` block runs.

    Subclasses build their handler class and call `_serve`; a `release` event, if they have one,
    is set on the way out so that a request held open does not outlive the test.
    """

    release: threading.Event | None = None

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = QuietHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.release is not None:
            self.release.set()
        self.server.shutdown()
        self.server.server_close()


class WebhookReceiver(LoopbackEndpoint):
    """Records the JSON bodies POSTed to it and answers 200 (a webhook endpoint on 127.0.0.1)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                receiver.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self._serve(Handler)
