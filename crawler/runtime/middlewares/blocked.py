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
# Matched in lower case on a lower-cased copy of the body (bytes.lower() folds ASCII letters only,
# as re.IGNORECASE does on bytes): one copy and a few substring scans cost a fraction of a
# case-insensitive regex over every page's bytes, which ran on the reactor thread for each page.
_CHALLENGE_MARKERS = tuple(
    marker.lower()
    for marker in (
        b"__jsl_clearance",
        b"acw_sc__v2",
        b"acw_tc",
        b"yunsuo_session_verify",
        b"_waf_",
        b"cf-chl",
        b"cf_chl",
        b"challenge-platform",
        b"waf_challenge",
        b"jschallenge",
        b"security_verify",
        *(
            m.encode()
            for m in ("安全验证", "访问验证", "正在验证", "人机验证", "请开启JavaScript", "浏览器安全检查")
        ),
    )
)
# A script-only page that sets a cookie and reloads is a challenge even without a known marker.
# Each pattern comes with the words a match must contain, looked for first (most pages have none).
_SETS_COOKIE = re.compile(rb"document\.cookie\s*=|setcookie\s*\(")
_SETS_COOKIE_WORDS = (b"document.cookie", b"setcookie")
_RELOADS = re.compile(rb"location\.(?:reload|replace)\s*\(|location(?:\.href)?\s*=[^=]|settimeout\s*\(")
_RELOADS_WORDS = (b"location", b"settimeout")
_SCRIPT = b"<script"
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
    if len(body) > _MAX_CHALLENGE_BYTES:
        return False
    lowered = body.lower()
    if _SCRIPT not in lowered:
        return False
    # Cheap tests first: only a page with a WAF marker or a cookie-setting reload script is parsed.
    marker = any(m in lowered for m in _CHALLENGE_MARKERS)
    if not marker and not (
        _found(lowered, _SETS_COOKIE_WORDS, _SETS_COOKIE) and _found(lowered, _RELOADS_WORDS, _RELOADS)
    ):
        return False
    text = visible_text_length(body, http_charset)
    return text < 4 * _MIN_VISIBLE_TEXT if marker else text < _MIN_VISIBLE_TEXT // 3


def _found(lowered: bytes, words: tuple[bytes, ...], pattern: re.Pattern[bytes]) -> bool:
    """Whether `pattern` matches, tried only when one of the words it needs is there."""
    return any(w in lowered for w in words) and pattern.search(lowered) is not None


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
