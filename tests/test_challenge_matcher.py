"""The challenge detector's substring matcher gives the verdicts of the regular expressions it replaced.

`looks_like_challenge` used to search every page with case-insensitive regular expressions; it now
scans a lower-cased copy for the same words. The expressions are kept here as the reference and both
are run on every page we have: the fixtures, the shared corpus of real Chinese pages, the replica's
challenge page, and those pages cut to the size a challenge can have (so the marker and script
tests run on real markup, not only the size limit), with markers and scripts in mixed case.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.runtime.middlewares.blocked import looks_like_challenge, visible_text_length

ROOT = Path(__file__).resolve().parent.parent
PAGE_DIRS = (ROOT / "tests" / "fixtures", ROOT.parent / "shared" / "corpus", ROOT / "replica" / "templates")
PAGE_SUFFIXES = frozenset({".html", ".htm", ".shtml", ".xml", ".txt"})
LIMIT = 32 * 1024

# The detector before the change, verbatim.
OLD_MARKERS = re.compile(
    rb"__jsl_clearance|acw_sc__v2|acw_tc|yunsuo_session_verify|_waf_|cf-chl|cf_chl|challenge-platform"
    rb"|waf_challenge|jschallenge|security_verify|"
    + "安全验证|访问验证|正在验证|人机验证|请开启JavaScript|浏览器安全检查".encode(),
    re.IGNORECASE,
)
OLD_SETS_COOKIE = re.compile(rb"document\.cookie\s*=|setCookie\s*\(", re.IGNORECASE)
OLD_RELOADS = re.compile(
    rb"location\.(?:reload|replace)\s*\(|location(?:\.href)?\s*=[^=]|setTimeout\s*\(", re.IGNORECASE
)
OLD_SCRIPT = re.compile(rb"<script", re.IGNORECASE)


def old_looks_like_challenge(body: bytes, http_charset: str | None = None) -> bool:
    if len(body) > LIMIT or OLD_SCRIPT.search(body) is None:
        return False
    marker = OLD_MARKERS.search(body) is not None
    if not marker and not (OLD_SETS_COOKIE.search(body) and OLD_RELOADS.search(body)):
        return False
    text = visible_text_length(body, http_charset)
    return text < 240 if marker else text < 20


def corpus_pages() -> list[Path]:
    return sorted(
        path
        for folder in PAGE_DIRS
        if folder.is_dir()
        for path in folder.rglob("*")
        if path.is_file() and path.suffix.lower() in PAGE_SUFFIXES
    )


def variants(body: bytes) -> list[bytes]:
    """The page, its heads of challenge size, and a head with a challenge script in mixed case."""
    heads = [body[:n] for n in (300, 2000, 8000, LIMIT) if n < len(body)]
    script = b"<SCRIPT>Document.Cookie = 'x=1';LOCATION.Href='/';</Script>"
    return [body, *heads, script + body[:2000], body[:1500] + b"<ScRiPt>SetTimeOut (f)</script>"]


def test_the_corpus_is_there() -> None:
    pages = corpus_pages()
    assert len(pages) > 200
    assert any(path.name == "js_challenge.html" for path in pages)


def test_same_verdict_as_the_regular_expressions_on_every_page() -> None:
    checked = challenges = 0
    for path in corpus_pages():
        for body in variants(path.read_bytes()):
            for charset in (None, "gbk"):
                old = old_looks_like_challenge(body, charset)
                assert looks_like_challenge(body, charset) is old, (path, len(body), charset)
                checked += 1
                challenges += old
    assert checked > 2000
    assert challenges > 0  # the comparison covered challenge verdicts too, not only "no"


@pytest.mark.parametrize(
    "body",
    [
        b"<html><SCRIPT>var x = '__JSL_Clearance';</SCRIPT></html>",
        b"<html><script>ACW_SC__V2</script><body>" + "正文".encode() * 200 + b"</body></html>",
        b"<html><Script>document.COOKIE  =1; Location.Replace ('/')</Script></html>",
        b"<html><script>document.cookie==1; location == 2</script></html>",
        b"<html><script>SETCOOKIE(a); location.href==b</script></html>",
        b"<html><script>setcookie\t(a); window.location\n= b</script></html>",
        b"<html><script>setCookie(a); setTimeout (f)</script></html>",
        b"<html><scrip>setCookie(a); location.reload()</scrip></html>",
        "<html><script>x</script><p>请开启javascript</p></html>".encode("gbk"),
        "<html><script>x</script><p>浏览器安全检查</p></html>".encode(),
        b"<html><script>cf-CHL-bypass</script>" + b"<p>word</p>" * 60 + b"</html>",
        b"<html><script>x=1;location=y</script></html>",
        b"<script>document.cookie=1;location=",
    ],
)
def test_same_verdict_on_mixed_case_and_edge_scripts(body: bytes) -> None:
    assert looks_like_challenge(body) is old_looks_like_challenge(body)
