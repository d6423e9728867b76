"""Chat-bot webhooks: DingTalk, WeCom, Feishu/Lark and Slack.

Each bot caps its message size, so the digest is rendered as Markdown shortened to that bot's budget
(an "N more" line and the digest's link end a shortened message). Bot URLs hold their access token
and come from an environment variable; errors show them redacted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from abc import abstractmethod
from typing import Any, ClassVar
from urllib.parse import quote_plus

from alerts.channels.base import (
    IDEMPOTENCY_HEADER,
    Channel,
    check_bot_reply,
    json_body,
    post_json,
)
from alerts.model import RenderedDigest
from alerts.render import MarkdownFlavor, render_markdown
from core.config import BotChannel, read_secret


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's `sign`: base64 HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret (unquoted)."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's `sign`: base64 HMAC-SHA256 of an empty message keyed by "timestamp\\nsecret"."""
    mac = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def split_lines(text: str, limit: int) -> list[str]:
    """Text cut at line ends into pieces of at most `limit` characters (a longer line is cut hard)."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current.strip():
                pieces.append(current)
            current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            if current.strip():
                pieces.append(current)
            current = ""
        current += line
    if current.strip():
        pieces.append(current)
    return pieces


class _Bot(Channel):
    max_bytes: ClassVar[int]
    flavor: ClassVar[MarkdownFlavor] = "markdown"
    code_keys: ClassVar[tuple[str, ...]] = ("errcode",)

    def __init__(self, name: str, config: BotChannel) -> None:
        super().__init__(name)
        self.config = config

    def markdown(self, rendered: RenderedDigest) -> str:
        """The digest as this bot's Markdown, within its size limit."""
        return render_markdown(rendered.digest, flavor=self.flavor, max_bytes=self.max_bytes)

    def url(self) -> str:
        """The bot's webhook URL (from its environment variable)."""
        return read_secret(self.config.url_env) or ""

    @abstractmethod
    def payload(self, rendered: RenderedDigest) -> dict[str, Any]:
        """The JSON body this bot expects."""

    def send(self, rendered: RenderedDigest) -> None:
        url = self.url()
        _status, reply = post_json(
            url,
            json_body(self.payload(rendered)),
            timeout=self.config.timeout,
            headers={IDEMPOTENCY_HEADER: rendered.idempotency_key},
            what=f"{self.kind} {self.name!r}",
        )
        if self.code_keys:
            check_bot_reply(reply, what=f"{self.kind} {self.name!r}", url=url, code_keys=self.code_keys)


class DingTalkBot(_Bot):
    """A DingTalk (钉钉) group robot, markdown message.

    Keys: url_env (the robot's webhook URL with its access_token), secret_env (the 加签 secret; the
    request then carries timestamp and sign query parameters), timeout. Messages are kept under 20 KB.
    """

    kind = "dingtalk"
    max_bytes = 20000

    def url(self) -> str:
        url = super().url()
        secret = read_secret(self.config.secret_env)
        if not secret:
            return url
        timestamp = int(time.time() * 1000)
        joiner = "&" if "?" in url else "?"
        return f"{url}{joiner}timestamp={timestamp}&sign={quote_plus(dingtalk_sign(secret, timestamp))}"

    def payload(self, rendered: RenderedDigest) -> dict[str, Any]:
        return {
            "msgtype": "markdown",
            "markdown": {"title": rendered.subject, "text": self.markdown(rendered)},
        }


class WeComBot(_Bot):
    """A WeCom (企业微信) group robot, markdown message.

    Keys: url_env (the robot's webhook URL with its key), timeout. WeCom caps markdown at 4096 bytes,
    so a long digest is shortened and ends with how many items were left out.
    """

    kind = "wecom"
    max_bytes = 4096

    def payload(self, rendered: RenderedDigest) -> dict[str, Any]:
        return {"msgtype": "markdown", "markdown": {"content": self.markdown(rendered)}}


class FeishuBot(_Bot):
    """A Feishu / Lark (飞书) custom bot, interactive card with a Markdown body.

    Keys: url_env (the bot's webhook URL), secret_env (the signature-verification secret; the body
    then carries timestamp and sign), timeout. Cards are kept well under Feishu's 30 KB limit.
    """

    kind = "feishu"
    max_bytes = 20000
    code_keys = ("code", "StatusCode")

    def payload(self, rendered: RenderedDigest) -> dict[str, Any]:
        card = {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": rendered.subject}, "template": "blue"},
            "elements": [{"tag": "markdown", "content": self.markdown(rendered)}],
        }
        payload: dict[str, Any] = {"msg_type": "interactive", "card": card}
        secret = read_secret(self.config.secret_env)
        if secret:
            timestamp = int(time.time())
            payload = {"timestamp": str(timestamp), "sign": feishu_sign(secret, timestamp), **payload}
        return payload


class SlackBot(_Bot):
    """A Slack incoming webhook, Block Kit sections in mrkdwn.

    Keys: url_env (the incoming-webhook URL), timeout. Slack limits a section to 3000 characters, so
    the digest is split across sections (and shortened past about 12 KB).
    """

    kind = "slack"
    max_bytes = 12000
    flavor = "slack"
    code_keys = ()
    section_chars = 3000

    def payload(self, rendered: RenderedDigest) -> dict[str, Any]:
        header = {"type": "header", "text": {"type": "plain_text", "text": rendered.subject[:150]}}
        sections = [
            {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
            for piece in split_lines(self.markdown(rendered), self.section_chars)
        ]
        return {"text": rendered.subject, "blocks": [header, *sections]}
