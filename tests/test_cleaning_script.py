"""Script detection and conversion: the character sets are right and simplified text costs no OpenCC call."""

from __future__ import annotations

import pytest

from core import chinese
from core.chinese import SIMPLIFIED_ONLY, TRADITIONAL_ONLY, is_traditional, to_simplified
from crawler.text.text_reader import normalize_script


def test_every_traditional_only_character_changes_under_t2s() -> None:
    unchanged = [ch for ch in TRADITIONAL_ONLY if to_simplified(ch) == ch]
    assert unchanged == []


def test_no_simplified_only_character_changes_under_t2s() -> None:
    changed = [ch for ch in SIMPLIFIED_ONLY if to_simplified(ch) != ch]
    assert changed == []


def test_simplified_text_is_never_sent_to_opencc(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("OpenCC was called for simplified text")

    monkeypatch.setattr(chinese, "_t2s", refuse)
    text, converted = normalize_script("镇坪县召开教育高质量发展大会\n会上还表彰了先进单位。")
    assert (text, converted) == ("镇坪县召开教育高质量发展大会\n会上还表彰了先进单位。", False)


def test_traditional_text_is_converted_once_and_reported() -> None:
    text, converted = normalize_script("縣委書記李俊宏認真傾聽教師代表發言")
    assert (text, converted) == ("县委书记李俊宏认真倾听教师代表发言", True)
    assert not is_traditional(text)


def test_mirror_text_is_repaired_before_conversion() -> None:
    text, converted = normalize_script("本網(wǎng)訊座談會(huì)現(xiàn)場(chǎng)")
    assert (text, converted) == ("本网讯座谈会现场", True)
