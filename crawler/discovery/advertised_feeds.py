"""Feeds a list page advertises: `<link rel="alternate" type="application/rss+xml|atom+xml">`.

Newspapers and some county portals put their column's RSS or Atom feed in the page head. A feed
gives dated entries, so it is fetched as a feed of the source (once per run; the spider checks
that it is on a host of the source).
"""

from __future__ import annotations

from urllib.parse import urljoin

from crawler.discovery import ListPage, Strategy

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})


def _feeds(page: ListPage) -> list[str]:
    if page.root is None:
        return []
    found: list[str] = []
    for link in page.root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" in rel and kind in FEED_TYPES and href:
            url = urljoin(page.url, href).split("#", 1)[0]
            if url not in found:
                found.append(url)
    return found


STRATEGY = Strategy("advertised_feeds", __doc__ or "", feeds=_feeds)
