"""Which attachment files (附件) can be read here, and what reading one gives.

Deciding whether to fetch a file needs only its URL; reading it needs the readers of
`crawler.files.attachment_text` (pypdf, python-docx, openpyxl, xlrd), which only the extraction
workers import (crawler.runtime.pool_worker). This module is what the crawl process itself needs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# Extensions whose files a reader here understands (DOC and WPS only with catdoc).
SPREADSHEET_EXTENSIONS = frozenset({"xls", "et"})
WORD_EXTENSIONS = frozenset({"doc", "wps"})
READABLE_EXTENSIONS = frozenset({"pdf", "docx", "xlsx", "txt"}) | SPREADSHEET_EXTENSIONS | WORD_EXTENSIONS


@dataclass(frozen=True, slots=True)
class AttachmentText:
    """What reading a file gave: its text (possibly empty), the format found, flags and an error."""

    text: str
    kind: str  # pdf, docx, xlsx, xls, doc, txt, html, unknown
    flags: list[str] = field(default_factory=list)  # unreadable, text_cut
    error: str | None = None


def extension(url: str) -> str:
    """The lower-cased extension of a URL's path ("" when it has none)."""
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def can_read(url: str) -> bool:
    """Whether a file under this URL is worth fetching: a reader here understands its kind."""
    ext = extension(url)
    if ext in WORD_EXTENSIONS:
        return catdoc_available()
    return ext in READABLE_EXTENSIONS


def catdoc_available() -> bool:
    """Whether the `catdoc` tool (Debian package catdoc) is installed."""
    return shutil.which("catdoc") is not None
