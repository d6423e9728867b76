"""Noise that is not site chrome: injected spam, paywall cuts, template placeholders, 文库 pages."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words of the keyword lists hacked or spam sites inject; an article never lists several of them.
_SPAM_WORDS = re.compile(
    r"精品|国产|国模|一区|二区|三区|无码|有码|午夜|成人|av|黄色|色情|日日|夜夜|天天|人人|久久|伊人|在线(播放|观看|视频)?"
    r"|视频在线|高清|免费(观看|视频)|亚洲|欧美|日韩|九色|porn|x{3}|博彩|娱乐城|棋牌|彩票|赌场|网站",
    re.IGNORECASE,
)
_LIST_SEPARATOR = re.compile(r"[,，、|]")
_SPAM_MIN_ITEMS = 4
_SPAM_MIN_HITS = 3

_TRUNCATION_MARKER = re.compile(
    r"此处省略\s*\d+\s*字|点击下载全文|不往下看了|预览结束|当前显示\s*\d+\s*字|还剩\s*\d+\s*字|^下载全文$|^本文\s*\d+$"
    r"|^(阅读|查看)全文$|^(未完待续|全文未完)"
)
_ANNOUNCED = re.compile(r"全文\s*(\d+)\s*字")

# `xx` stands for a redacted place, date, person or number only before such a word: "XX平台" in
# a news story is ordinary anonymising, not a template.
_PLACEHOLDER = re.compile(
    r"(?<![A-Za-z])[xX×]{2,}(?=[县市区乡镇村省月日年号%％]|同志|学区|学校|中学|小学|单位|局)"
    r"|(?<=[\u4e00-\u9fff、，,])_(?=[\u4e00-\u9fff、，,])|_{2,}"
)
# A page title joins headline, column and site with `_` (`蔡健雅_百度百科`): there only `xx` and `__`
# are blanks.
_TITLE_SEPARATOR = re.compile(r"(?<!_)_(?!_)")
# `今日股市_明日大盘_股票行情_…`: underscores joining SEO keywords are not blanks to fill in.
_KEYWORD_LIST = re.compile(r"(?:[^\s_，。,]{1,16}_){3,}[^\s_，。,]{1,16}")
_DOCUMENT_SHARING = re.compile(
    r"文库|wentop\.com|doc88|docin|豆丁|道客巴巴|原创力文档|book118|renrendoc|人人文库|jinchutou|金锄头|wenku",
    re.IGNORECASE,
)
_DOCUMENT_SHARING_CHROME = re.compile(
    r"^到.{1,10}文库首页$|^.{0,10}文库(首页)?$|^(VIP|会员)专享|^下载(文档|本文)"
)


@dataclass(frozen=True, slots=True)
class Truncation:
    """A paywall or preview cut: the marker was seen; the full length when the page announces it."""

    announced_length: int | None


def is_spam_line(line: str) -> bool:
    """Whether a line is a keyword-stuffed spam list unrelated to any article."""
    items = [item for item in _LIST_SEPARATOR.split(line) if item.strip()]
    if len(items) < _SPAM_MIN_ITEMS or line.rstrip().endswith("。"):
        return False
    if sum(1 for item in items if len(item.strip()) > 16) > len(items) // 2:
        return False
    hits = sum(1 for item in items if _SPAM_WORDS.search(item))
    return hits >= _SPAM_MIN_HITS


def truncation(line: str) -> Truncation | None:
    """A paywall/preview marker line (`此处省略835字`, `全文5700字,当前显示2567字`), or None."""
    stripped = line.strip()
    if not _TRUNCATION_MARKER.search(stripped):
        return None
    announced = _ANNOUNCED.search(stripped)
    return Truncation(int(announced.group(1)) if announced else None)


def has_placeholders(text: str) -> bool:
    """Whether the text has redacted template placeholders (`xx县`, `xx月xx日`, `__`)."""
    return _PLACEHOLDER.search(_KEYWORD_LIST.sub(" ", text)) is not None


def has_title_placeholders(title: str) -> bool:
    """Whether a headline has template placeholders (`在xx县教育大会上的讲话`, `关于__的通知`)."""
    return has_placeholders(_TITLE_SEPARATOR.sub(" ", title))


def mentions_document_sharing(text: str) -> bool:
    """Whether the text names a document-sharing (文库) site."""
    return _DOCUMENT_SHARING.search(text) is not None


def is_document_sharing_chrome(line: str) -> bool:
    """Whether a line is navigation of a document-sharing site (`到文鼎文库首页`)."""
    return _DOCUMENT_SHARING_CHROME.match(line.strip()) is not None
