"""Reading RSS 2.0 / Atom feeds and XML sitemaps into article links.

Sitemaps are parsed by Scrapy's own `Sitemap` (lxml with entity resolution and network access off,
and a cap on huge documents); feeds by lxml with the same hardening. Both are decoded first by
`crawler.html.decoding`, as pages are: a GBK feed declaring gb2312 or UTF-8 is read by its bytes, not by
libxml2's reading of its declaration (which stops at the first character GB2312 lacks).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from lxml import etree
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap

from crawler.discovery.listdates import find_list_date
from crawler.errors import ExtractionError
from crawler.html.decoding import MAX_BYTES, decode_html

_ATOM = "{http://www.w3.org/2005/Atom}"
_GZIP_MAGIC = b"\x1f\x8b"


class FeedError(ValueError):
    """A feed or sitemap that cannot be read; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One article a feed or sitemap points to, with the date it gives."""

    url: str
    title: str = ""
    date: str | None = None  # YYYY-MM-DD
    lastmod: str | None = None  # sitemap <lastmod> as given (ISO 8601)


@dataclass(frozen=True, slots=True)
class SitemapContent:
    """What a sitemap holds: article entries, or (for a sitemap index) further sitemaps."""

    entries: list[FeedEntry]
    sitemaps: list[str]


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)


def _feed_date(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    try:
        return parsedate_to_datetime(value).date().isoformat()  # RFC 822, as RSS writes dates
    except (TypeError, ValueError, IndexError):
        pass
    found = find_list_date(value)
    return found if found and not found.startswith("--") else None


def _text(node: etree._Element | None) -> str:
    return " ".join((node.text or "").split()) if node is not None else ""


def _as_utf8(body: bytes, http_charset: str | None, max_bytes: int = MAX_BYTES) -> bytes:
    """The document re-encoded as UTF-8 (its XML declaration is dropped by the decoder)."""
    try:
        return decode_html(body, http_charset=http_charset, max_bytes=max_bytes).text.encode("utf-8")
    except ExtractionError as exc:
        raise FeedError(str(exc)) from None


def parse_feed(body: bytes, url: str, http_charset: str | None = None) -> list[FeedEntry]:
    """The entries of an RSS 2.0 or Atom feed, in feed order."""
    try:
        root = etree.fromstring(_as_utf8(body, http_charset), parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"not an XML feed: {exc}") from None
    if root is None:
        raise FeedError("empty feed")
    entries: list[FeedEntry] = []
    if root.tag == f"{_ATOM}feed":
        for entry in root.iter(f"{_ATOM}entry"):
            href = None
            for link in entry.iter(f"{_ATOM}link"):
                if link.get("rel", "alternate") == "alternate" and link.get("href"):
                    href = link.get("href")
                    break
            if href:
                date = _feed_date(
                    _text(entry.find(f"{_ATOM}published")) or _text(entry.find(f"{_ATOM}updated"))
                )
                entries.append(
                    FeedEntry(
                        url=urljoin(url, href.strip()), title=_text(entry.find(f"{_ATOM}title")), date=date
                    )
                )
        return entries
    if root.tag not in ("rss", "RDF", "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF"):
        raise FeedError(f"not an RSS or Atom feed (root element <{etree.QName(root).localname}>)")
    for item in root.iter("item", "{http://purl.org/rss/1.0/}item"):
        link = _text(item.find("link")) or _text(item.find("{http://purl.org/rss/1.0/}link"))
        if not link:
            guid = item.find("guid")
            link = _text(guid) if guid is not None and guid.get("isPermaLink", "true") != "false" else ""
        if link:
            date = _feed_date(
                _text(item.find("pubDate")) or _text(item.find("{http://purl.org/dc/elements/1.1/}date"))
            )
            entries.append(FeedEntry(url=urljoin(url, link), title=_text(item.find("title")), date=date))
    return entries


def parse_sitemap(
    body: bytes, url: str, *, max_bytes: int, http_charset: str | None = None
) -> SitemapContent:
    """The URLs of a sitemap or the sitemaps of a sitemap index (gzip-compressed or not)."""
    if body.startswith(_GZIP_MAGIC):
        try:
            body = gunzip(body, max_size=max_bytes)
        except (OSError, ValueError) as exc:
            raise FeedError(f"broken gzip sitemap: {exc}") from None
    try:
        sitemap = Sitemap(_as_utf8(body, http_charset, max_bytes=max_bytes))
    except (etree.XMLSyntaxError, AttributeError) as exc:
        raise FeedError(f"not an XML sitemap: {exc}") from None
    if sitemap.type not in ("urlset", "sitemapindex"):
        raise FeedError(f"not a sitemap (root element <{sitemap.type}>)")
    entries: list[FeedEntry] = []
    children: list[str] = []
    for entry in sitemap:
        loc = entry.get("loc")
        if not loc:
            continue
        if sitemap.type == "sitemapindex":
            children.append(urljoin(url, loc))
        else:
            lastmod = entry.get("lastmod")
            # lastmod says when the page changed, not when it was published: no list date.
            entries.append(FeedEntry(url=urljoin(url, loc), lastmod=lastmod))
    return SitemapContent(entries=entries, sitemaps=children)
