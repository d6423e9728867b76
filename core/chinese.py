"""One normalisation of Chinese text, used by the cleaning of records and by dedupe fingerprints.

Both must agree on what a text says: a traditional mirror with pinyin annotations is cleaned into
the record and fingerprinted against the original with the same rules.
"""

from __future__ import annotations

import re
from functools import cache

from opencc import OpenCC

# Frequent characters that exist only in traditional script (each one changes under t2s; a test
# checks this). Seeing several of them and few simplified-only ones means a traditional text.
TRADITIONAL_ONLY = frozenset(
    "這們個來會說國東長為時進對發與學開關門問見車書過還點麼從當樣總經員機產電應現實驗體無給變種業"
    "黨歲區縣鄉鎮級圖計劃議論認識話語讓請調談設課師習專屬導務環節項領報記編輯責訊網頁際織組範質隊"
    "選舉築買賣條傳億數據態獲歷處難顯層將帶後萬聽們興費標準確優強訪"
)
SIMPLIFIED_ONLY = frozenset(
    "这们个来会说国东长为时进对发与学开关门问见车书过还点么从当样总经员机产电应现实验体无给变种业"
    "党岁区县乡镇级图计划议论认识话语让请调谈设课师习专属导务环节项领报记编辑责讯网页际织组范质队"
    "选举筑买卖条传亿数据态获历处难显层将带后万听兴费标准确优强访"
)
_MIN_TRADITIONAL = 3

_HAN = "\u3400-\u9fff"
# Every tone-marked letter of Hanyu Pinyin, including the syllabic nasals (ń ň ǹ ḿ).
TONE_MARKS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_PINYIN_LETTERS = f"a-zü{TONE_MARKS}"
# A pinyin annotation as mirror converters write it right after a Han character: `網(wǎng)`, also with
# full-width brackets or several syllables. Requiring a tone mark keeps bracketed Latin text such
# as `(a)` or `(PDF)`.
_ANNOTATION = re.compile(
    rf"(?<=[{_HAN}])[(（](?=[{_PINYIN_LETTERS} ]*[{TONE_MARKS}])"
    rf"[{_PINYIN_LETTERS}]+(?: [{_PINYIN_LETTERS}]+)*[)）]"
)


@cache
def _t2s() -> OpenCC:
    return OpenCC("t2s")


@cache
def _changed_by_t2s() -> re.Pattern[str]:
    """A character class of the CJK ideographs that OpenCC t2s changes on their own."""
    converter = _t2s()
    changed = [chr(c) for c in range(0x4E00, 0xA000) if converter.convert(chr(c)) != chr(c)]
    return re.compile("[" + "".join(changed) + "]")


def is_traditional(text: str) -> bool:
    """Whether `text` is written in traditional script (more traditional-only than simplified-only
    frequent characters, and at least a few): what decides to convert a record's text."""
    traditional = sum(1 for ch in text if ch in TRADITIONAL_ONLY)
    if traditional < _MIN_TRADITIONAL:
        return False
    simplified = sum(1 for ch in text if ch in SIMPLIFIED_ONLY)
    return traditional > simplified


def needs_simplification(text: str) -> bool:
    """Whether the text holds any character that t2s would change (a single one is enough)."""
    return _changed_by_t2s().search(text) is not None


def to_simplified(text: str) -> str:
    """The text in simplified script (OpenCC t2s, phrase-aware), converted only when needed."""
    return str(_t2s().convert(text)) if needs_simplification(text) else text


def strip_pinyin(text: str) -> str:
    """Remove the pinyin annotations that follow Han characters: `本網(wǎng)訊` → `本網訊`."""
    return _ANNOTATION.sub("", text)


def has_pinyin_annotations(text: str) -> bool:
    """Whether the text carries the pinyin annotations of a mirror converter."""
    return _ANNOTATION.search(text) is not None
