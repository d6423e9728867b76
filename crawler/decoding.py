"""Turning the bytes of a page into text without mojibake.

Order of evidence: byte-order mark, then the HTTP header, then `<meta charset>`, then detection
(charset-normalizer). Chinese sites often declare the wrong charset (a UTF-8 page saying GB2312, a
GBK page saying ISO-8859-1), so a declaration is only believed when the bytes agree with it.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

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
    meta_match = _META_CHARSET.search(body[:_META_SCAN])
    meta = normalize_charset(meta_match.group(1).decode("ascii", "ignore")) if meta_match else None
    declared = header or meta
    for bom, codec in _BOMS:
        if body.startswith(bom):
            text = _decode_strict(body, codec, final=not truncated)
            if text is not None:
                return DecodedPage(_clean(text), codec, declared, truncated)
    for codec in _candidates(body, header, meta):
        text = _decode_strict(body, codec, final=not truncated)
        if text is not None and _plausible(text, codec):
            return DecodedPage(_clean(text), codec, declared, truncated)
    return _decode_damaged(body, declared, truncated)


def _candidates(body: bytes, header: str | None, meta: str | None) -> list[str]:
    # Valid multi-byte UTF-8 almost never happens by accident, so it beats any declaration.
    order = ["utf-8", header, meta, "gb18030"]
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


def _plausible(text: str, codec: str) -> bool:
    """Whether decoded text looks like a real page rather than mojibake."""
    if codec in ("utf-8", "utf-8-sig", "gb18030"):
        return True
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
