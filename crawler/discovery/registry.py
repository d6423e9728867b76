"""The discovery strategies, most specific first, and reading a list page with all of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import lxml.html
from lxml import etree

from core.timezone import CHINA_TZ
from crawler.discovery import (
    Discovery,
    Form,
    ListPage,
    NextPage,
    Strategy,
    advertised_feeds,
    dedecms,
    hanweb,
    pager,
    site_cluster,
    trs,
)
from crawler.discovery.links import LinkRules, ListLink, discover_links
from crawler.discovery.listdates import infer_years

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


def list_page(html: str, url: str, form: Form = ()) -> ListPage:
    """The page with its parsed tree (None when the text does not parse as HTML).

    `form`: the POST fields the page was asked for with (a list-data answer), empty for a GET.
    """
    root: lxml.html.HtmlElement | None
    try:
        root = lxml.html.fromstring(html) if html.strip() else None
    except (etree.ParserError, ValueError):
        root = None
    return ListPage(url=url, html=html, root=root, form=form)


def discover(page: ListPage, strategies: tuple[Strategy, ...] = STRATEGIES) -> Discovery:
    """What every strategy finds on the page."""
    found = Discovery()
    for strategy in strategies:
        fragments = strategy.fragments(page)
        feeds = strategy.feeds(page)
        found_next = strategy.next_page(page) if found.next_page is None else None
        following = NextPage(found_next) if isinstance(found_next, str) else found_next
        if following is not None and (following.url, following.form) == (
            page.url.split("#", 1)[0],
            page.form,
        ):
            following = None
        if fragments or feeds or following:
            found.recognised.append(strategy.name)
        found.fragments += fragments
        found.feeds += [f for f in feeds if f not in found.feeds]
        if following is not None and found.next_page is None:
            found.next_page, found.next_form = following.url, following.form
    return found


def read_list(
    html: str,
    url: str,
    rules: LinkRules = NO_RULES,
    *,
    in_scope: Callable[[str], bool] | None = None,
    form: Form = (),
    today: date | None = None,
) -> ListReading:
    """The article links of a list page (its markup and the strategies' fragments) and its discovery.

    `form`: the POST fields the page was asked for with (a list-data answer), empty for a GET.
    A date the list shows without its year gets one from the list around it and `today` (China
    time; default: now), never a future one (`crawler.listdates.infer_years`).
    """
    page = list_page(html, url, form)
    discovery = discover(page)
    links = discover_links(html, url, rules, in_scope=in_scope, tree=page.root)
    position = {link.url: n for n, link in enumerate(links)}
    for fragment in discovery.fragments:
        for link in discover_links(fragment, url, rules, in_scope=in_scope):
            n = position.get(link.url)
            if n is None:
                position[link.url] = len(links)
                links.append(link)
            elif links[n].date is None and link.date is not None:
                # The raw page lost the record's structure (e.g. an XML answer): the fragment's date.
                links[n] = ListLink(url=link.url, text=links[n].text or link.text, date=link.date)
    dates = infer_years([link.date for link in links], today or datetime.now(CHINA_TZ).date())
    links = [
        link if link.date == found else ListLink(url=link.url, text=link.text, date=found)
        for link, found in zip(links, dates, strict=True)
    ]
    return ListReading(links=links, discovery=discovery)
