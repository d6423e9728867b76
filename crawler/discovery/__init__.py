"""Discovery on list pages: a registry of small named strategies, one per CMS family or convention.

A list page is read by generic link discovery (`crawler.discovery.links`) and by every strategy of the
registry (`crawler.discovery.registry.STRATEGIES`). A strategy recognises one way sites publish
lists and may contribute:

- `fragments`: HTML the generic reader cannot see, e.g. Hanweb's list records hidden in a
  `<script type="text/xml">` datastore, read with the same link rules as the page;
- `next_page`: the URL of the list's next page (the first strategy that knows one wins, most
  specific first; the spider still stops at the source's `max_pages`);
- `feeds`: feeds the page advertises (the spider checks their scope).

Adding a CMS is one module here exposing `STRATEGY` (docstring: what it recognises), one entry in
the registry, and one fixture folder under `tests/fixtures/sites/<family>/`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import lxml.html


@dataclass(frozen=True, slots=True)
class ListPage:
    """A decoded list page (or list-data response) and its parsed tree (None if it does not parse)."""

    url: str
    html: str
    root: lxml.html.HtmlElement | None


def no_fragments(page: ListPage) -> list[str]:
    """For strategies whose list items are ordinary page markup."""
    return []


def no_next_page(page: ListPage) -> str | None:
    """For strategies that do not page."""
    return None


def no_feeds(page: ListPage) -> list[str]:
    """For strategies that advertise no feeds."""
    return []


@dataclass(frozen=True, slots=True)
class Strategy:
    """A named discovery strategy; its description is its module's docstring."""

    name: str
    description: str
    fragments: Callable[[ListPage], list[str]] = no_fragments
    next_page: Callable[[ListPage], str | None] = no_next_page
    feeds: Callable[[ListPage], list[str]] = no_feeds


@dataclass(slots=True)
class Discovery:
    """What the strategies found on one list page, and which of them recognised something."""

    fragments: list[str] = field(default_factory=list)
    next_page: str | None = None
    feeds: list[str] = field(default_factory=list)
    recognised: list[str] = field(default_factory=list)
