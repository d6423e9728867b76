"""What the HTML layer already knows about a page before its text is cleaned.

The HTML extractor (`crawler.html.page_reader`) fills a PageHints from meta tags, Open Graph, schema.org,
the headline and the page's metadata line, then hands the main text to the text layer
(`crawler.text.text_reader.extract_text_article`), which cleans it and merges these hints with what it
finds in the text itself. A hint is a value read from structured markup, so it is preferred over a
guess from free text, but a more precise value from the text (a time where the hint has only a
date) wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.article import Attachment


@dataclass(slots=True)
class PageHints:
    """Structured metadata found in the HTML. Every field is optional."""

    title: str | None = None  # headline, already without site suffix or source prefix
    published_at: str | None = None  # ISO 8601 (+08:00) or YYYY-MM-DD
    authors: list[str] = field(default_factory=list)
    source: str | None = None
    editor: str | None = None
    site_name: str | None = None
    publisher: str | None = None
    site_id_code: str | None = None
    section: str | None = None
    keywords: list[str] = field(default_factory=list)
    description: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    is_list_page: bool = False  # the page is a column/list page, not an article
    flags: list[str] = field(default_factory=list)  # flags the HTML layer already knows
