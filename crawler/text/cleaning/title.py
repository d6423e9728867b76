"""Titles: which line is the headline, and what around it is not the title (site suffix, 【source】)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BRACKET_PREFIX = re.compile(r"^(?P<open>[【\[])\s*(?P<tag>[^】\]]{2,20}?)\s*[】\]]\s*")
# A bracketed prefix naming a medium is the source (`【湘潭日报】`, `[新华社]`).
_OUTLET_SHAPE = re.compile(r"^[\u4e00-\u9fff]{2,12}(?:[-—·][\u4e00-\u9fff]{2,12})?$")
_CHANNEL = re.compile(r"(?:财经|科技|资讯|综合)$")
_THIS_OUTLET = frozenset({"本报", "本网", "本台", "本刊", "本站"})
_MEDIUM = re.compile(r"(?:报|新闻网|网|电视台|广播电台|台|新闻社|社|融媒体中心|发布|客户端)$")
_SITE_SUFFIX = re.compile(
    r"\s*(?:[-_|–]|\s丨\s)\s*[^-_|–]{2,40}(?:政府|网|网站|门户网站|局|委员会|日报|报|在线|新闻网|平台)$"
)
_TITLE_MIN, _TITLE_MAX = 5, 80
_NOT_TITLE_END = re.compile(r"[，,；;：:、]$")
_SENTENCE = re.compile(r"[。！？!?]")
_COMMA = re.compile(r"[，,]")
_TITLE_WITH_COMMA_MAX = 40
_TITLE_MIN_HAN = 4
_HAN = re.compile(r"[\u4e00-\u9fff]")
# `原标题：…`, and the reprint note `（原标题：…）`, `（原题为《…》）` closing a story.
_ORIGINAL_TITLE = re.compile(r"^[（(]?\s*(?:(?:原标题|原题目|原题)\s*[:：]|原题为(?=\s*《))\s*")
_CLOSING_BRACKET = re.compile(r"[）)]\s*$")
_SERIES = re.compile(
    r"^[\u4e00-\u9fff\w]{2,20}[·•・][\u4e00-\u9fff\w]{2,20}(?:[①-⑳]|[(（][一二三四五六七八九十\d]+[)）]|之[一二三四五六七八九十\d]+)?$"
)


@dataclass(frozen=True, slots=True)
class TitleParts:
    """A headline split into the title proper and the source its `【…】` prefix names."""

    title: str
    source: str | None


def is_medium_name(name: str) -> bool:
    """Whether a name is that of a newspaper, site, station or agency (`湘潭日报`, `新华社`)."""
    return _MEDIUM.search(name.strip()) is not None


def is_outlet_name(name: str) -> bool:
    """Whether a short unlabelled name is an outlet: a medium, or its channel (`新浪财经-自媒体综合`)."""
    name = name.strip()
    if not _OUTLET_SHAPE.match(name) or name in _THIS_OUTLET:
        return False
    return any(is_medium_name(part) or _CHANNEL.search(part) for part in re.split(r"[-—·]", name) if part)


def split_title(line: str) -> TitleParts:
    """Split `【湘潭日报】标题 - 站名` into the title and the source; the site suffix is dropped.

    A `【…】` prefix that names no medium is a campaign or column tag editors put into the headline
    (`【不忘初心 牢记使命】…`) and stays. A `[…]` prefix in ASCII brackets is a label a CMS or an
    aggregator (or a spam injector) puts before someone else's headline, and goes.
    """
    original = _ORIGINAL_TITLE.match(line.strip())
    line = _ORIGINAL_TITLE.sub("", line.strip())
    if original and original.group(0)[:1] in "（(":
        line = _CLOSING_BRACKET.sub("", line).strip("《》")
    source = None
    prefix = _BRACKET_PREFIX.match(line)
    if prefix and len(line) - prefix.end() >= _TITLE_MIN_HAN:
        if is_medium_name(prefix["tag"]):
            source = prefix["tag"]
            line = line[prefix.end() :]
        elif prefix["open"] == "[":
            line = line[prefix.end() :]
    return TitleParts(title=_SITE_SUFFIX.sub("", line).strip(), source=source)


def is_title_like(line: str) -> bool:
    """Whether a line could be a headline: short, not a sentence, not ending mid-clause."""
    line = line.strip()
    if not _TITLE_MIN <= len(line) <= _TITLE_MAX or _NOT_TITLE_END.search(line) or "。" in line:
        return False
    if len(line) > _TITLE_WITH_COMMA_MAX and _COMMA.search(line):
        return False
    han = len(_HAN.findall(line))
    if han < _TITLE_MIN_HAN or han * 2 < len(line):
        return False
    # A headline may exclaim or ask at its end, never in its middle.
    return not _SENTENCE.search(line.rstrip("！？!?"))


def is_original_title_line(line: str) -> bool:
    """Whether a line restates the story's original headline (`原标题:…`, `（原题为《…》）`)."""
    line = line.strip()
    match = _ORIGINAL_TITLE.match(line)
    if match is None:
        return False
    # A bracketed note is one only when the bracket closes the line.
    return match.group(0)[:1] not in "（(" or _CLOSING_BRACKET.search(line) is not None


def is_series_line(line: str) -> bool:
    """Whether a line names a column or series: `谋划2024·教育局长访谈④`."""
    return _SERIES.match(line.strip()) is not None
