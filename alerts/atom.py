"""Atom 1.0 feeds (RFC 4287) of the alerts one subscription receives: new, changed (with the diff)
and withdrawn announcements, and source health for operators.

Entry ids are tag: URIs (RFC 4151) made from the alerts' idempotency keys, so an entry keeps its id
across runs, servers and the `countywatch feed` file. The XML is built with lxml, which escapes
every value; the HTML inside each entry comes from an autoescaped digest template.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from urllib.parse import quote

from jinja2 import Environment, PackageLoader
from lxml import etree
from sqlalchemy.orm import Session

from alerts.digest import UNTITLED, matches, summarize
from alerts.render import safe_href, template_environment
from core.config import Subscription
from storage.models import ALERT_KINDS
from storage.outbox import DigestAlert, recent_alerts

ATOM_NS = "http://www.w3.org/2005/Atom"
# tag: URI authority (RFC 4151): a name and the year the scheme was fixed; never change it, or
# every reader sees every entry again.
TAG_AUTHORITY = "countywatch,2026"
# A feed holds the newest alerts of this window, at most `limit` of them.
FEED_WINDOW = timedelta(days=90)
_MAX_BATCH = 1000
_KIND_TITLES = {"new": "新公告", "changed": "已变更", "withdrawn": "已撤回", "health": "站点状态"}


def tag_uri(specific: str) -> str:
    """A tag: URI under countywatch's authority; characters outside the URI syntax percent-encoded."""
    return f"tag:{TAG_AUTHORITY}:{quote(specific, safe=':/')}"


def entry_id(alert_key: str) -> str:
    """The stable Atom id of the entry for the alert with this idempotency key."""
    return tag_uri(f"alert/{alert_key}")


def feed_id(subscription: str) -> str:
    """The stable Atom id of a subscription's feed."""
    return tag_uri(f"feed/{subscription}")


def feed_alerts(
    session: Session, subscription: Subscription, *, limit: int, now: datetime
) -> list[DigestAlert]:
    """The newest alerts (at most `limit`, within FEED_WINDOW) the subscription receives, newest first."""
    start = now - FEED_WINDOW
    out: list[DigestAlert] = []
    before: tuple[datetime, int] | None = None
    # Most subscriptions want most alerts: ask for a few more than needed, then for more each round.
    size = limit + 10
    while len(out) < limit:
        batch = recent_alerts(session, kinds=ALERT_KINDS, before=before, limit=size)
        inside = [a for a in batch if a.created_at >= start]
        out += [a for a in inside if matches(subscription, a)]
        if len(inside) < size:
            break
        before = (batch[-1].created_at, batch[-1].id)
        size = min(size * 2, _MAX_BATCH)
    return out[:limit]


@cache
def _environment() -> Environment:
    return template_environment(PackageLoader("alerts", "templates"), autoescape=True)


def entry_title(alert: DigestAlert) -> str:
    """`新公告：<title>`, `已变更：…`, `已撤回：…`, or `站点状态：<source> <health>`."""
    label = _KIND_TITLES.get(alert.kind, alert.kind)
    if alert.article is None:
        state = (alert.payload or {}).get("health") or ""
        return f"{label}：{alert.source_name or '?'} {state}".strip()
    return f"{label}：{alert.article.title or UNTITLED}"


def _diff(alert: DigestAlert) -> list[str]:
    diff = (alert.payload or {}).get("diff") or []
    lines = diff.split("\n") if isinstance(diff, str) else diff
    return [str(line) for line in lines if str(line).strip()]


def entry_html(alert: DigestAlert, page_url: str | None) -> str:
    """The entry's content: summary (new), diff (changed), note (withdrawn) or health message."""
    article = alert.article
    return (
        _environment()
        .get_template("feed_entry.html.j2")
        .render(
            alert=alert,
            article=article,
            summary=summarize(article.text) if article is not None else "",
            diff=_diff(alert),
            payload=alert.payload or {},
            page_url=page_url,
        )
    )


def _text(parent: etree._Element, tag: str, value: str, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    element.text = value
    return element


def _stamp(value: datetime) -> str:
    # RFC 3339 date-time with an explicit offset, as RFC 4287 section 3.3 requires.
    return value.isoformat(timespec="seconds")


def render_feed(
    subscription: Subscription,
    alerts: Sequence[DigestAlert],
    *,
    now: datetime,
    self_url: str | None = None,
    page_url: str | None = None,
) -> bytes:
    """The Atom document (UTF-8 bytes). `page_url` is the web page's base, to link each article's page."""
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "zh-CN")
    _text(feed, "id", feed_id(subscription.name))
    _text(feed, "title", f"countywatch 教育公告 · {subscription.name}")
    _text(feed, "subtitle", "新公告、变更与撤回（订阅「" + subscription.name + "」）")
    _text(feed, "updated", _stamp(max((a.created_at for a in alerts), default=now)))
    author = etree.SubElement(feed, f"{{{ATOM_NS}}}author")
    _text(author, "name", "countywatch")
    _text(feed, "generator", "countywatch")
    if self_url:
        etree.SubElement(feed, f"{{{ATOM_NS}}}link", rel="self", type="application/atom+xml", href=self_url)
    if page_url:
        etree.SubElement(feed, f"{{{ATOM_NS}}}link", rel="alternate", type="text/html", href=page_url)
    for alert in alerts:
        entry = etree.SubElement(feed, f"{{{ATOM_NS}}}entry")
        _text(entry, "id", entry_id(alert.key))
        _text(entry, "title", entry_title(alert))
        _text(entry, "updated", _stamp(alert.created_at))
        _text(entry, "published", _stamp(alert.created_at))
        article = alert.article
        article_page = f"{page_url.rstrip('/')}/articles/{article.id}" if page_url and article else None
        if article is not None and safe_href(article.url) != "#":
            etree.SubElement(entry, f"{{{ATOM_NS}}}link", rel="alternate", type="text/html", href=article.url)
        if article_page:
            etree.SubElement(entry, f"{{{ATOM_NS}}}link", rel="related", type="text/html", href=article_page)
        for category in article.categories if article is not None else []:
            etree.SubElement(entry, f"{{{ATOM_NS}}}category", term=category)
        etree.SubElement(entry, f"{{{ATOM_NS}}}category", term=alert.kind, scheme=tag_uri("kind"))
        _text(entry, "content", entry_html(alert, article_page), type="html")
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
