"""Script and width: traditional text to simplified (OpenCC t2s), full-width ASCII to half-width.

Detection is a cheap count of frequent traditional-only characters, so simplified text (almost
every page) never pays for an OpenCC conversion.
"""

from __future__ import annotations

from functools import lru_cache

import opencc

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

# Full-width ASCII letters, digits and signs fold to half-width; Chinese punctuation stays.
_WIDTH_TABLE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if chr(code) not in "，。：；！？（）"}
_WIDTH_TABLE[0x3000] = 0x20


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def is_traditional(text: str) -> bool:
    """Whether `text` is written in traditional characters."""
    traditional = sum(1 for ch in text if ch in TRADITIONAL_ONLY)
    if traditional < _MIN_TRADITIONAL:
        return False
    simplified = sum(1 for ch in text if ch in SIMPLIFIED_ONLY)
    return traditional > simplified


def to_simplified(text: str) -> str:
    """Convert traditional Chinese to simplified with OpenCC's t2s configuration."""
    return str(_converter().convert(text))


def fold_width(text: str) -> str:
    """Fold full-width ASCII letters, digits and signs (and the ideographic space) to half-width."""
    return text.translate(_WIDTH_TABLE)
