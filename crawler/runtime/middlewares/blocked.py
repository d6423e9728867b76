"""Recognising what is not a page: WAF/challenge responses and binary files served as HTML.

Chinese government sites sit behind WAFs (知道创宇 jsl, 阿里云 acw, 云锁, Cloudflare) that answer
403/412/521, or a 200 whose body is only a script that sets a cookie and reloads. Such a response
must be counted as `blocked` and never reach extraction, or it would be stored as an "article".

What makes a challenge page is what it is: small, next to no visible text, and a known WAF marker
or a script that sets a cookie and then reloads. A script that merely mentions `window.location`
is not one: every county portal's 设为首页 link calls `SetHome(this,window.location)`. The visible
text is counted on the page decoded the way the spider decodes everything (`crawler.html.decoding`), so
a page whose declaration its bytes contradict is not cut short at the first unexpected byte.
"""

from __future__ import annotations

import re
from typing import Self

import lxml.html
from lxml import etree
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.errors import ExtractionError
from crawler.html.decoding import decode_html, header_charset
from crawler.runtime.middlewares import BinaryPage, BlockedPage
from crawler.runtime.tally import META_KIND

BLOCK_STATUSES = frozenset({403, 412, 521})
_CHALLENGE_MARKERS = re.compile(
    rb"__jsl_clearance|acw_sc__v2|acw_tc|yunsuo_session_verify|_waf_|cf-chl|cf_chl|challenge-platform"
    rb"|waf_challenge|jschallenge|security_verify|"
    + "安全验证|访问验证|正在验证|人机验证|请开启JavaScript|浏览器安全检查".encode(),
    re.IGNORECASE,
)
# A script-only page that sets a cookie and reloads is a challenge even without a known marker.
_SETS_COOKIE = re.compile(rb"document\.cookie\s*=|setCookie\s*\(", re.IGNORECASE)
_RELOADS = re.compile(
    rb"location\.(?:reload|replace)\s*\(|location(?:\.href)?\s*=[^=]|setTimeout\s*\(", re.IGNORECASE
)
_SCRIPT = re.compile(rb"<script", re.IGNORECASE)
_MAX_CHALLENGE_BYTES = 32 * 1024
_MIN_VISIBLE_TEXT = 60
_MAGIC = (
    b"%PDF-",
    b"PK\x03\x04",  # zip, docx, xlsx
    b"\xd0\xcf\x11\xe0",  # doc, xls (OLE)
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",  # JPEG
    b"\x1f\x8b",  # gzip
    b"Rar!",
    b"7z\xbc\xaf",
    b"BM",
    b"\x00\x00\x00",  # MP4 and other ISO media
    b"ID3",
    b"MZ",  # Windows executables
)
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f]")
_PAGE_KINDS = frozenset({"list", "article"})


def visible_text_length(body: bytes, http_charset: str | None = None) -> int:
    """Characters of text a browser would show (scripts and styles removed)."""
    try:
        root = lxml.html.fromstring(decode_html(body, http_charset=http_charset).text)
    except (etree.ParserError, ValueError, ExtractionError):
        return 0
    for node in root.xpath("//script|//style|//noscript"):
        node.drop_tree()
    return len("".join(root.text_content().split()))


def looks_like_challenge(body: bytes, http_charset: str | None = None) -> bool:
    """A small page that is a JS challenge: a WAF marker or a cookie-and-reload script, no content."""
    if len(body) > _MAX_CHALLENGE_BYTES or _SCRIPT.search(body) is None:
        return False
    # Cheap tests first: only a page with a WAF marker or a cookie-setting reload script is parsed.
    marker = _CHALLENGE_MARKERS.search(body) is not None
    if not marker and not (_SETS_COOKIE.search(body) and _RELOADS.search(body)):
        return False
    text = visible_text_length(body, http_charset)
    return text < 4 * _MIN_VISIBLE_TEXT if marker else text < _MIN_VISIBLE_TEXT // 3


def looks_binary(body: bytes) -> bool:
    """Bytes that are a file, not HTML text: a known magic number, or many control bytes."""
    head = body[:2048]
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):  # BOMs of text encodings
        return False
    if head.startswith(_MAGIC):
        return True
    return len(head) > 0 and len(_CONTROL.findall(head)) > len(head) // 20


class BlockedPageMiddleware:
    """Turns WAF/challenge responses into BlockedPage and binary bodies into BinaryPage."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status in BLOCK_STATUSES:
            raise BlockedPage(f"HTTP {response.status} (WAF or access control) at {response.url}")
        if response.status != 200 or request.meta.get(META_KIND) not in _PAGE_KINDS:
            return response
        body = response.body
        if looks_binary(body):
            raise BinaryPage(f"binary content served as a page at {response.url}")
        if looks_like_challenge(body, header_charset(response.headers.get(b"Content-Type"))):
            raise BlockedPage(f"JavaScript challenge page at {response.url}")
        return response
