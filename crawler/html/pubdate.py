"""Where a Chinese page writes its publication date, besides its meta tags and metadata line.

Each reader returns one candidate (a ParsedDate) or None; `crawler.html.page_reader` ranks them:

- `shown_date`: the date of the metadata line, by its label. An information-disclosure table
  (政府信息公开) gives 成文日期 (when the document was signed) beside 发布日期 (when it was put on
  the site): the publication date is the one labelled 发布, whichever comes first.
- `script_date`: the date a page script fills in. A WeChat article shows an empty
  `<em id="publish_time">` that its script fills from `var ct = "<unix time>"`,
  `var publish_time = "2020-03-13"` or `var createTime = '2023-05-06 10:21'`; portals keep
  `"publishTime"`/`"pubDate"` in their page state. `svr_time` (when the page was served) is not one.
- `url_date`: the day a CMS writes into the article's path: TRS `/202305/t20230506_123.html`,
  Hanweb `/art/2023/5/6/art_1_2.html`, Founder 数字报 `/html/2023-05/06/content_1.htm`, DedeCMS
  `/a/news/2023/0506/12.html`. A year and month alone (`/202305/`) date nothing.
- `signing_date`: a notice's 落款, the right-aligned date line (often in Chinese numerals,
  `二〇二三年五月六日`) under the signing organisation. It is the notice's date when the page shows
  no other; related-list dates are in link items, never a block of their own under a signature.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from lxml.html import HtmlElement

from core.timezone import CHINA_TZ
from crawler.facts.dates import ParsedDate, normalize_digits, parse_date
from crawler.html.headline import squash
from crawler.text.names import ORGANISATION

_PUBLISH_LABEL = re.compile(
    r"(?:发|發)(?:布|佈|表)\s*(?:时|時)\s*(?:间|間)|(?:发|發)(?:布|佈|表)\s*日\s*期|上(?:网|網)(?:时间|日期)"
)
# Dates that are not the publication's: when the document was signed, took effect or was edited.
_OTHER_DATE_FIELD = re.compile(
    r"(?:成文|(?:发|發)文|印(?:发|發)|生效|(?:实|實)施|更新|修改|撰写|撰寫)\s*(?:日期|(?:时|時)(?:间|間))"
    r"\s*[:：]?\s*(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"(?:\s*\d{1,2}[:：时]\d{2}(?:[:：分]\d{2})?)?"
)

_GLUED_TIME = re.compile(r"(?<=[-/.]\d{2})(?=(?:[01]?\d|2[0-3]):[0-5]\d)")

_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script\s*>", re.S | re.I)
_MAX_SCRIPT_CHARS = 400_000  # of all scripts together: page state beyond that is not read
# A script variable of its own (`var ct = "1584063420"`, `var publish_time = "2020-03-13"`) is the
# page's; the same names as keys of an embedded page state also date the related items listed there.
_VARIABLE = r"""(?:\b(?:var|let|const)\s+|\bwindow\.)"""
_DATE_NAMES = (
    r"(?:publish_?time|publishTime|publish_?date|publishDate|pub_?date|pubDate|pubtime|createTime|"
    r"create_time|oriCreateTime|datePublished|firstPublishTime|releaseTime)"
)
_TIMESTAMP_VALUE = r"""\s*[=:]\s*["']?(?P<stamp>1\d{9})(?:\d{3})?\b"""
_DATE_VALUE = r"""\s*[=:]\s*["'](?P<value>(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}[^"'<>]{0,30})["']"""
_SCRIPT_VARIABLE = re.compile(
    _VARIABLE + r"(?:ct|" + _DATE_NAMES + r")(?:" + _TIMESTAMP_VALUE + "|" + _DATE_VALUE + ")"
)
_STATE_KEY = re.compile(
    r"""["']""" + _DATE_NAMES + r"""["'](?:""" + _TIMESTAMP_VALUE + "|" + _DATE_VALUE + ")"
)

_URL_DATES = (
    re.compile(r"/t((?:19|20)\d{2})(\d{2})(\d{2})_\d+"),  # TRS: t20230506_123.html
    re.compile(r"/((?:19|20)\d{2})-(\d{1,2})/(\d{1,2})/"),  # Founder 数字报, Xinhua: 2023-05/06/
    re.compile(r"/((?:19|20)\d{2})/(\d{2})(\d{2})/"),  # DedeCMS: 2023/0506/
    re.compile(r"/((?:19|20)\d{2})(\d{2})(\d{2})/"),  # 20230506/
    re.compile(r"/((?:19|20)\d{2})[/-](\d{1,2})[/-](\d{1,2})/"),  # Hanweb art/2023/5/6/, 2023-05-06/
)

_SIGNING = re.compile(r"^(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$")
_SIGNING_XPATH = (
    "//body//*[self::p or self::div or self::td][contains(., '年') and contains(., '日')]"
    "[not(ancestor-or-self::li or ancestor::a or ancestor::ul)]"
)
_SIGNATURE_MAX = 40  # characters of the organisation line above a signing date


def shown_date(line: str) -> ParsedDate | None:
    """The publication date of a metadata line: the one after a 发布 label, never 成文日期's."""
    # Day and time in adjacent spans read as one run of digits (`01-14` `17:58` -> `01-1417:58`).
    line = _GLUED_TIME.sub(" ", line)
    label = _PUBLISH_LABEL.search(line)
    if label:
        found = parse_date(line[label.end() :])
        if found:
            return found
    return parse_date(_OTHER_DATE_FIELD.sub(" ", line)) or parse_date(line)


def script_date(html: str) -> ParsedDate | None:
    """The publication time a page script holds.

    The page's own variables first (the first one; a same-day one adds the time). Keys of an
    embedded page state count only when they all name one day, and give that day alone: the state
    lists related items too, whose times are not the page's.
    """
    scripts = "\n".join(_SCRIPT.findall(html[: _MAX_SCRIPT_CHARS * 4]))[:_MAX_SCRIPT_CHARS]
    if not scripts:
        return None
    own = _script_values(_SCRIPT_VARIABLE, scripts)
    if own:
        first = own[0]
        if first.has_time:
            return first
        return next((value for value in own if value.has_time and value.day == first.day), first)
    days = {value.day for value in _script_values(_STATE_KEY, scripts)}
    if len(days) == 1:
        return ParsedDate(days.pop().isoformat(), has_time=False)
    return None


def _script_values(pattern: re.Pattern[str], scripts: str) -> list[ParsedDate]:
    latest = datetime.now(CHINA_TZ) + timedelta(days=1)
    values: list[ParsedDate] = []
    for match in pattern.finditer(scripts):
        if match["stamp"]:
            moment = datetime.fromtimestamp(int(match["stamp"]), CHINA_TZ)
            if moment <= latest:
                values.append(ParsedDate(moment.isoformat(), has_time=True))
            continue
        parsed = parse_date(match["value"])
        if parsed and not parsed.inferred:
            values.append(parsed)
    return values


def url_date(url: str | None) -> ParsedDate | None:
    """The day the CMS wrote into the article's path, if it wrote a whole one."""
    if not url:
        return None
    path = url.split("?", 1)[0]
    today = datetime.now(CHINA_TZ).date()
    for pattern in _URL_DATES:
        match = pattern.search(path)
        if not match:
            continue
        try:
            day = date(*(int(part) for part in match.groups()))
        except ValueError:
            continue
        if day <= today:
            return ParsedDate(day.isoformat(), has_time=False)
    return None


def signing_date(tree: HtmlElement) -> ParsedDate | None:
    """The first 落款 date: a block holding only a full date, under an organisation or right-aligned."""
    for element in tree.xpath(_SIGNING_XPATH):
        text = normalize_digits(squash(element.text_content()))
        if not _SIGNING.match(text) or not _is_signature_block(element):
            continue
        found = parse_date(text)
        if found:
            return found
    return None


def _is_signature_block(element: HtmlElement) -> bool:
    style = (element.get("style") or "").replace(" ", "").lower()
    if "text-align:right" in style or (element.get("align") or "").lower() == "right":
        return True
    before = element.getprevious()
    while before is not None and not squash(before.text_content()):
        before = before.getprevious()
    if before is None:
        return False
    above = squash(before.text_content())
    return len(above) <= _SIGNATURE_MAX and bool(ORGANISATION.search(above))
