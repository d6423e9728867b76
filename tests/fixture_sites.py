"""Serving the fixture sites of tests/fixtures/sites/ over HTTP, each on its own loopback address.

A site's `site.yaml` lists what it serves (see tests/fixtures/sites/README.md); anything else
answers 404, and a route asked for with the other method answers 405 (Hanweb's dataproxy.jsp takes
POSTs only). Every request is logged (a POST with its form), so tests can check what the crawl
fetched. Responses carry an ETag and answer a matching If-None-Match with 304, as the static files
and proxies of these CMSs do, so the HTTP cache can be checked against them.
"""

from __future__ import annotations

import hashlib
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
    method: str = "GET"
    form: frozenset[tuple[str, str]] = frozenset()  # POST fields the request must carry

    @property
    def etag(self) -> str:
        """A strong validator of the body."""
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


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
    requests: list[str] = field(default_factory=list)  # paths with query; a POST adds " POST form"
    statuses: list[tuple[str, int]] = field(default_factory=list)  # (request as logged, status)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def routes(self, raw_path: str) -> list[Served]:
        """The responses whose path and query the request matches, whatever its method and form."""
        parts = urlsplit(raw_path)
        query = set(parse_qsl(parts.query, keep_blank_values=True))
        return [s for s in self.served if s.path == parts.path and s.query <= query]

    def find(self, raw_path: str, method: str = "GET", form: str = "") -> Served | None:
        """The response for a request path (with query), method and POST form, or None."""
        fields = set(parse_qsl(form, keep_blank_values=True))
        matches = [s for s in self.routes(raw_path) if s.method == method and s.form <= fields]
        # The most specific route: `index.html?pageNum=2` before `index.html`.
        return max(matches, key=lambda s: len(s.query) + len(s.form), default=None)

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
        method=entry.get("method", "GET"),
        form=frozenset(parse_qsl(entry.get("form", ""), keep_blank_values=True)),
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
        self._answer("GET", "")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._answer("POST", self.rfile.read(length).decode("utf-8", "replace"))

    def _answer(self, method: str, form: str) -> None:
        site = self.server.site
        logged = self.path if method == "GET" else f"{self.path} POST {form}"
        served = site.find(self.path, method, form)
        etag = served.etag if served is not None else None
        if served is None and any(s.method != method for s in site.routes(self.path)):
            body, status, kind = (
                b"<html><body><h1>405 Method Not Allowed</h1></body></html>",
                405,
                "text/html",
            )
        elif served is None:
            body, status, kind = b"<html><body><h1>404 Not Found</h1></body></html>", 404, "text/html"
        elif self.headers.get("If-None-Match") == etag:
            body, status, kind = b"", 304, served.content_type
        else:
            body, status, kind = served.body, 200, served.content_type
        with site.lock:
            site.requests.append(logged)
            site.statuses.append((logged, status))
        self.send_response(status)
        if status == 405:
            self.send_header("Allow", "POST" if method == "GET" else "GET")
        if etag is not None:
            self.send_header("ETag", etag)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the site keeps its own request list."""


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    # As replica.server.SiteServer: the crawl opens up to 8 connections to a site at once, beyond
    # socketserver's default backlog of 5 (with a backlog of 1, a loaded crawl lost a page to a
    # `connection` error every other run). Real servers listen with more.
    request_queue_size = 256

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
