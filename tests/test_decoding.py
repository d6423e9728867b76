"""Decoding page bytes: BOM, HTTP header, <meta charset>, wrong declarations, GBK and GB18030."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from crawler.errors import ExtractionError
from crawler.html.decoding import decode_html, normalize_charset, sniff_binary

PAGES_DIR = Path(__file__).parent / "fixtures" / "pages"
TEXT = "镇坪县召开教育高质量发展大会，全县教师代表参加。"


def page(charset: str | None, body: str = TEXT) -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    return f"<html><head>{meta}<title>通知</title></head><body><p>{body}</p></body></html>"


def test_utf8_bom_wins_over_a_wrong_meta() -> None:
    decoded = decode_html(codecs.BOM_UTF8 + page("gbk").encode("utf-8"))
    assert decoded.encoding == "utf-8-sig"
    assert TEXT in decoded.text


def test_utf16_bom() -> None:
    decoded = decode_html(page(None).encode("utf-16"))
    assert decoded.encoding == "utf-16"
    assert TEXT in decoded.text


def test_http_header_charset_decodes_gbk() -> None:
    decoded = decode_html(page(None).encode("gbk"), http_charset="GBK")
    assert decoded.encoding == "gb18030"
    assert decoded.declared == "gb18030"
    assert TEXT in decoded.text


def test_meta_charset_gb2312_is_read_as_gb18030() -> None:
    decoded = decode_html(page("gb2312").encode("gb18030"))
    assert decoded.declared == "gb18030"
    assert TEXT in decoded.text


def test_meta_http_equiv_content_type() -> None:
    html = page(None).replace(
        "<head>", '<head><meta http-equiv="Content-Type" content="text/html; charset=GBK">'
    )
    decoded = decode_html(html.encode("gbk"))
    assert decoded.declared == "gb18030"
    assert TEXT in decoded.text


def test_gb18030_only_characters_survive_a_gb2312_declaration() -> None:
    # 𠀀 (U+20000) and € have no GB2312/GBK code; GB18030 encodes them in four/two bytes.
    body = TEXT + "𠀀€"
    decoded = decode_html(page("gb2312", body).encode("gb18030"))
    assert "𠀀€" in decoded.text
    assert "\ufffd" not in decoded.text


def test_utf8_page_declaring_gb2312_is_not_mojibake() -> None:
    decoded = decode_html(page("gb2312").encode("utf-8"))
    assert decoded.encoding == "utf-8"
    assert decoded.declared == "gb18030"
    assert TEXT in decoded.text


def test_gbk_page_declaring_utf8_is_not_mojibake() -> None:
    decoded = decode_html(page("utf-8").encode("gbk"))
    assert decoded.encoding == "gb18030"
    assert TEXT in decoded.text


def test_gbk_page_declaring_latin1_is_not_mojibake() -> None:
    decoded = decode_html(page("iso-8859-1").encode("gbk"), http_charset="ISO-8859-1")
    assert decoded.encoding == "gb18030"
    assert TEXT in decoded.text


def test_real_utf8_page_declaring_gb2312_from_the_corpus() -> None:
    body = (PAGES_DIR / "people_culture" / "page.html").read_bytes()
    decoded = decode_html(body)
    assert decoded.declared == "gb18030"
    assert decoded.encoding == "utf-8"
    assert "郑板桥" in decoded.text


def test_real_undeclared_gbk_page_from_the_corpus() -> None:
    body = (PAGES_DIR / "traf_hebei_play" / "page.html").read_bytes()
    decoded = decode_html(body)
    assert decoded.encoding == "gb18030"
    assert "约定无期限" in decoded.text


def test_a_few_damaged_bytes_are_replaced_not_fatal() -> None:
    body = page(None, TEXT * 50).encode("gbk")
    damaged = body[:200] + b"\xff" + body[200:]
    decoded = decode_html(damaged)
    assert TEXT in decoded.text


def test_invalid_bytes_beyond_repair_raise() -> None:
    body = b"<html><body><p>" + bytes(range(0x80, 0x100)) * 40 + b"</p></body></html>"
    with pytest.raises(ExtractionError, match="invalid bytes"):
        decode_html(body)


def test_truncation_keeps_a_whole_last_character() -> None:
    body = page(None, TEXT * 100).encode("utf-8")
    decoded = decode_html(body, max_bytes=1001)
    assert decoded.truncated
    assert "\ufffd" not in decoded.text
    assert decoded.text.endswith(tuple(TEXT))


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"%PDF-1.7\n...", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG"),
        (b"PK\x03\x04\x14\x00", "ZIP"),
        (b"<html>\x00\x00\x00\x01</html>", "binary data"),
    ],
)
def test_binary_payloads_are_named(body: bytes, kind: str) -> None:
    assert sniff_binary(body) == kind
    with pytest.raises(ExtractionError, match=kind):
        decode_html(body)


def test_empty_body_raises() -> None:
    with pytest.raises(ExtractionError, match="empty"):
        decode_html(b"  \n ")


@pytest.mark.parametrize(
    ("declared", "codec"),
    [("GB2312", "gb18030"), ("gbk", "gb18030"), ("UTF8", "utf-8"), ("'utf-8'", "utf-8"), ("nonsense", None)],
)
def test_normalize_charset(declared: str, codec: str | None) -> None:
    assert normalize_charset(declared) == codec


BIG5_PAGE = (
    "<html><head><title>臺灣省教育廳關於國民中小學新學年度招生入學作業的通知</title></head><body>"
    "<p>請各校依照規定辦理報名手續，並於期限內將學生名冊報送本廳備查。</p></body></html>"
)
GBK_PAGE = (
    "<html><head><title>关于做好2024年秋季义务教育阶段招生入学工作的通知</title></head><body>"
    "<p>请各校按照规定办理报名手续，并于规定期限内将学生名册报送县教育局备案。</p></body></html>"
)


def test_undeclared_big5_is_detected_not_read_as_gbk() -> None:
    page = decode_html(BIG5_PAGE.encode("big5"))
    assert page.encoding == "big5"
    assert page.text == BIG5_PAGE


def test_undeclared_gbk_stays_gb18030() -> None:
    page = decode_html(GBK_PAGE.encode("gbk"))
    assert page.encoding == "gb18030"
    assert page.text == GBK_PAGE


def test_big5_page_wrongly_declared_gb2312_is_read_as_big5() -> None:
    html = BIG5_PAGE.replace("<head>", '<head><meta charset="gb2312">')
    assert decode_html(html.encode("big5")).text == html


def test_gb2312_declaration_with_a_gbk_character_keeps_the_whole_page() -> None:
    # 洺 is in GBK, not GB2312: a GB2312 decoder stops there; the page must come out whole.
    html = (
        '<html><head><meta charset="gb2312"><title>关于洺州学校招生范围的公告</title></head>'
        "<body><p>正文。</p></body></html>"
    )
    page = decode_html(html.encode("gbk"))
    assert page.text == html


def test_xml_declaration_is_evidence_for_feeds() -> None:
    xml = '<?xml version="1.0" encoding="gb2312"?><rss><channel><title>通知公告·洺州</title></channel></rss>'
    page = decode_html(xml.encode("gbk"))
    assert page.declared == "gb18030"
    assert page.text == xml.split("?>", 1)[1]
