"""Rendering a digest as plain text, HTML (for email) and Markdown (for chat bots).

Templates live in `alerts/templates/`. HTML is autoescaped and carries its styles inline because mail
clients drop `<style>` blocks. Chat bots cap message sizes, so `render_markdown` can shorten a
digest to fit a byte budget, ending it with an "N more" line and a link to the full digest.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from typing import Literal
from urllib.parse import quote, urlsplit

from jinja2 import BaseLoader, Environment, PackageLoader, StrictUndefined

from alerts.model import Digest
from core.timezone import CHINA_TZ

MarkdownFlavor = Literal["markdown", "slack"]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#~|!])")
_TEMPLATES: dict[MarkdownFlavor, str] = {"markdown": "digest.md.j2", "slack": "digest.slack.j2"}


def format_when(value: datetime) -> str:
    """A time as `2024-04-19 08:53` in China Standard Time (naive times are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def format_pubdate(value: str) -> str:
    """An ISO publication date shown to the minute: `2024-04-19T08:53:55+08:00` -> `2024-04-19 08:53`."""
    return value[:16].replace("T", " ")


def safe_href(url: str) -> str:
    """The URL when it is http(s), else `#`: a hostile `javascript:` link never reaches a reader."""
    return url if urlsplit(url.strip()).scheme.lower() in ("http", "https") else "#"


def markdown_text(value: str) -> str:
    """Text made inert in Markdown: punctuation that forms markup is escaped, `<`/`>` become entities."""
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", value)


def markdown_url(url: str) -> str:
    """A link target that cannot break out of `(...)`: unsafe schemes dropped, specials percent-encoded."""
    return quote(safe_href(url), safe=":/?#=&%+,;@!$'*~.-_")


def slack_text(value: str) -> str:
    """Text escaped the way Slack's mrkdwn requires (`&`, `<`, `>`)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_url(url: str) -> str:
    """A link target for `<url|text>`: unsafe schemes dropped, `|` and `>` percent-encoded."""
    return quote(safe_href(url), safe=":/?#=&%+,;@!$'*~.-_()")


def template_environment(loader: BaseLoader, *, autoescape: bool) -> Environment:
    """A Jinja2 environment with the digests' settings and filters (times in China time, safe links)."""
    env = Environment(
        loader=loader,
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        when=format_when,
        pubdate=format_pubdate,
        safe_href=safe_href,
        md=markdown_text,
        mdurl=markdown_url,
        slack=slack_text,
        slackurl=slack_url,
    )
    return env


@cache
def _environment(autoescape: bool) -> Environment:
    return template_environment(PackageLoader("alerts", "templates"), autoescape=autoescape)


def _tidy(text: str) -> str:
    # Conditional blocks leave runs of blank lines; one blank line between sections is enough.
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def render_text(digest: Digest) -> str:
    """The digest as plain text (the text part of the email)."""
    return _tidy(_environment(False).get_template("digest.txt.j2").render(digest=digest))


def render_html(digest: Digest) -> str:
    """The digest as a complete HTML document with inline styles; every value is escaped."""
    return _environment(True).get_template("digest.html.j2").render(digest=digest)


def _render_markdown(digest: Digest, flavor: MarkdownFlavor) -> str:
    return _tidy(_environment(False).get_template(_TEMPLATES[flavor]).render(digest=digest))


def render_markdown(
    digest: Digest, *, flavor: MarkdownFlavor = "markdown", max_bytes: int | None = None
) -> str:
    """The digest as chat Markdown (or Slack mrkdwn), shortened to at most `max_bytes` of UTF-8.

    When the whole digest does not fit, the first items that do are kept and a last line says how
    many more there are, with the digest's link when it has one.
    """
    full = _render_markdown(digest, flavor)
    if max_bytes is None or len(full.encode()) <= max_bytes:
        return full
    # Binary search for the most items that fit: rendering is cheap, and sizes grow with items.
    low, high = 0, digest.item_count
    best = _render_markdown(digest.shortened(0), flavor)
    while low <= high:
        middle = (low + high) // 2
        candidate = _render_markdown(digest.shortened(middle), flavor)
        if len(candidate.encode()) <= max_bytes:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    encoded = best.encode()
    if len(encoded) > max_bytes:
        # Even the header alone is too long (absurdly small budget): cut at a character boundary.
        best = encoded[:max_bytes].decode(errors="ignore")
    return best
