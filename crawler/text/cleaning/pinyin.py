"""Repair text that went through a "simplified → traditional with pinyin" mirror converter.

Such converters write `本網(wǎng)訊` for 本网讯: every parenthesised pinyin syllable with a tone mark
right after a Han character is an annotation. They also pass the page through a GBK decoder that
lost a byte here and there; from the lost byte on, characters are decoded one byte out of step
(`座談??h委` was `座談。縣委`) until an ASCII byte puts the decoder back in step. The repair
re-encodes the run as GBK, drops the byte of the lost character and decodes the rest in step. The
lost character itself cannot be known; it is restored as `。` only where a sentence can end there
(its second byte is that of `。` and a clause of several characters precedes), otherwise dropped.
"""

from __future__ import annotations

import re

from core.chinese import TONE_MARKS, has_pinyin_annotations, strip_pinyin

_HAN = "\u3400-\u9fff"
_PINYIN_LETTERS = f"a-zü{TONE_MARKS}"
# A run of debris: the `?` of the lost byte, the out-of-step characters (full-width `?`/`!` were
# folded to ASCII), and either the ASCII byte that ends the run or a last `?` that swallowed the
# `(` of a pinyin annotation, leaving `xùn)` behind.
_DEBRIS = re.compile(
    rf"\?(?P<mid>[?!{_HAN}\u3000-\u303f\uff00-\uffef]{{1,24}}?)"
    rf"(?:\?(?P<pinyin>[{_PINYIN_LETTERS}]+)\)|(?P<end>[\x40-\x7e]))"
)
_CLAUSE_END = re.compile(rf"[{_HAN}]{{4}}$")
_CLAUSE_WINDOW = 4
_FOLDED = {"?": "？", "!": "！"}
_GBK_SENTENCE_END_TRAIL = 0xA3  # second byte of 。 (A1 A3) in GBK


def _realign(match: re.Match[str]) -> str:
    mid = "".join(_FOLDED.get(ch, ch) for ch in match["mid"])
    try:
        raw = mid.encode("gbk") + (match["end"] or "").encode("ascii")
    except UnicodeEncodeError:
        return match.group()
    if not raw:
        return ""
    lost_trail, rest = raw[0], raw[1:]
    if match["pinyin"] is not None and len(rest) % 2:
        rest = rest[:-1]  # the lead byte of a character whose second byte went with the `(`
    try:
        repaired = rest.decode("gbk")
    except UnicodeDecodeError:
        return match.group()
    before = match.string[max(0, match.start() - _CLAUSE_WINDOW) : match.start()]
    if lost_trail == _GBK_SENTENCE_END_TRAIL and _CLAUSE_END.search(before):
        repaired = "。" + repaired
    return repaired


def repair_gbk_debris(text: str) -> str:
    """Decode `?` debris runs of a lost GBK byte back in step: `座談??h委` → `座談。縣委`."""
    if "?" not in text:
        return text
    return _DEBRIS.sub(_realign, text)


def repair_mirror_text(text: str) -> str:
    """Undo a mirror converter: strip pinyin annotations, then repair the GBK debris it left."""
    if not has_pinyin_annotations(text):
        return text
    return repair_gbk_debris(strip_pinyin(text))
