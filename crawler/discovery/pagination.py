"""Finding the next page of a list: `下一页` links, TRS `createPageHTML(...)`, `index_1.html`, `?page=2`.

The generic reading of pager links; CMS-specific pagers live in `crawler.discovery` (the TRS
call is read by `crawler.discovery.trs`, and used here too).

Only the next page is returned, never a jump to the last one: the spider walks a list page by page
and stops at the source's `max_pages`, which bounds calendar and pagination traps.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import lxml.html

from crawler.discovery.trs import trs_next_page

__all__ = ["increment_page_url", "next_page", "trs_next_page"]

_NEXT_TEXTS = frozenset(
    {"下一页", "下页", "后页", "下一页>", "下一页>>", ">", ">>", "›", "»", "next", "next page"}
)
_INDEX_N = re.compile(r"^(?P<stem>[A-Za-z]+)(?:_(?P<n>\d+))?\.(?P<ext>s?html?)$")
_PAGE_PARAMS = ("page", "pageindex", "pagenum", "pageno", "pn", "p")


def _next_by_text(root: lxml.html.HtmlElement, url: str) -> str | None:
    for a in root.iter("a"):
        text = " ".join(a.text_content().split()).lower()
        title = (a.get("title") or "").strip().lower()
        if text in _NEXT_TEXTS or title in ("下一页", "next"):
            href = (a.get("href") or "").strip()
            if href and not href.startswith(("#", "javascript:")):
                return urljoin(url, href).split("#", 1)[0]
    return None


def increment_page_url(url: str) -> str | None:
    """The URL of the following page when the page number is in the URL (`index_3.html`, `?page=3`)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    for i, (key, value) in enumerate(query):
        if key.lower() in _PAGE_PARAMS and value.isdigit():
            query[i] = (key, str(int(value) + 1))
            return urlunsplit(parts._replace(query=urlencode(query)))
    head, _, name = parts.path.rpartition("/")
    match = _INDEX_N.match(name)
    if match and match.group("n") is not None:
        n = int(match.group("n")) + 1
        return urlunsplit(parts._replace(path=f"{head}/{match.group('stem')}_{n}.{match.group('ext')}"))
    return None


def _first_page_successors(url: str) -> list[str]:
    parts = urlsplit(url)
    head, _, name = parts.path.rpartition("/")
    match = _INDEX_N.match(name or "index.html")
    stem, ext = (match.group("stem"), match.group("ext")) if match else ("index", "html")
    paths = [f"{head}/{stem}_1.{ext}", f"{head}/{stem}_2.{ext}"]
    out = [urlunsplit(parts._replace(path=p)) for p in paths]
    sep = "&" if parts.query else ""
    out += [urlunsplit(parts._replace(query=f"{parts.query}{sep}{key}=2")) for key in ("page", "pageIndex")]
    return out


def _numbered_next(root: lxml.html.HtmlElement, url: str) -> str | None:
    # A numbered pager ("1 2 3 … 尾页") without a 下一页 link: the link to this page's number + 1.
    hrefs = {
        urljoin(url, (a.get("href") or "").strip()).split("#", 1)[0] for a in root.iter("a") if a.get("href")
    }
    following = increment_page_url(url)
    for candidate in [following] if following else _first_page_successors(url):
        if candidate in hrefs:
            return candidate
    return None if following else _second_page_link(hrefs, url)


def _second_page_link(hrefs: set[str], url: str) -> str | None:
    """On a first page without a page number: a link to this page with a page parameter of 2.

    Hanweb's `index.html` links `index.html?uid=4521&pageNum=2`; other parameters may ride along.
    """
    own = urlsplit(url)
    for href in sorted(hrefs):
        parts = urlsplit(href)
        if (parts.netloc, parts.path) != (own.netloc, own.path):
            continue
        query = parse_qsl(parts.query, keep_blank_values=True)
        if any(key.lower() in _PAGE_PARAMS and value == "2" for key, value in query):
            return href
    return None


def next_page(html: str, url: str) -> str | None:
    """The URL of the next list page, or None on the last page (or when none can be found)."""
    if not html.strip():
        return None
    try:
        root = lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return None
    found = _next_by_text(root, url) or trs_next_page(html, url) or _numbered_next(root, url)
    if found is not None and found != url.split("#", 1)[0]:
        return found
    return None
