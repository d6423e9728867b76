"""Serving the fixture sites of tests/fixtures/sites/ over HTTP, each on its own loopback address.

A site's `site.yaml` lists what it serves (see tests/fixtures/sites/README.md); anything else
answers 404. Every request is logged, so tests can check what the crawl fetched.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import yaml

SITES = Path(__file__).parent / "fixtures" / "sites"
FIRST_ADDRESS = 31  # 127.0.0.31, .32, …: clear of the replica network's addresses


@dataclass(frozen=True)
class Served:
    """One response of a fixture site."""

    path: str
    query: frozenset[tuple[str, str]]
    body: bytes
    content_type: str


@dataclass(frozen=True)
class FixtureArticle:
    """An article page with the title and date a correct crawl stores for it."""

    path: str
    title: str
    date: str


@dataclass
class FixtureSite:
    """One fixture site as its `site.yaml` describes it."""

    family: str
    about: str
    start_urls: list[str]
    max_pages: int
    served: list[Served]
    articles: list[FixtureArticle]
    base_url: str = ""
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def find(self, raw_path: str) -> Served | None:
        """The response for a request path (with query), or None."""
        parts = urlsplit(raw_path)
        query = set(parse_qsl(parts.query, keep_blank_values=True))
        matches = [s for s in self.served if s.path == parts.path and s.query <= query]
        # The most specific route: `index.html?pageNum=2` before `index.html`.
        return max(matches, key=lambda s: len(s.query), default=None)

    def source(self) -> dict[str, Any]:
        """The site as a countywatch source (configuration dict)."""
        return {
            "name": self.family,
            "kind": "government",
            "start_urls": [self.base_url + path for path in self.start_urls],
            "max_pages": self.max_pages,
            "schedule": "1h",
        }


def _served(folder: Path, entry: dict[str, Any]) -> Served:
    parts = urlsplit(entry["path"])
    return Served(
        path=parts.path,
        query=frozenset(parse_qsl(parts.query, keep_blank_values=True)),
        body=(folder / entry["file"]).read_bytes(),
        content_type=entry["type"],
    )


def load_site(folder: Path) -> FixtureSite:
    """The fixture site in `folder`."""
    data = yaml.safe_load((folder / "site.yaml").read_text(encoding="utf-8"))
    entries = data["pages"] + data["articles"]
    return FixtureSite(
        family=data["family"],
        about=data["about"],
        start_urls=data["start_urls"],
        max_pages=data["max_pages"],
        served=[_served(folder, e) for e in entries],
        articles=[FixtureArticle(a["path"], a["title"], str(a["date"])) for a in data["articles"]],
    )


def load_sites() -> list[FixtureSite]:
    """Every fixture site, in folder order."""
    return [load_site(folder) for folder in sorted(SITES.iterdir()) if (folder / "site.yaml").is_file()]


class _Handler(BaseHTTPRequestHandler):
    server: _SiteServer

    def do_GET(self) -> None:
        site = self.server.site
        with site.lock:
            site.requests.append(self.path)
        served = site.find(self.path)
        if served is None:
            body, status, kind = b"<html><body><h1>404 Not Found</h1></body></html>", 404, "text/html"
        else:
            body, status, kind = served.body, 200, served.content_type
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the site keeps its own request list."""


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], site: FixtureSite) -> None:
        self.site = site
        super().__init__(address, _Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class FixtureSites:
    """Every fixture site served while the context is open."""

    def __init__(self) -> None:
        self.sites = {site.family: site for site in load_sites()}
        self._servers: list[_SiteServer] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Self:
        for n, site in enumerate(self.sites.values()):
            try:
                server = _SiteServer((f"127.0.0.{FIRST_ADDRESS + n}", 0), site)
            except OSError:  # only 127.0.0.1 exists on this system: distinct ports then
                server = _SiteServer(("127.0.0.1", 0), site)
            site.base_url = server.base_url
            thread = threading.Thread(target=server.serve_forever, name=f"fixture-{site.family}", daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
