"""A page's metadata line(s): date, source, authors, editor, counters, and the chrome beside them.

`parse_meta_line('发布时间:2023-09-08 11:11作者:王贤忠')` gives the fields; it returns None for any
line that is not wholly metadata, so body sentences that happen to contain `时间:` stay in the
body. `parse_byline` reads bylines at the start of a paragraph (`本网讯(记者 杜娟 陆致吉)…`,
`本报记者 鲁婷 肖中华`). Lines are expected in simplified script.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from crawler.dates import ParsedDate, normalize_digits, parse_date

_FIELD_LABELS = {
    "date": (
        "发布时间",
        "发布日期",
        "发表时间",
        "发表日期",
        "更新时间",
        "发文日期",
        "成文日期",
        "时间",
        "日期",
    ),
    "source": (
        "本文来源",
        "信息来源",
        "文章来源",
        "新闻来源",
        "稿件来源",
        "来源",
        "源自",
        "供稿",
        "稿源",
        "出处",
    ),
    "author": (
        "本报记者",
        "特约记者",
        "通讯员",
        "撰稿人",
        "撰稿",
        "作者",
        "记者",
        "文/图",
        "图/文",
        "文图",
        "摄影",
    ),
    "editor": (
        "责任编辑",
        "责编",
        "编辑",
        "审核",
        "校对",
        "审稿",
        "初审",
        "复审",
        "终审",
        "发布人",
        "发布者",
    ),
    "counter": (
        "浏览量",
        "浏览次数",
        "阅读次数",
        "阅读量",
        "点击数",
        "点击量",
        "点击率",
        "访问量",
        "浏览",
        "阅读",
        "人气",
        "评论",
    ),
    "length": ("字数",),
}
_KIND_OF = {label: kind for kind, labels in _FIELD_LABELS.items() for label in labels}
_LABEL = re.compile(
    "(?P<label>" + "|".join(sorted(map(re.escape, _KIND_OF), key=len, reverse=True)) + r")\s*[:：|丨]\s*"
)
_EDITOR_LABELS = {"责任编辑", "责编", "编辑"}
_CHROME_TOKEN = re.compile(
    r"[\[【(（]?\s*(?:字号\s*[:：]?\s*\[?大\]?\s*\[?中\]?\s*\[?小\]?|打印本页|打印|关闭窗口|关闭|收藏|分享到\s*[:：]?"
    r"|分享给好友阅读\s*[:：]?|评论\s*[(（]\s*\d+\s*[)）])\s*[\]】)）]?"
)
_SEPARATORS = " \t|丨/\\【】[]()（）·,，;；"
_DATE_VALUE = re.compile(r"^[\d\s年月日号:：\-/.T时分秒点]+$")
_COUNTER_VALUE = re.compile(r"^[\d,]*\s*次?(?:\s*[(（]?\s*\d*\s*[)）]?)?$")
_EDITOR_CODE = re.compile(r"(?:_[A-Za-z]+\d+|\s+[A-Z]{1,4}\d+)$")
_NAME_SPLIT = re.compile(r"[\s、,，/;；]+")
_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,5}$")
# Words of links and notes that follow a byline (`作者:余毅菁 返回富达,查看更多`); never names.
_NOT_NAME = re.compile(r"查看|更多|返回|点击|阅读|原文|全文|分享|链接|网站|整理|转载|编辑")
_MAX_LINE, _MAX_SOURCE, _MAX_EDITOR = 160, 30, 20

_ROLE = r"(?:本报记者|特约记者|记者|通讯员|实习生|摄影|见习记者)"
_NEWS_BYLINE = re.compile(rf"^本[报网台刊站]讯\s*[(（](?P<names>\s*{_ROLE}[^)）]{{2,60}})[)）]\s*")
# `本报记者 鲁婷 肖中华`, `半月谈记者 史卫燕`: a role (after a short media name), then names only.
_LINE_BYLINE = re.compile(
    rf"^(?:[\u4e00-\u9fff]{{2,8}}?)?(?:{_ROLE}|文/图|图/文)(?:\s*[:：]\s*|\s+)(?P<names>[\u4e00-\u9fff·]{{2,4}}(?:[\s、,，]+[\u4e00-\u9fff·]{{2,4}})*)$"
)
_ROLE_WORD = re.compile(_ROLE)


@dataclass(slots=True)
class MetaFields:
    """Fields read off a metadata line; empty fields were not on the line."""

    published_at: ParsedDate | None = None
    source: str | None = None
    authors: list[str] = field(default_factory=list)
    editor: str | None = None
    length: int | None = None  # 字数 of a document-sharing page: the full text's length


@dataclass(frozen=True, slots=True)
class Byline:
    """Authors named at the start of a paragraph, and the paragraph without the byline."""

    authors: list[str]
    rest: str


def split_names(value: str) -> list[str]:
    """Personal names from `杜娟 陆致吉` or `王贤忠、李平`; role words are dropped."""
    names = []
    for part in _NAME_SPLIT.split(_ROLE_WORD.sub(" ", value)):
        if _NAME.match(part) and not _NOT_NAME.search(part) and part not in names:
            names.append(part)
    return names


def _clean_value(value: str) -> str:
    return value.strip(_SEPARATORS + " ")


def _apply(fields: MetaFields, label: str, value: str, reference: date | None) -> bool:
    kind = _KIND_OF[label]
    if kind == "date":
        if not value:
            return True
        parsed = parse_date(value, reference=reference)
        if parsed is None or not _DATE_VALUE.match(normalize_digits(value)):
            return False
        fields.published_at = fields.published_at or parsed
    elif kind == "source":
        if len(value) > _MAX_SOURCE:
            return False
        fields.source = fields.source or value or None
    elif kind == "author":
        names = split_names(value)
        if value and not names:
            return False
        fields.authors.extend(name for name in names if name not in fields.authors)
    elif kind == "editor":
        if len(value) > _MAX_EDITOR:
            return False
        if label in _EDITOR_LABELS and value and not fields.editor:
            fields.editor = _EDITOR_CODE.sub("", value)
    elif kind == "counter":
        return _COUNTER_VALUE.match(value) is not None
    elif kind == "length":
        digits = value.rstrip("字")
        if not digits.isdigit():
            return False
        fields.length = int(digits)
    return True


def parse_meta_line(line: str, *, reference: date | None = None) -> MetaFields | None:
    """Fields of a metadata line (`时间:2023-06-20 来源:时尚东区 阅读次数:`), or None if it is not one."""
    text = line.strip()
    if not text or len(text) > _MAX_LINE:
        return None
    without_chrome = _CHROME_TOKEN.sub(" ", text)
    had_chrome = without_chrome != text
    labels = list(_LABEL.finditer(without_chrome))
    fields = MetaFields()
    lead = _clean_value(without_chrome[: labels[0].start()] if labels else without_chrome)
    if lead:
        # Only a bare date may stand before the first label (`2024-04-19 08:53:55 来源:…`).
        if not _DATE_VALUE.match(normalize_digits(lead)):
            return None
        fields.published_at = parse_date(lead, reference=reference)
        if fields.published_at is None:
            return None
    elif not labels:
        return fields if had_chrome else None
    for index, match in enumerate(labels):
        end = labels[index + 1].start() if index + 1 < len(labels) else len(without_chrome)
        if not _apply(fields, match["label"], _clean_value(without_chrome[match.end() : end]), reference):
            return None
    return fields


def parse_byline(paragraph: str) -> Byline | None:
    """Authors of a byline opening a paragraph (`本网讯(记者 杜娟 陆致吉)…`, `本报记者 鲁婷 肖中华`)."""
    text = paragraph.strip()
    match = _NEWS_BYLINE.match(text) or _LINE_BYLINE.match(text)
    if not match:
        return None
    names = split_names(match["names"])
    if not names:
        return None
    return Byline(authors=names, rest=text[match.end() :].strip())
