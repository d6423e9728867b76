"""The HTTP side: one threaded server per site, conditional GET, the request log.

Pages are looked up in the site's current pre-rendered map, so serving costs a dict lookup and a
socket write; the network swaps the whole map atomically when it moves to the next cycle. Dynamic
pages are answered from the query string; those in `posted` (Hanweb's dataproxy.jsp) take POSTs
only, with the form read beside the query, and answer a GET with 405, as the real ones do.
"""

from __future__ import annotations

import selectors
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from replica.pages import Page


@dataclass(frozen=True)
class RequestRecord:
    """One request a replica host answered."""

    site: str  # site name, or "offsite" for the host that must never be crawled
    host: str  # host:port the request reached
    method: str
    path: str  # path with query
    status: int
    headers: dict[str, str] = field(hash=False)  # request headers, names lower-cased
    time: float = 0.0
    form: str = ""  # a POST's body (form-encoded)


class RequestLog:
    """A thread-safe log of every request the network answered, for assertions in tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        """Add one record."""
        with self._lock:
            self._records.append(record)

    def records(self, site: str | None = None) -> list[RequestRecord]:
        """A snapshot of the records (of one site when `site` is given)."""
        with self._lock:
            return [r for r in self._records if site is None or r.site == site]

    def paths(self, site: str) -> list[str]:
        """The paths requested on `site`, in order."""
        return [r.path for r in self.records(site)]

    def clear(self) -> None:
        """Forget every record (e.g. between crawl cycles)."""
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.records())


@dataclass
class SiteState:
    """A site's responses in the current cycle, with each page's Last-Modified."""

    pages: dict[str, Page]
    last_modified: dict[str, datetime]
    dynamic: dict[str, Callable[[dict[str, list[str]]], Page]] = field(default_factory=dict)
    fallback: Page | None = None  # answer for every unknown path (the off-domain host)
    posted: frozenset[str] = frozenset()  # dynamic paths that answer POSTs only


NOT_FOUND = Page(404, "<html><body><h1>404</h1><p>页面不存在</p></body></html>".encode(), conditional=False)
NOT_ALLOWED = Page(405, b"<html><body><h1>405 Method Not Allowed</h1></body></html>", conditional=False)


class SiteServer(ThreadingHTTPServer):
    """A threaded HTTP server for one site (or the off-domain host)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(
        self,
        address: tuple[str, int],
        *,
        site: str,
        state: Callable[[], SiteState],
        log: RequestLog,
        slow_seconds: float,
        stopping: threading.Event,
    ) -> None:
        super().__init__(address, _Handler)
        self.site = site
        self.state = state
        self.log = log
        self.slow_seconds = slow_seconds
        self.stopping = stopping

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the address (75 ms per site)."""
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    @property
    def base_url(self) -> str:
        """http://host:port of this server."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def _not_modified(page: Page, last_modified: datetime | None, headers: dict[str, str]) -> bool:
    if not page.conditional or page.status != 200:
        return False
    inm = headers.get("if-none-match")
    if inm is not None:
        return page.etag in [tag.strip().removeprefix("W/") for tag in inm.split(",")] or inm.strip() == "*"
    ims = headers.get("if-modified-since")
    if ims is not None and last_modified is not None:
        try:
            return parsedate_to_datetime(ims) >= last_modified
        except (TypeError, ValueError):
            return False
    return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 15  # idle keep-alive connections end, so their threads do not outlive the network
    # Headers and body go out in two writes; with Nagle on, each keep-alive response waits ~40 ms.
    disable_nagle_algorithm = True
    server: SiteServer
    server_version = "nginx"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default stderr access log; the RequestLog records every request."""

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._answer(send_body=True, form=self.rfile.read(length).decode("utf-8", "replace"))

    def _lookup(self, state: SiteState, form: str | None) -> Page:
        parts = urlsplit(self.path)
        if (form is not None) != (parts.path in state.posted):
            # A POST to a page, or a GET of a page that takes POSTs only.
            known = parts.path in state.posted or self.path in state.pages or parts.path in state.dynamic
            return NOT_ALLOWED if known else state.fallback or NOT_FOUND
        page = state.pages.get(self.path)
        if page is not None:
            return page
        handler = state.dynamic.get(parts.path)
        if handler is not None:
            return handler({**parse_qs(parts.query), **parse_qs(form or "")})
        return state.fallback or NOT_FOUND

    def _answer(self, *, send_body: bool, form: str | None = None) -> None:
        srv = self.server
        headers = {k.lower(): v for k, v in self.headers.items()}
        state = srv.state()
        page = self._lookup(state, form)
        last_modified = state.last_modified.get(self.path)
        status = 304 if _not_modified(page, last_modified, headers) else page.status
        srv.log.append(
            RequestRecord(
                srv.site,
                headers.get("host", ""),
                self.command,
                self.path,
                status,
                headers,
                time.time(),
                form or "",
            )
        )
        if page.slow and status != 304 and srv.stopping.wait(srv.slow_seconds):
            return
        try:
            self.send_response(status)
            if status == 405:
                self.send_header("Allow", "POST" if form is None else "GET, HEAD")
            if status != 304:
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(page.body)))
            else:
                self.send_header("Content-Length", "0")
            if page.conditional and page.status == 200:
                self.send_header("ETag", page.etag)
                if last_modified is not None:
                    self.send_header("Last-Modified", format_datetime(last_modified, usegmt=True))
            for name, value in page.headers:
                self.send_header(name, value)
            self.end_headers()
            if send_body and status != 304:
                self.wfile.write(page.body)
        except (BrokenPipeError, ConnectionResetError):
            # Crawlers abort huge or unwanted downloads; that is their right, not our error.
            self.close_connection = True


def serve_all(servers: list[SiteServer], stopping: threading.Event, poll: float = 0.2) -> None:
    """Accept connections for every server in one thread until `stopping` is set.

    One selector over all listening sockets replaces a polling thread per site, which matters
    when a generated network runs hundreds of sites beside the crawler being measured.
    """
    with selectors.DefaultSelector() as selector:
        for server in servers:
            server.timeout = 0  # handle_request() must not wait: the selector said it is ready
            selector.register(server, selectors.EVENT_READ, server)
        while not stopping.is_set():
            for key, _ in selector.select(timeout=poll):
                server = key.data
                assert isinstance(server, SiteServer)
                server.handle_request()
