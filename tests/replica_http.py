"""A raw HTTP client for the replica tests: no redirects followed, no exceptions on 4xx/5xx."""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urljoin, urlsplit


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def charset(self) -> str | None:
        return self.headers.get_content_charset()

    def text(self, encoding: str | None = None) -> str:
        return self.body.decode(encoding or self.charset or "utf-8")


def fetch(
    url: str,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    timeout: float = 20,
    form: str | None = None,
) -> Reply:
    """One request to a loopback server; with `form`, a POST of it (form-encoded)."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.hostname.startswith("127."), url  # loopback only
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        sent = dict(headers or {})
        if form is not None:
            method = "POST"
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=form.encode("utf-8") if form is not None else None, headers=sent)
        response = conn.getresponse()
        body = response.read()
        return Reply(response.status, response.headers, body)
    finally:
        conn.close()


_HREF = re.compile(r'href="([^"#]+)"')


def links(base_url: str, html: str) -> list[str]:
    """Absolute URLs of the page's href attributes (javascript: links dropped)."""
    return [
        urljoin(base_url, h.replace("&amp;", "&"))
        for h in _HREF.findall(html)
        if not h.startswith("javascript:")
    ]
