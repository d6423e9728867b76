"""Scrapy's meta-refresh redirects, without decoding the pages whose bytes cannot declare one.

Scrapy's `MetaRefreshMiddleware` decodes every HTML response whole (`response.text`) to look for
`<meta http-equiv="refresh">` in its first 4096 characters. On the reactor thread that cost
180–290 µs per page on the real pages of the shared corpus (185 KB on average), for a tag next
to no page has. A refresh needs the word "refresh" (in any case) in the decoded text, and in an
encoding that decodes ASCII letters only from the same bytes (UTF-8, GB18030, Big5, the Latin
code pages...) the body's first bytes then hold it too. So a page in such an encoding whose first
bytes do not (the encoding comes from the headers, a byte-order mark or the page's own
declaration, cheaply; an undeclared page is decoded whole to infer it, as Scrapy would) goes on
exactly as Scrapy would have let it (no refresh found); every other page is left to Scrapy.
"""

from __future__ import annotations

import codecs

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefreshMiddleware
from scrapy.http import HtmlResponse, Response

# Python codec names (codecs.lookup(...).name) of encodings in which an ASCII letter is decoded
# only from its own byte, and a character from at most four bytes: not UTF-16/32 (letters are two
# or four bytes), UTF-7 (letters can be base64-encoded) or the EBCDIC code pages.
ASCII_TRANSPARENT = frozenset(
    {
        "ascii",
        "utf-8",
        "utf-8-sig",
        "gb18030",
        "gbk",
        "gb2312",
        "big5",
        "big5hkscs",
        "cp950",
        "euc_jp",
        "shift_jis",
        "cp932",
        "euc_kr",
        "cp949",
        "iso8859-1",
        "iso8859-2",
        "iso8859-15",
        "cp1250",
        "cp1251",
        "cp1252",
        "koi8-r",
    }
)


# Scrapy reads the first 4096 characters of the decoded page. In the encodings above a character
# takes at most four bytes (a byte that does not decode is one replacement character), and a
# UTF-8 byte-order mark, which is not decoded, three more.
SCANNED_BYTES = 4 * 4096 + 3


def may_refresh(response: HtmlResponse) -> bool:
    """False only when the page certainly declares no meta refresh (see the module docstring)."""
    try:
        codec = codecs.lookup(response.encoding).name
    except LookupError:
        return True
    return codec not in ASCII_TRANSPARENT or b"refresh" in response.body[:SCANNED_BYTES].lower()


class MetaRefreshMiddleware(ScrapyMetaRefreshMiddleware):
    """Scrapy's MetaRefreshMiddleware, skipping the pages that cannot declare a refresh."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        # `spider` only for the supertype's signature: Scrapy no longer passes it.
        if isinstance(response, HtmlResponse) and not may_refresh(response):
            return response
        return super().process_response(request, response)
