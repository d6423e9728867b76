"""Attachment links (附件) of a notice: enrolment tables, forms and rules are often only in the file."""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit

from lxml.html import HtmlElement

from crawler.article import Attachment
from crawler.html.headline import squash

ATTACHMENT_EXTENSIONS = frozenset(
    {"pdf", "doc", "docx", "xls", "xlsx", "wps", "et", "zip", "rar", "7z", "ppt", "pptx", "ofd", "txt"}
)
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,5})$")
_GENERIC = re.compile(r"^[\[【(（]?\s*(?:点击)?(?:下载|下載|download|附件)?\s*[\]】)）]?$", re.IGNORECASE)
_CHROME_TAGS = frozenset({"header", "nav", "footer"})
_CHROME_MARKER = re.compile(r"foot|\bnav|menu|header|copyright|bottom|sidebar|\bside")
_ATTACHMENT_LABEL = re.compile(r"^\s*附件\s*\d*\s*[:：.、]?\s*")


def find_attachments(root: HtmlElement, base_url: str | None) -> list[Attachment]:
    """Links to files (PDF, Word, Excel, WPS, archives) under `root`, with absolute URLs, in order."""
    found: list[Attachment] = []
    seen: set[str] = set()
    for anchor in root.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        extension = _extension(href)
        if extension is None or _in_chrome(anchor):
            continue
        url = urljoin(base_url, href) if base_url else href
        if url in seen:
            continue
        seen.add(url)
        title = _ATTACHMENT_LABEL.sub("", squash(anchor.text_content()))
        if _GENERIC.match(title) and "附件" not in squash(_parent_text(anchor)):
            # A bare "[下载]" button in the page chrome (an app, a brochure) is not a notice's file.
            continue
        title = title if title and not _GENERIC.match(title) else _file_name(url)
        found.append(Attachment(title=title, url=url))
    return found


def _in_chrome(anchor: HtmlElement) -> bool:
    """Whether the link sits in the header, navigation or footer (site-wide files, not the notice's)."""
    for ancestor in anchor.iterancestors():
        if ancestor.tag in _CHROME_TAGS:
            return True
        marker = f"{ancestor.get('class', '')} {ancestor.get('id', '')}".lower()
        if _CHROME_MARKER.search(marker):
            return True
    return False


def _parent_text(anchor: HtmlElement) -> str:
    parent = anchor.getparent()
    return parent.text_content()[:200] if parent is not None else ""


def _extension(href: str) -> str | None:
    path = urlsplit(href).path
    match = _EXTENSION.search(path)
    if match and match.group(1).lower() in ATTACHMENT_EXTENSIONS:
        return match.group(1).lower()
    return None


def _file_name(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])
