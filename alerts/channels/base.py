"""What every channel shares: the base class, the error it raises, and a JSON POST that never leaks tokens.

apprise was evaluated for the webhook formats and does not fit: its DingTalk and Feishu plugins post
to hard-wired vendor hosts (no local receiver can be tested), Feishu has no signing at all, and its
JSON plugin cannot add an HMAC signature or idempotency header. The formats are small, so each
channel is a short class over `urllib.request`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from alerts.model import RenderedDigest

IDEMPOTENCY_HEADER = "X-Countywatch-Idempotency-Key"
USER_AGENT = "countywatch/0.1"


class DeliveryError(Exception):
    """A message that could not be delivered; the message is one line and holds no secret."""


def redact_url(url: str) -> str:
    """`scheme://host[:port]/…` — bot and webhook URLs carry tokens in their path or query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port:
        host = f"{host}:{parts.port}"
    tail = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{tail}"


class Channel(ABC):
    """A configured way to deliver digests. Subclasses' docstrings are the user-facing help."""

    kind: ClassVar[str]

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    def send(self, rendered: RenderedDigest) -> None:
        """Deliver one digest, or raise DeliveryError."""


def post_json(
    url: str,
    body: bytes,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    what: str,
) -> tuple[int, bytes]:
    """POST a JSON body; DeliveryError (with the URL redacted) on a network error or non-2xx status."""
    where = f"{what} {redact_url(url)}"
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise DeliveryError(f"{where}: only http and https URLs can be posted to")
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json; charset=utf-8")
    request.add_header("User-Agent", USER_AGENT)
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(1024 * 1024)
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").replace("\n", " ").strip()
        raise DeliveryError(f"{where}: HTTP {exc.code}{': ' + detail if detail else ''}") from None
    except urllib.error.URLError as exc:
        raise DeliveryError(f"{where}: {exc.reason}") from None
    except (TimeoutError, OSError) as exc:
        raise DeliveryError(f"{where}: {exc}") from None


def json_body(payload: Any) -> bytes:
    """Compact UTF-8 JSON (Chinese kept as characters, which bots count by bytes)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def check_bot_reply(body: bytes, *, what: str, url: str, code_keys: tuple[str, ...]) -> None:
    """Bots answer HTTP 200 with an error code in JSON; a non-zero code is a failed delivery."""
    try:
        reply = json.loads(body or b"{}")
    except ValueError:
        raise DeliveryError(f"{what} {redact_url(url)}: reply is not JSON: {body[:100]!r}") from None
    if not isinstance(reply, dict):
        return
    for key in code_keys:
        code = reply.get(key)
        if code not in (None, 0):
            message = reply.get("errmsg") or reply.get("msg") or reply.get("StatusMessage") or ""
            raise DeliveryError(f"{what} {redact_url(url)}: error {code} {message}".strip())
