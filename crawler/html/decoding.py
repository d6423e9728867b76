"""Turning the bytes of a page, feed or sitemap into text without mojibake.

Every response the crawler reads goes through `decode_html` (articles, list pages, feeds, sitemaps
and the challenge test), so they cannot disagree about a page. Order of evidence: byte-order mark,
then the HTTP header, then `<meta charset>` or the XML declaration, then detection. Chinese sites
often declare the wrong charset (a UTF-8 page saying GB2312, a GBK page saying UTF-8 or
ISO-8859-1), so a declaration is only believed when the bytes agree with it, and a declaration the
bytes contradict is never allowed to shorten the text (as a decoder stopping at the first bad
byte would).

Big5 and GBK bytes mostly decode without error in each other's codec; which one a page is in is
decided by the characters each reading yields: real text is made of the common characters of its
script (GB2312 level 1, Big5 常用字), mojibake is not.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes
from w3lib.encoding import http_content_type_encoding

from crawler.errors import ExtractionError

# Big pages are cut here before decoding: real article pages stay under 1 MB (a WeChat article
# with inline styles is ~800 KB), and parsing stays fast.
MAX_BYTES = 1_500_000
# Detection only needs a sample; running it over a 20 MB page would take seconds.
_DETECT_SAMPLE = 65_536
_META_SCAN = 4096
# A page whose best decoding still has more replacement characters than this share is unusable.
_MAX_REPLACED_SHARE = 0.01

_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""",
    re.IGNORECASE,
)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)""")
# Codecs of Chinese text whose byte ranges overlap: a page in one often decodes in the other.
_CHINESE = ("gb18030", "big5")
# How much more of one reading must be common characters before it overrules a declaration.
_SCRIPT_MARGIN = 0.2
_SCRIPT_SAMPLE = 4000  # non-ASCII characters scored
# GB2312 and GBK are subsets of GB18030; pages declaring them often use characters beyond them.
_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312": "gb18030",
    "gb_2312-80": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "hz-gb-2312": "gb18030",
    "utf8": "utf-8",
    "unicode": "utf-8",
}
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "PDF"),
    (b"\x89PNG", "PNG"),
    (b"GIF8", "GIF"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"PK\x03\x04", "ZIP"),
    (b"Rar!", "RAR"),
    (b"\x1f\x8b", "gzip"),
    (b"\xd0\xcf\x11\xe0", "Office document"),
    (b"7z\xbc\xaf", "7z"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


@dataclass(frozen=True, slots=True)
class DecodedPage:
    """A decoded page: its text, the codec that produced it and what the page or header declared."""

    text: str
    encoding: str
    declared: str | None
    truncated: bool = False  # the page was longer than MAX_BYTES and was cut


def normalize_charset(name: str | None) -> str | None:
    """A Python codec name for a declared charset (GB2312/GBK read as GB18030); None if unknown."""
    if not name:
        return None
    label = name.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        return None
    return _ALIASES.get(codec, codec)


def sniff_binary(body: bytes) -> str | None:
    """The kind of a binary (non-HTML) payload, or None when it may be text."""
    for magic, kind in _MAGIC:
        if body.startswith(magic):
            return kind
    if not body.startswith(tuple(bom for bom, _ in _BOMS)) and b"\x00" in body[:_META_SCAN]:
        return "binary data"
    return None


def decode_html(body: bytes, *, http_charset: str | None = None, max_bytes: int = MAX_BYTES) -> DecodedPage:
    """Decode an HTML page; raise ExtractionError for empty, binary or undecodable input."""
    if not body.strip():
        raise ExtractionError("empty page: no bytes to decode")
    kind = sniff_binary(body)
    if kind is not None:
        raise ExtractionError(f"not an HTML page: the content is {kind}")
    truncated = len(body) > max_bytes
    if truncated:
        body = body[:max_bytes]
    header = normalize_charset(http_charset)
    meta = _in_page_charset(body)
    declared = header or meta
    for bom, codec in _BOMS:
        if body.startswith(bom):
            text = _decode_strict(body, codec, final=not truncated)
            if text is not None:
                return DecodedPage(_clean(text), codec, declared, truncated)
    for codec in _candidates(body, header, meta):
        text = _decode_strict(body, codec, final=not truncated)
        if text is not None and _plausible(text, codec):
            if codec in _CHINESE:
                codec, text = _chinese_reading(body, codec, text, final=not truncated)
            return DecodedPage(_clean(text), codec, declared, truncated)
    return _decode_damaged(body, declared, truncated)


def header_charset(content_type: bytes | str | None) -> str | None:
    """The charset named by a Content-Type header value, as declared (not yet checked)."""
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    return http_content_type_encoding(content_type or "")


def _in_page_charset(body: bytes) -> str | None:
    head = body[:_META_SCAN]
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    return normalize_charset(match.group(1).decode("ascii", "ignore")) if match else None


def _candidates(body: bytes, header: str | None, meta: str | None) -> list[str]:
    # Valid multi-byte UTF-8 almost never happens by accident, so it beats any declaration.
    # Undeclared (or wrongly declared) Chinese bytes: GB18030 first; `_chinese_reading` weighs Big5.
    order = ["utf-8", header, meta, "gb18030", "big5"]
    seen: list[str] = []
    for codec in order:
        if codec and codec not in seen:
            seen.append(codec)
    if body.isascii():
        return seen[:1]
    return seen


def _decode_strict(body: bytes, codec: str, *, final: bool) -> str | None:
    # A page cut at max_bytes may end inside a character; the incremental decoder drops that tail.
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    try:
        return str(decoder.decode(body, final=final))
    except UnicodeDecodeError:
        return None


def _common_share(text: str, codec: str) -> float:
    """The share of non-ASCII characters that are the common characters of `codec`'s script.

    GB2312 level 1 (lead bytes B0–D7) holds the 3755 most used simplified characters, Big5's
    常用字 (A440–C67E) the 5401 most used traditional ones; both codecs' punctuation rows count
    too. Text read in the wrong one of the two is mostly rare characters, kana and symbols.
    """
    scored = common = 0
    for ch in text:
        if ord(ch) < 0x80:
            continue
        scored += 1
        if scored > _SCRIPT_SAMPLE:
            break
        try:
            raw = ch.encode("gb2312" if codec == "gb18030" else codec)
        except UnicodeEncodeError:
            continue
        if len(raw) != 2:
            continue
        code = raw[0] << 8 | raw[1]
        if codec == "gb18030":
            common += 0xB0A1 <= code <= 0xD7FE or 0xA1A1 <= code <= 0xA3FE
        else:
            common += 0xA440 <= code <= 0xC67E or 0xA140 <= code <= 0xA3BF
    return common / scored if scored else 1.0


def _chinese_reading(body: bytes, codec: str, text: str, *, final: bool) -> tuple[str, str]:
    """`codec`'s reading of the bytes, or the other Chinese codec's when that is clearly real text."""
    other = _CHINESE[1] if codec == _CHINESE[0] else _CHINESE[0]
    other_text = _decode_strict(body, other, final=final)
    if other_text is None:
        return codec, text
    if _common_share(other_text, other) > _common_share(text, codec) + _SCRIPT_MARGIN:
        return other, other_text
    return codec, text


def _plausible(text: str, codec: str) -> bool:
    """Whether decoded text looks like a real page rather than mojibake."""
    if codec in ("utf-8", "utf-8-sig", "gb18030"):
        return True
    if codec == "big5":
        # Reached only when GB18030 failed: damaged GBK bytes sometimes still decode as Big5.
        return _common_share(text, codec) >= 0.5
    # A single-byte codec (latin-1, cp1252, ...) applied to a Chinese page decodes without error
    # but yields runs of accented letters; real text in such a codec is mostly ASCII.
    sample = text[:_DETECT_SAMPLE]
    high = sum(1 for ch in sample if ord(ch) > 0x7F)
    cjk = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f")
    return high == 0 or cjk / high > 0.5 or high / max(len(sample), 1) < 0.02


def _decode_damaged(body: bytes, declared: str | None, truncated: bool) -> DecodedPage:
    detected = from_bytes(body[:_DETECT_SAMPLE]).best()
    guesses = [normalize_charset(detected.encoding) if detected else None, declared, "gb18030", "utf-8"]
    best: tuple[float, str, str] | None = None
    for codec in guesses:
        if not codec:
            continue
        text = body.decode(codec, errors="replace")
        share = text.count("\ufffd") / max(len(text), 1)
        if best is None or share < best[0]:
            best = (share, codec, text)
    assert best is not None
    share, codec, text = best
    if share > _MAX_REPLACED_SHARE:
        raise ExtractionError(
            f"invalid bytes beyond repair: {share:.1%} of the page does not decode as {codec}"
        )
    return DecodedPage(_clean(text), codec, declared, truncated)


def _clean(text: str) -> str:
    # lxml refuses str input that carries an XML encoding declaration.
    return _XML_DECLARATION.sub("", text, count=1).replace("\x00", "")
