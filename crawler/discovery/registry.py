"""The discovery strategies, most specific first, and reading a list page with all of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import lxml.html
from lxml import etree

from crawler.discovery import (
    Discovery,
    ListPage,
    Strategy,
    advertised_feeds,
    dedecms,
    hanweb,
    pager,
    site_cluster,
    trs,
)
from crawler.discovery.links import LinkRules, ListLink, discover_links

# Order matters for the next page only: the first strategy that knows one wins, so a CMS's own
# pager is preferred to the generic reading of pager links.
STRATEGIES: tuple[Strategy, ...] = (
    hanweb.STRATEGY,
    trs.STRATEGY,
    site_cluster.STRATEGY,
    dedecms.STRATEGY,
    pager.STRATEGY,
    advertised_feeds.STRATEGY,
)


NO_RULES = LinkRules()


@dataclass(slots=True)
class ListReading:
    """A list page read: its article links and what the strategies found."""

    links: list[ListLink]
    discovery: Discovery


def list_page(html: str, url: str) -> ListPage:
    """The page with its parsed tree (None when the text does not parse as HTML)."""
    root: lxml.html.HtmlElement | None
    try:
        root = lxml.html.fromstring(html) if html.strip() else None
    except (etree.ParserError, ValueError):
        root = None
    return ListPage(url=url, html=html, root=root)


def discover(page: ListPage, strategies: tuple[Strategy, ...] = STRATEGIES) -> Discovery:
    """What every strategy finds on the page."""
    found = Discovery()
    for strategy in strategies:
        fragments = strategy.fragments(page)
        feeds = strategy.feeds(page)
        following = strategy.next_page(page) if found.next_page is None else None
        if following == page.url.split("#", 1)[0]:
            following = None
        if fragments or feeds or following:
            found.recognised.append(strategy.name)
        found.fragments += fragments
        found.feeds += [f for f in feeds if f not in found.feeds]
        found.next_page = found.next_page or following
    return found


def read_list(
    html: str,
    url: str,
    rules: LinkRules = NO_RULES,
    *,
    in_scope: Callable[[str], bool] | None = None,
) -> ListReading:
    """The article links of a list page (its markup and the strategies' fragments) and its discovery."""
    page = list_page(html, url)
    discovery = discover(page)
    links = discover_links(html, url, rules, in_scope=in_scope)
    seen = {link.url for link in links}
    for fragment in discovery.fragments:
        for link in discover_links(fragment, url, rules, in_scope=in_scope):
            if link.url not in seen:
                seen.add(link.url)
                links.append(link)
    return ListReading(links=links, discovery=discovery)
