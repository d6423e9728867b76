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

from crawler.facts.dates import ParsedDate, normalize_digits, parse_date
from crawler.text.cleaning.title import is_outlet_name
from crawler.text.names import HAN, ORGANISATION, ROLE, looks_like_person, split_names

_FIELD_LABELS = {
    "date": (
        "发布时间",
        "发布日期",
        "发表时间",
        "发表日期",
        "更新时间",
        "更新日期",
        "最近更新",
        "最后更新",
        "发文日期",
        "成文日期",
        "时间",
        "日期",
    ),
    "source": (
        "本文来源",
        "来源于",
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
        "采写",
        "文/图",
        "图/文",
        "文图",
    ),
    # Credits for pictures and production: metadata, but the people named are not the authors.
    "credit": ("摄影", "摄像", "图片", "制图", "出品", "监制", "美编"),
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
        "编辑次数",
        "浏览次数",
        "阅读次数",
        "阅读量",
        "点击数",
        "点击量",
        "点击率",
        "点击次数",
        "点击",
        "访问量",
        "浏览",
        "阅读",
        "人气",
        "评论",
    ),
    "length": ("字数",),
    # The index table of a 政府信息公开 document: its fields describe the document, not its text.
    "disclosure": (
        "索引号",
        "主题分类",
        "体裁分类",
        "组配分类",
        "发文机关",
        "发布机构",
        "发文字号",
        "文号",
        "标题",
        "有效性",
        "统一登记号",
        "公开方式",
        "公开范围",
        "主题词",
    ),
}
_KIND_OF = {label: kind for kind, labels in _FIELD_LABELS.items() for label in labels}


def _label_pattern(label: str) -> str:
    # Templates pad short labels to the width of longer ones: `作  者：`, `来　源：`, `索 引 号：`.
    if len(label) > 3:
        return re.escape(label)
    return r"[ \t]{0,3}".join(map(re.escape, label))


# `编辑/苏芳`, `出品︱网易科学人` and `责编|陈梦莹` separate label and value like a colon.
_LABEL = re.compile(
    "(?P<label>"
    + "|".join(map(_label_pattern, sorted(_KIND_OF, key=len, reverse=True)))
    + r")\s*[:：|丨︱/]\s*"
)
_EDITOR_LABELS = {"责任编辑", "责编", "编辑"}
_PUBLISH_LABELS = {"发布时间", "发布日期", "发表时间", "发表日期"}
_CHROME_TOKEN = re.compile(
    r"[\[【(（]?\s*(?:字号\s*[:：]?\s*(?:\[?大\]?\s*\[?中\]?\s*\[?小\]?|A-\s*A\s*A\+|T\s*T\s*T)|打印本页|我要打印|打印|关闭窗口|关闭|收藏|分享到\s*[:：]?"
    r"|分享给好友阅读\s*[:：]?|评论\s*[(（]\s*\d+\s*[)）]|调整字体|字体\s*[:：]?\s*大\s*中\s*小|历史版本)\s*[\]】)）]?"
)
# `2010年6月15日 星期二 来源：…`: the weekday old portals print after the date says nothing the date
# does not; only right after a date's digits or 日, so `周一` in a value stays.
_WEEKDAY = re.compile(r"(?<=[\d日号])\s*[(（]?(?:星期|礼拜|周)[一二三四五六日天][)）]?")
_SEPARATORS = " \t|丨/\\【】[]()（）·,，;；"
_DATE_VALUE = re.compile(r"^[\d\s年月日号:：\-/.T时分秒点]+(?:\s*[AaPp]\.?[Mm]\.?)?$")
# `最近更新：海濶（2020-02-14）`: who changed the page last, then when.
_DATE_AFTER_WHO = re.compile(r"^[^()（）]{1,20}?\s*[(（](?P<date>[\d\s年月日号:：\-/.T时分秒点]+)[)）]?$")
# `医技药剂党支部、药剂科供稿`: a source credit with the verb after the name.
_SUPPLIED = re.compile(r"^(?P<source>[\u4e00-\u9fff、·]{2,30}?)(?:供稿|供图|提供)$")
_COUNTER_VALUE = re.compile(r"^[\d,]*\s*次?(?:\s*[(（]?\s*\d*\s*[)）]?)?$")
_EDITOR_CODE = re.compile(r"(?:_[A-Za-z]+\d+|\s+[A-Z]{1,4}\d+)$")
# `来源：本站原创` says the site wrote it: no other publication to name.
# `来源：每经记者 张蕊 摄` under a picture credits the photo, not the article.
_PHOTO_VALUE = re.compile(r"(?:摄|摄影|供图)$")
_THIS_SITE = frozenset({"本站", "本网", "原创", "本站原创", "本网原创", "本站编辑", "本网编辑"})
_ORGANISATION_VALUE = re.compile(r"^[\u4e00-\u9fff、·]{2,20}$")
_MAX_LINE, _MAX_SOURCE, _MAX_EDITOR = 160, 30, 20
_MAX_DISCLOSURE_VALUE = 80  # a document's title is the longest field of its index table
# `石佳/中国青年报`: the reporter, then the paper, as reprints credit them.
_NAME_SLASH_OUTLET = re.compile(
    rf"^(?P<names>[{HAN}]{{2,4}}(?:[\s、]+[{HAN}]{{2,4}})*)\s*[/／]\s*(?P<source>[{HAN}·]{{2,16}})$"
)
_OUTLET_MARKS = "·•・"  # `· 新华社`: the mark info bars put between the date and the outlet
_DATE_THEN_REST = re.compile(
    r"^(?P<date>[\d\s年月日号:：\-/.T时分秒点]+(?:\s*[AaPp][Mm])?)\s*(?P<rest>[^\d].*)$"
)

# `本网讯(记者 …)`, `长江网10月4日讯（记者陈智 整合）`, `新华社巴黎12月9日电（记者唐霁）`: the medium
# (and the place and day of the dateline), 讯 or 电 (Hong Kong papers bracket it: `【本报讯】`), then
# the reporters in parentheses.
_NEWS_BYLINE = re.compile(
    r"^[【\[]?(?:本[报网台刊站]|[\u4e00-\u9fff]{2,12}?(?:\d{1,2}月\d{1,2}日)?)[讯电][】\]]?\s*"
    rf"[(（](?P<names>\s*[\u4e00-\u9fff]{{0,6}}?{ROLE}[^()（）]{{2,60}})[)）]\s*"
)
# `本报记者 鲁婷 肖中华`, `半月谈记者 史卫燕`, `（记者 岳品瑜 董晗萱）`, `新华社记者邹多为、唐诗凝、丁乐`,
# `文/栗思`, `作者 王之言 高孜然`, `【文/观察者网专栏作者 王文】`, `《棱镜》作者 周纯`: a role (after a
# short media name), then names only, the whole line perhaps in brackets.
_NAMES = rf"[{HAN}·]{{1,4}}(?:[\s、,，&＆]+[{HAN}·]{{1,4}})*"
_LINE_BYLINE = re.compile(
    rf"^[(（【\[]?\s*(?:文\s*[/／]\s*)?(?:《[^》]{{1,12}}》|[\u4e00-\u9fff]{{2,8}}?)?"
    rf"(?P<role>{ROLE}|文/图|图/文|作者|执笔|文(?=\s*[/／]))(?P<gap>\s*[:：/／]\s*|\s+|)(?P<names>{_NAMES})\s*[)）】\]]?$"
)
# `新京报讯2019年…`, `华龙网-新重庆客户端讯 今（9）日…`: the medium's dateline without a reporter;
# `证券时报e公司讯，`: the paper, then its channel named with Latin letters.
_DATELINE = re.compile(
    rf"^(?P<medium>[{HAN}]{{2,12}}(?:-[{HAN}]{{2,12}})?)(?:[A-Za-z]+[{HAN}]{{0,6}})?讯"
    rf"(?:\s+|[，,：:]\s*|(?=[\d{HAN}]))"
)
# `本文来源于国家统计局`: a source named in a sentence rather than after a label.
_SOURCE_SENTENCE = re.compile(
    rf"^(?:本文|本稿|文章|稿件)?(?:来源于|来自|转自|转载自)\s*(?P<source>[{HAN}·]{{2,20}})[。.]?$"
)
# `2019-09-09 08:30 新华社`, `· 新华社`: an outlet's name beside the date, without a label.
_UNLABELLED_SOURCE = re.compile(rf"^[·•・|丨\s]*(?P<source>[{HAN}]{{2,12}}(?:[-—][{HAN}]{{2,12}})?)$")
# A credit closing the last paragraph: `…举行。（张巨峰）`, `（评论员 罗博 萧海川）`, `(文/图 刘玺东 易赛楠)`.
_CLOSING_CREDIT = re.compile(
    rf"(?:^|(?<=[。！？!?”」…]))\s*[(（]\s*(?P<role>{ROLE}|文/图|图/文|文)?\s*[:：/]?\s*(?P<names>{_NAMES})\s*[)）]$"
)


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


def _clean_value(value: str) -> str:
    return value.strip(_SEPARATORS + " ")


def _apply(fields: MetaFields, label: str, value: str, reference: date | None) -> bool:
    kind = _KIND_OF["".join(label.split())]
    if kind == "date":
        if not value:
            return True
        who = _DATE_AFTER_WHO.match(value)
        value = who["date"] if who else value
        parsed = parse_date(value, reference=reference)
        if parsed is None or not _DATE_VALUE.match(normalize_digits(value)):
            return False
        # 发布 names the publication; 成文/发文/更新 dates beside it (a disclosure table) do not.
        publish = "".join(label.split()) in _PUBLISH_LABELS
        fields.published_at = parsed if publish else fields.published_at or parsed
    elif kind == "source":
        if len(value) > _MAX_SOURCE:
            return False
        if value not in _THIS_SITE and not _PHOTO_VALUE.search(value):
            fields.source = fields.source or value or None
    elif kind == "author":
        names = split_names(value)
        if value and not names:
            # `作者：医技药剂党支部`: an organisation signs, and no person is named.
            return ORGANISATION.search(value) is not None and _ORGANISATION_VALUE.match(value) is not None
        fields.authors.extend(name for name in names if name not in fields.authors)
    elif kind == "editor":
        if len(value) > _MAX_EDITOR:
            return False
        if "".join(label.split()) in _EDITOR_LABELS and value and not fields.editor:
            fields.editor = _EDITOR_CODE.sub("", value)
    elif kind == "counter":
        return _COUNTER_VALUE.match(value) is not None
    elif kind == "credit":
        return len(value) <= _MAX_SOURCE
    elif kind == "disclosure":
        return len(value) <= _MAX_DISCLOSURE_VALUE
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
    credit = _NAME_SLASH_OUTLET.match(text)
    if credit and is_outlet_name(credit["source"]):
        names = split_names(credit["names"])
        if names and all(looks_like_person(name) for name in names):
            return MetaFields(source=credit["source"], authors=names)
    sentence = _SOURCE_SENTENCE.match(text)
    if sentence:
        return MetaFields(source=sentence["source"])
    without_chrome = _CHROME_TOKEN.sub(" ", _WEEKDAY.sub(" ", text))
    had_chrome = _CHROME_TOKEN.search(text) is not None
    labels = list(_LABEL.finditer(without_chrome))
    fields = MetaFields()
    lead = _clean_value(without_chrome[: labels[0].start()] if labels else without_chrome)
    lead, fields.source = _outlet_after_date(lead)
    if not labels and text[:1] in _OUTLET_MARKS and _UNLABELLED_SOURCE.match(lead) and is_outlet_name(lead):
        return MetaFields(source=lead)
    supplied = _SUPPLIED.match(lead)
    if supplied:
        fields.source = supplied["source"]
    elif lead:
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


def _outlet_after_date(lead: str) -> tuple[str, str | None]:
    """`2019-09-09 08:30 新华社` -> the date and the outlet, when the words after the date name one."""
    found = parse_date(lead)
    if found is None:
        return lead, None
    match = _DATE_THEN_REST.match(normalize_digits(lead))
    if not match:
        return lead, None
    outlet = _UNLABELLED_SOURCE.match(match["rest"])
    if outlet and is_outlet_name(outlet["source"]):
        return match["date"], outlet["source"]
    return lead, None


def parse_byline(paragraph: str) -> Byline | None:
    """Authors of a byline opening a paragraph (`本网讯(记者 杜娟 陆致吉)…`, `本报记者 鲁婷 肖中华`).

    A dateline that names no reporter (`新京报讯 …`, `华龙网-新重庆客户端讯 …`) gives no authors,
    but is not part of the paragraph either.
    """
    text = paragraph.strip()
    match = _NEWS_BYLINE.match(text) or _LINE_BYLINE.match(text)
    if not match:
        dateline = _DATELINE.match(text)
        if dateline and is_outlet_name(dateline["medium"].split("-")[-1]) and text[dateline.end() :].strip():
            return Byline(authors=[], rest=text[dateline.end() :].strip())
        return None
    names = split_names(match["names"])
    if not names:
        return None
    # `记者邹多为` runs role and name together; `记者见面会`, `作者简介` are words, not names.
    run_together = "gap" in match.groupdict() and not match["gap"]
    if run_together and (match["role"] in ("作者", "文") or not looks_like_person(names[0])):
        return None
    return Byline(authors=names, rest=text[match.end() :].strip())


def parse_closing_credit(paragraph: str) -> list[str]:
    """Authors credited in parentheses at the end of a paragraph (`…举行。（张巨峰）`), else none."""
    match = _CLOSING_CREDIT.search(paragraph.strip())
    if not match:
        return []
    names = split_names(match["names"])
    if match["role"] is None and not all(looks_like_person(name) for name in names):
        return []  # `（德清县发改局）`, `（化名）`: without a role word only people's names count
    return names
