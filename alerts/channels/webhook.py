"""The generic JSON webhook (schema and verification in docs/webhook.md)."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import asdict
from datetime import datetime
from typing import Any

from alerts.channels.base import IDEMPOTENCY_HEADER, Channel, json_body, post_json
from alerts.model import Digest, RenderedDigest
from core.config import WebhookChannel, read_secret

SCHEMA = "countywatch.digest/1"
SIGNATURE_HEADER = "X-Countywatch-Signature"
TIMESTAMP_HEADER = "X-Countywatch-Timestamp"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def webhook_payload(rendered: RenderedDigest, sent_at: int) -> dict[str, Any]:
    """The JSON document a webhook receives (`schema` countywatch.digest/1)."""
    digest: Digest = rendered.digest
    return {
        "schema": SCHEMA,
        "idempotency_key": rendered.idempotency_key,
        "sent_at": sent_at,
        "subscription": digest.subscription,
        "since": digest.since.isoformat(),
        "until": digest.until.isoformat(),
        "subject": rendered.subject,
        "new": [_plain(asdict(e)) for e in digest.new],
        "changed": [_plain(asdict(e)) for e in digest.changed],
        "withdrawn": [_plain(asdict(e)) for e in digest.withdrawn],
        "health": [_plain(asdict(e)) for e in digest.health],
        "failing_deliveries": [_plain(asdict(e)) for e in digest.failing],
        "omitted": digest.omitted,
        "link": digest.link,
        "text": rendered.text,
    }


def sign(secret: str, body: bytes) -> str:
    """The signature header value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender(Channel):
    """A JSON POST of the whole digest to your own endpoint (schema: docs/webhook.md).

    Keys: url or url_env, secret_env (signs the body with HMAC-SHA256 in X-Countywatch-Signature),
    headers (extra HTTP headers; none that carries a credential), headers_env (header name ->
    environment variable, for Authorization and other credential headers), timeout. Every request
    carries X-Countywatch-Timestamp (also in the signed body as `sent_at`, so an old request cannot
    be replayed under a new time) and X-Countywatch-Idempotency-Key (the same on every retry of one
    digest, so duplicates can be dropped).
    """

    kind = "webhook"

    def __init__(self, name: str, config: WebhookChannel) -> None:
        super().__init__(name)
        self.config = config

    def send(self, rendered: RenderedDigest) -> None:
        c = self.config
        url = c.url or read_secret(c.url_env) or ""
        secret = read_secret(c.secret_env)
        sent_at = int(time.time())
        body = json_body(webhook_payload(rendered, sent_at))
        secret_headers = {name: read_secret(env) or "" for name, env in c.headers_env.items()}
        headers = {
            **c.headers,
            **secret_headers,
            IDEMPOTENCY_HEADER: rendered.idempotency_key,
            TIMESTAMP_HEADER: str(sent_at),
        }
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, body)
        post_json(url, body, timeout=c.timeout, headers=headers, what=f"webhook {self.name!r}")
