"""Meta refresh: our middleware decides as Scrapy's on every page, decoding fewer of them.

Scrapy's MetaRefreshMiddleware is the reference: both run on every page we have (fixtures, the
shared corpus of real Chinese pages, the replica's templates), as served and with a refresh tag
put in at the top, inside the 4096 characters Scrapy reads and past them, under several declared
charsets, and on encodings where the shortcut must not apply (UTF-16, UTF-7).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefreshMiddleware
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from crawler.runtime.middlewares.refresh import MetaRefreshMiddleware, may_refresh

ROOT = Path(__file__).resolve().parent.parent
PAGE_DIRS = (ROOT / "tests" / "fixtures", ROOT.parent / "shared" / "corpus", ROOT / "replica" / "templates")
URL = "http://jyj.zhenping.gov.cn/art/2024/4/19/art_1003_88121.html"
REFRESH = b'<meta http-equiv="Refresh" content="0; url=/col/col1003/index.html">'
CONTENT_TYPES = (
    "text/html",
    "text/html; charset=utf-8",
    "text/html; charset=gbk",
    "text/html; charset=latin-1",
)


def pages() -> list[bytes]:
    return [
        path.read_bytes()
        for folder in PAGE_DIRS
        if folder.is_dir()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.suffix.lower() in {".html", ".htm", ".shtml"}
    ]


def variants(body: bytes) -> list[bytes]:
    """The page, and the page with a refresh at the top, inside Scrapy's 4096 characters, past them."""
    return [
        body,
        REFRESH + body,
        body[:2000] + REFRESH.upper() + body[2000:],
        body[:6000] + REFRESH + body[6000:],
    ]


def outcome(result: Request | Response, response: Response) -> object:
    if result is response:
        return "unchanged"
    assert isinstance(result, Request)
    return (result.url, result.meta.get("redirect_reasons"), result.meta.get("redirect_times"))


def decide(middleware: ScrapyMetaRefreshMiddleware, body: bytes, content_type: str) -> object:
    request = Request(URL)
    response = HtmlResponse(URL, body=body, headers={"Content-Type": content_type}, request=request)
    return outcome(middleware.process_response(request, response), response)


@pytest.fixture(scope="module")
def both() -> tuple[MetaRefreshMiddleware, ScrapyMetaRefreshMiddleware]:
    crawler = get_crawler()
    return MetaRefreshMiddleware.from_crawler(crawler), ScrapyMetaRefreshMiddleware.from_crawler(crawler)


def test_same_decision_as_scrapy_on_every_page(
    both: tuple[MetaRefreshMiddleware, ScrapyMetaRefreshMiddleware],
) -> None:
    ours, scrapy = both
    corpus = pages()
    assert len(corpus) > 150
    redirects = skipped = 0
    for page in corpus:
        for body in variants(page):
            for content_type in CONTENT_TYPES:
                expected = decide(scrapy, body, content_type)
                assert decide(ours, body, content_type) == expected, (page[:80], content_type)
                redirects += expected != "unchanged"
        response = HtmlResponse(URL, body=page, headers={"Content-Type": "text/html"})
        skipped += not may_refresh(response)
    assert redirects > len(corpus)  # the refresh tags put in were found, by both
    assert skipped > len(corpus) // 2  # and most pages were not decoded to find none


@pytest.mark.parametrize(
    "body",
    [
        ("\ufeff<html><head>" + REFRESH.decode() + "</head></html>").encode("utf-16-le"),
        (b'<html><head><meta charset="utf-7"><meta http-equiv="+AHI-efresh" content="0;url=/x.html">'),
        (b"<html><head><meta http-equiv=refresh content='0;url=/x.html'></head></html>"),
        (b"<html><head><META HTTP-EQUIV=REFRESH CONTENT='5;URL=/x.html'></head></html>"),
    ],
    ids=["utf-16", "utf-7", "unquoted", "upper-case"],
)
@pytest.mark.parametrize(
    "content_type", ["text/html", "text/html; charset=utf-16", "text/html; charset=utf-7"]
)
def test_same_decision_where_letters_are_not_their_bytes(
    both: tuple[MetaRefreshMiddleware, ScrapyMetaRefreshMiddleware], body: bytes, content_type: str
) -> None:
    ours, scrapy = both
    assert decide(ours, body, content_type) == decide(scrapy, body, content_type)


def test_a_page_with_a_refresh_is_redirected(
    both: tuple[MetaRefreshMiddleware, ScrapyMetaRefreshMiddleware],
) -> None:
    ours, _ = both
    body = b"<html><head>" + REFRESH + b"</head><body>moved</body></html>"
    assert decide(ours, body, "text/html; charset=utf-8") == (
        "http://jyj.zhenping.gov.cn/col/col1003/index.html",
        ["meta refresh"],
        1,
    )
