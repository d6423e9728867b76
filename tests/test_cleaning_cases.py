"""Data-driven cases of the text-cleaning functions: one test per case in tests/cases/<function>.yaml."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core.chinese import has_pinyin_annotations, is_traditional, strip_pinyin, to_simplified
from crawler.text.cleaning.boilerplate import boilerplate_kind, footer_fields, parse_breadcrumb
from crawler.text.cleaning.captions import is_caption, strip_image_label
from crawler.text.cleaning.noise import (
    has_placeholders,
    has_title_placeholders,
    is_document_sharing_chrome,
    is_spam_line,
    mentions_document_sharing,
    truncation,
)
from crawler.text.cleaning.pinyin import (
    repair_gbk_debris,
    repair_mirror_text,
)
from crawler.text.cleaning.prose import prose_chars
from crawler.text.cleaning.script import fold_width
from crawler.text.cleaning.title import (
    is_original_title_line,
    is_outlet_name,
    is_series_line,
    is_title_like,
    split_title,
)
from tests.yaml_cases import load_cases, plain


def _check(function: Callable[[str], Any], value: str, expected: Any) -> None:
    assert plain(function(value)) == expected


@pytest.mark.parametrize(("value", "expected"), load_cases("repair_mirror_text"))
def test_repair_mirror_text(value: str, expected: Any) -> None:
    _check(repair_mirror_text, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("repair_gbk_debris"))
def test_repair_gbk_debris(value: str, expected: Any) -> None:
    _check(repair_gbk_debris, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("strip_pinyin_annotations"))
def test_strip_pinyin_annotations(value: str, expected: Any) -> None:
    _check(strip_pinyin, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("has_pinyin_annotations"))
def test_has_pinyin_annotations(value: str, expected: Any) -> None:
    _check(has_pinyin_annotations, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("boilerplate_kind"))
def test_boilerplate_kind(value: str, expected: Any) -> None:
    _check(boilerplate_kind, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("parse_breadcrumb"))
def test_parse_breadcrumb(value: str, expected: Any) -> None:
    _check(parse_breadcrumb, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("footer_fields"))
def test_footer_fields(value: str, expected: Any) -> None:
    _check(footer_fields, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("is_caption"))
def test_is_caption(value: str, expected: Any) -> None:
    _check(is_caption, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("strip_image_label"))
def test_strip_image_label(value: str, expected: Any) -> None:
    _check(strip_image_label, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("is_spam_line"))
def test_is_spam_line(value: str, expected: Any) -> None:
    _check(is_spam_line, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("truncation"))
def test_truncation(value: str, expected: Any) -> None:
    _check(truncation, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("has_title_placeholders"))
def test_has_title_placeholders(value: str, expected: Any) -> None:
    _check(has_title_placeholders, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("has_placeholders"))
def test_has_placeholders(value: str, expected: Any) -> None:
    _check(has_placeholders, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("mentions_document_sharing"))
def test_mentions_document_sharing(value: str, expected: Any) -> None:
    _check(mentions_document_sharing, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("is_document_sharing_chrome"))
def test_is_document_sharing_chrome(value: str, expected: Any) -> None:
    _check(is_document_sharing_chrome, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("is_traditional"))
def test_is_traditional(value: str, expected: Any) -> None:
    _check(is_traditional, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("to_simplified"))
def test_to_simplified(value: str, expected: Any) -> None:
    _check(to_simplified, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("fold_width"))
def test_fold_width(value: str, expected: Any) -> None:
    _check(fold_width, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("split_title"))
def test_split_title(value: str, expected: Any) -> None:
    _check(split_title, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("is_title_like"))
def test_is_title_like(value: str, expected: Any) -> None:
    _check(is_title_like, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("is_series_line"))
def test_is_series_line(value: str, expected: Any) -> None:
    _check(is_series_line, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("is_original_title_line"))
def test_is_original_title_line(value: str, expected: Any) -> None:
    _check(is_original_title_line, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("prose_chars"))
def test_prose_chars(value: str, expected: Any) -> None:
    _check(prose_chars, value, expected)


@pytest.mark.parametrize(("value", "expected"), load_cases("is_outlet_name"))
def test_is_outlet_name(value: str, expected: Any) -> None:
    _check(is_outlet_name, value, expected)
