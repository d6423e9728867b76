"""Delivery channels: a registry keyed by the `type` of a channel in `notify.channels`.

Each class's docstring is its user-facing help; `channel_kinds()` lists what can be configured.
"""

from __future__ import annotations

from alerts.channels.base import Channel, DeliveryError, redact_url
from alerts.channels.bots import DingTalkBot, FeishuBot, SlackBot, WeComBot
from alerts.channels.email import EmailSender
from alerts.channels.webhook import WebhookSender
from core.config import BotChannel, EmailChannel, WebhookChannel

REGISTRY: dict[str, type[Channel]] = {
    cls.kind: cls for cls in (EmailSender, WebhookSender, DingTalkBot, WeComBot, FeishuBot, SlackBot)
}

__all__ = [
    "REGISTRY",
    "Channel",
    "DeliveryError",
    "channel_help",
    "channel_kinds",
    "make_channel",
    "redact_url",
]


def channel_kinds() -> list[str]:
    """The channel types that can be configured, sorted."""
    return sorted(REGISTRY)


def channel_help(kind: str) -> str:
    """The user-facing help of one channel type (its class docstring)."""
    return (REGISTRY[kind].__doc__ or "").strip()


def make_channel(name: str, config: EmailChannel | WebhookChannel | BotChannel) -> Channel:
    """The channel object for a configured channel called `name`."""
    cls = REGISTRY[config.type]
    return cls(name, config)  # type: ignore[call-arg]
