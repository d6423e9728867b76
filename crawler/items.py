"""What the spider hands to the item pipelines."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.article import Article


@dataclass(slots=True)
class PageItem:
    """A fetched article page, to be extracted (ExtractPipeline) and stored (StorePipeline)."""

    source: str
    url: str  # where the page was found, after redirects
    requested_url: str  # the link that was followed
    body: bytes
    http_charset: str | None = None
    list_date: str | None = None  # the date the list page, feed or sitemap showed beside the link
    known: bool = False  # a re-check of a stored article
    article: Article | None = None  # set by ExtractPipeline


@dataclass(slots=True)
class GoneItem:
    """A known article that answered 404/410, or came back as a "deleted" notice.

    Storage counts a 404/410 and withdraws the article on the second time; a deleted notice
    (`status` storage.repository.DELETED_NOTICE) withdraws it at once.
    """

    source: str
    url: str
    status: int


@dataclass(slots=True)
class CheckedItem:
    """A known article that answered 304 Not Modified to its re-check: storage re-schedules it."""

    source: str
    url: str
