"""BlockedPageMiddleware: WAF/challenge pages and binary files never pass as pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.runtime.middlewares import BinaryPage, BlockedPage
from crawler.runtime.middlewares.blocked import BlockedPageMiddleware, looks_binary, looks_like_challenge
from tests.crawl_support import ZHENPING, make_crawler, request, response

LISTS = Path(__file__).parent / "fixtures" / "lists"
ARTICLE = "http://jyj.zhenping.gov.cn/art/2024/4/19/art_1003_88121.html"

JSL_CHALLENGE = (
    b"<html><script>document.cookie=('_')+('_')+('j')+('s')+('l')+('_')+('c')+('l')+('e')+('a')+('r')+"
    b"('a')+('n')+('c')+('e')+'=1713500000.123|0|abc;max-age=3600;path=/';"
    b"location.href=location.pathname+location.search</script></html>"
)
ACW_CHALLENGE = (
    b"<html><head><script>var arg1='3F0C2A';function setCookie(name,value){};"
    b"setCookie('acw_sc__v2', x);document.location.reload();</script></head><body></body></html>"
)
YUNSUO = "<html><body><p>网站防火墙 安全验证</p><script>yunsuo_session_verify</script></body></html>".encode()


@pytest.fixture
def middleware() -> BlockedPageMiddleware:
    return BlockedPageMiddleware.from_crawler(make_crawler([ZHENPING]))


@pytest.mark.parametrize("status", [403, 412, 521])
def test_waf_statuses_are_blocked(middleware: BlockedPageMiddleware, status: int) -> None:
    req = request(ARTICLE)
    with pytest.raises(BlockedPage, match=f"HTTP {status}"):
        middleware.process_response(req, response(req, b"<html>Forbidden</html>", status=status))


@pytest.mark.parametrize("body", [JSL_CHALLENGE, ACW_CHALLENGE, YUNSUO], ids=["jsl", "acw", "yunsuo"])
@pytest.mark.parametrize("kind", ["article", "list"])
def test_script_challenge_with_status_200_is_blocked(
    middleware: BlockedPageMiddleware, body: bytes, kind: str
) -> None:
    req = request(ARTICLE, kind=kind)
    with pytest.raises(BlockedPage, match="challenge"):
        middleware.process_response(req, response(req, body))


def test_real_pages_pass(middleware: BlockedPageMiddleware) -> None:
    for name in ("hanweb/index.html", "trs/index.html", "vsb/jydt.htm"):
        req = request(ARTICLE, kind="list")
        res = response(req, (LISTS / name).read_bytes())
        assert middleware.process_response(req, res) is res


def test_short_page_without_script_passes(middleware: BlockedPageMiddleware) -> None:
    # "该信息已删除" notices are short, and must reach the page layer (storage withdraws them).
    req = request(ARTICLE)
    res = response(req, "<html><body><p>该信息已删除</p></body></html>".encode())
    assert middleware.process_response(req, res) is res


@pytest.mark.parametrize(
    "body",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"PK\x03\x04\x14\x00\x06\x00word/document.xml",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        bytes(range(256)) * 4,
    ],
    ids=["pdf", "docx", "doc", "png", "noise"],
)
def test_binary_served_as_html_is_rejected(middleware: BlockedPageMiddleware, body: bytes) -> None:
    req = request(ARTICLE)
    with pytest.raises(BinaryPage):
        middleware.process_response(req, response(req, body, headers={"Content-Type": "text/html"}))


def test_feeds_and_sitemaps_are_not_checked(middleware: BlockedPageMiddleware) -> None:
    req = request("http://jyj.zhenping.gov.cn/sitemap.xml.gz", kind="sitemap")
    res = response(req, b"\x1f\x8b\x08\x00compressed")
    assert middleware.process_response(req, res) is res


def test_error_statuses_go_on_to_the_spider(middleware: BlockedPageMiddleware) -> None:
    req = request(ARTICLE)
    res = response(req, b"\x00\x01", status=404)
    assert middleware.process_response(req, res) is res


def test_text_encodings_with_nul_bytes_are_not_binary() -> None:
    assert not looks_binary("\ufeff<html><body>教育局</body></html>".encode("utf-16-le"))
    assert not looks_binary("<html>教育局通知</html>".encode("gbk"))
    assert looks_binary(b"%PDF-1.4")


def test_challenge_needs_a_script_and_no_content() -> None:
    page = (
        "<html><body>"
        + "<p>镇坪县召开教育高质量发展大会，安全验证码发放通知。</p>" * 20
        + "<script>x</script></body></html>"
    )
    assert not looks_like_challenge(page.encode())
    assert not looks_like_challenge(b"<html><body>short</body></html>")
    assert looks_like_challenge(JSL_CHALLENGE)


SETHOME_ARTICLE = (
    '<html><head><meta charset="gb2312"><title>关于洺州学校2024年七年级新生招生范围的公告</title></head>'
    "<body>"
    '<a href="javascript:;" onclick="SetHome(this,window.location)">设为首页</a>'
    '<a onclick="AddFavorite(window.location,document.title)">加入收藏</a>'
    "<h1>关于洺州学校2024年七年级新生招生范围的公告</h1>"
    "<p>根据区教育局有关文件精神，现将洺州学校2024年七年级新生招生范围公告如下，请广大家长相互转告。</p>"
    "<script>var hits = 0; document.write(hits);</script></body></html>"
)


def test_sethome_window_location_on_a_gb2312_page_with_a_gbk_character_is_not_a_challenge(
    middleware: BlockedPageMiddleware,
) -> None:
    req = request(ARTICLE)
    res = response(req, SETHOME_ARTICLE.encode("gbk"), headers={"Content-Type": "text/html; charset=gb2312"})
    assert middleware.process_response(req, res) is res


def test_a_redirect_script_without_a_cookie_is_not_a_challenge() -> None:
    assert not looks_like_challenge(b"<html><script>window.location.href='/index.html'</script></html>")


def test_cookie_and_reload_without_a_marker_is_a_challenge() -> None:
    body = b"<html><script>document.cookie='x=1;path=/';location.reload();</script><body></body></html>"
    assert looks_like_challenge(body)
