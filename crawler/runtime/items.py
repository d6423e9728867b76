"""What the spider hands to the item pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.article import Article, Attachment


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
    etag: str | None = None  # validators of the answer, for the next conditional re-check
    last_modified: str | None = None
    article: Article | None = None  # set by ExtractPipeline
    # Set by ExtractPipeline when it fetched the article's attachments: SHA-256 -> text, and
    # URL -> (ETag, Last-Modified) of each file's answer.
    attachment_texts: dict[str, str] = field(default_factory=dict)
    attachment_validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


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


@dataclass(slots=True)
class AttachmentItem:
    """A stored article's attachment fetched again on its own (the article's page did not change).

    ExtractPipeline reads its text (`attachment`, `text`); StorePipeline compares its hash with the
    stored one, and a replaced file makes a new version of the article.
    """

    source: str
    article_url: str
    attachment: Attachment  # title and url; sha256, bytes, text_chars and flags once read
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    text: str = ""
