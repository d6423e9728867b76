"""Locating the page's own metadata line (发布时间/来源/作者/浏览次数 …) and the site footer.

Main-content extraction usually drops the line under the headline that carries the date, source
and author, because it looks like chrome. It is found here in the HTML and handed to the text
layer, whose metaline parser reads the fields. The footer gives the site's 主办 organisation and
its 网站标识码.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from crawler.html.headline import squash
from crawler.text.cleaning.title import is_outlet_name
from crawler.text.names import ORGANISATION, split_names

# Labels in either script: Hong Kong, Macao and Taiwan pages (and old Big5 portals) write
# `來源：`, `發佈時間：`, `記者：`; the line is read before the text layer converts the script.
_LABELS = re.compile(
    r"((?:发|發)(?:布|佈|表)(?:时|時)(?:间|間)|(?:发|發)(?:布|佈|表)日期|更新(?:时|時)(?:间|間)|成文日期|(?:时|時)(?:间|間)|日期|"
    r"(?:来|來)源|源自|供稿|稿源|出(?:处|處)|作者|(?:记|記)者|通(?:讯|訊)(?:员|員)|本(?:报|報)(?:记|記)者|"
    r"(?:编|編)(?:辑|輯)|(?:责|責)(?:编|編)|(?:责|責)任(?:编|編)(?:辑|輯)|审核|審核|(?:浏|瀏)(?:览|覽)量|"
    r"(?:浏|瀏)(?:览|覽)次(?:数|數)|(?:阅|閱)(?:读|讀)次(?:数|數)|(?:阅|閱)(?:读|讀)量|(?:点|點)(?:击|擊)(?:数|數)|"
    r"(?:点|點)(?:击|擊)率|(?:点|點)(?:击|擊))\s*[:：]"
)
_DATE = re.compile(
    r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}|(?<![\d/])\d{1,2}/\d{1,2}/(?:19|20)\d{2}(?![\d/])"
)
_MAX_LINE = 240
_MAX_DATED_LINE = 60
_DATE_TIME = re.compile(
    r"(?:(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?|(?<![\d/])\d{1,2}/\d{1,2}/(?:19|20)\d{2})"
    r"\s*\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AP]M)?"
)
# A software build stamp (`版本号 3.4.40-1.0.141 (2019-9-5 9:38:01 PM)` in an embedded video
# player's console) dates the player, not the article.
_BUILD_STAMP = re.compile(r"\d+\.\d+\.\d+[\w.\-]*\s*[(（\[]?\s*$")
_AFTER_HEADLINE_XPATH = "following::text()[normalize-space()][position() <= 12]"
_HEADLINE_NEIGHBOURHOOD = 120  # characters between the headline and its date line
_DATE_TEXT_XPATH = (
    "//body//text()[contains(., ':') and (contains(., '-') or contains(., '年') or contains(., '/'))]"
)
_DATE_CLASS_XPATH = (
    "//body//*[self::p or self::span or self::div or self::em or self::time]"
    "[contains(@class, 'time') or contains(@class, 'date') or contains(@id, 'pubtime')"
    " or contains(@class, 'pubtime') or contains(@id, 'pub_date')]"
)
_EDITOR_TEXT_XPATH = "//body//text()[contains(., '编辑') or contains(., '责编')]"
# `(责编：胡永秋、杨光宇)`, `[责任编辑：杜智 PX209]`, `编辑：赵敏 校对：孙磊`, `责任编辑：刘䶮` (a CJK
# Extension A character): the editors, a CMS user code after them, other credits after that.
_EDITOR_NAMES = r"[\u3400-\u4dbf\u4e00-\u9fff·]{2,8}(?:[、,，\s]+[\u3400-\u4dbf\u4e00-\u9fff·]{2,8})*?"
_EDITOR_LINE = re.compile(
    r"^[【\[(（]?\s*(责任编辑|责编|编辑)\s*[:：|]\s*(" + _EDITOR_NAMES + r")\s*(?:[A-Z]{1,4}\d{2,6})?"
    r"\s*(?:(?:校对|审核|审校|终审|监制)\s*[:：]\s*[\u3400-\u4dbf\u4e00-\u9fff·、\s]{2,20})?\s*[】\])）]?$"
)
_MAX_CLIMB = 4
_AUTHOR_CLASS_XPATH = (
    "//body//*[self::p or self::span or self::div or self::a or self::em]"
    "[contains(@class, 'author') or contains(@class, 'writer')]"
    "[not(ancestor::*[contains(@class, 'comment')])]"
)
_AUTHOR_LABEL = re.compile(r"^(?:作者|文|撰文|记者)\s*[:：/]?\s*")
_MAX_AUTHOR_TEXT = 16
_MAX_AUTHOR_ELEMENTS = 4
_OUTLET_MARKS = " ·•・|丨"
_NOT_TEXT = frozenset({"script", "style", "title", "textarea", "option"})
_LABEL_TEXT_XPATH = (
    "//text()[contains(., '时间') or contains(., '日期') or contains(., '来源') or contains(., '作者')"
    " or contains(., '记者') or contains(., '编辑') or contains(., '发布') or contains(., '浏览')"
    " or contains(., '阅读') or contains(., '供稿') or contains(., '源自') or contains(., '点击')"
    " or contains(., '時間') or contains(., '來源') or contains(., '記者') or contains(., '編輯')"
    " or contains(., '發佈') or contains(., '發布') or contains(., '瀏覽') or contains(., '閱讀')"
    " or contains(., '點擊')]"
)
_PUBLISHER = re.compile(r"主\s*办(?:单位)?\s*[:：]\s*([^\s|｜,，;；]{2,40}(?:\s+[^\s|｜:：,，;；]{2,40})?)")
_SITE_ID = re.compile(r"网站标识码\s*[:：]?\s*(\d{10})")
_FOOTER_XPATH = (
    "//footer | //*[contains(@class, 'foot') or contains(@id, 'foot') or contains(@class, 'bottom')"
    " or contains(@id, 'bottom') or contains(@class, 'copyright')]"
)
# Two organisations often run a site together (`中共…区委员会 …区人民政府`); a second token that
# is not an organisation name is the next footer item (`运行维护单位`, `互联网新闻信息服务许可证`).
_ORGANISATION_END = re.compile(r"(?:委员会|政府|办公厅|办公室|局|厅|委|中心|社|院|部|馆|会|集团|公司)$")
_FOLLOWING_LABEL = re.compile(r"\s+(?:承办|协办|主管|联系|电话|地址|邮编|网站|ICP|备案)")


def with_date_line(tree: HtmlElement, line: str | None) -> list[str]:
    """The metadata line (from find_info_line), plus the page's date line when it has no date."""
    if line is not None and _DATE.search(line):
        return [line]
    dated = _dated_line(tree)
    return [found for found in (dated, line) if found]


def find_info_line(tree: HtmlElement) -> str | None:
    """The text of the smallest element holding the most metadata labels (plus a date), or None."""
    best: tuple[int, int, str] | None = None
    seen: set[HtmlElement] = set()
    # Start from the text nodes carrying a label and widen to their ancestors: walking every
    # element's text_content() would be quadratic on big pages.
    for node in tree.xpath(_LABEL_TEXT_XPATH):
        element = node.getparent()
        if element is None or element.tag in _NOT_TEXT:
            continue
        for _ in range(_MAX_CLIMB):
            if element is None or element in seen or not isinstance(element.tag, str):
                break
            seen.add(element)
            text = squash(element.text_content())
            # A sentence ending means the element has grown into the body.
            if len(text) > _MAX_LINE or "。" in text:
                break
            labels = len({m.group(1) for m in _LABELS.finditer(text)})
            score = labels + (1 if _DATE.search(text) else 0)
            # A date alone is not a metadata line; a label with a date, or two labels, is.
            if labels and score >= 2 and (best is None or (score, -len(text)) > best[:2]):
                best = (score, -len(text), text)
            element = element.getparent()
    return _from_first_field(best[2]) if best is not None else None


def _dated_line(tree: HtmlElement) -> str | None:
    """Without labels: the one date-with-time on the page (`新华网河北频道 ( 2012-06-04 09:20:26 )`).

    Only a page with a single such date qualifies; with several (comments, related news) there is
    no telling which one is the article's.
    """
    for element in tree.xpath(_DATE_CLASS_XPATH):
        # An element classed for the date (`<p class="time">2019-05-17 · 无锡交警</p>`) is meant as one.
        text = squash(element.text_content())
        match = _DATE_TIME.search(text) or _DATE.search(text)
        if match and len(text) <= _MAX_DATED_LINE:
            return _with_outlet(match.group(0), element, text[match.end() :])
    found: dict[str, HtmlElement] = {}
    for node in tree.xpath(_DATE_TEXT_XPATH):
        element = node.getparent()
        if element is None or element.tag in _NOT_TEXT:
            continue
        text = squash(str(node))
        found.update(
            (match.group(0), element)
            for match in _DATE_TIME.finditer(text)
            if not _BUILD_STAMP.search(text, 0, match.start())
        )
        if len(found) > 1:
            return _near_headline(tree)
    return _with_outlet(*found.popitem()) if found else None


def _near_headline(tree: HtmlElement) -> str | None:
    """With several date-times on the page: the one right under the page's one headline.

    Related-link lists and comments come after the body, a header showing today's date before the
    headline; the article's own time sits between the headline and the first paragraph.
    """
    headlines = tree.xpath("//body//h1")
    if len(headlines) != 1:
        return None
    seen = 0
    for node in headlines[0].xpath(_AFTER_HEADLINE_XPATH):
        element = node.getparent()
        if element is None or element.tag in _NOT_TEXT:
            continue
        text = squash(str(node))
        match = _DATE_TIME.search(text)
        if match and not _BUILD_STAMP.search(text, 0, match.start()):
            return _with_outlet(match.group(0), element, text[match.end() :])
        seen += len(text)
        if seen > _HEADLINE_NEIGHBOURHOOD or "。" in text:
            return None
    return None


def _with_outlet(date: str, element: HtmlElement, rest: str = "") -> str:
    """The date, and the outlet's name when the element beside it gives one (`北京日报`, `中国网`).

    Portals print the date and the outlet side by side under the headline, without a label.
    """
    candidates = [rest, element.tail or ""]
    candidates += [squash(sibling.text_content()) for sibling in element.itersiblings()][:1]
    candidates += [squash(sibling.text_content()) for sibling in element.itersiblings(preceding=True)][:1]
    for text in candidates:
        name = squash(text).strip(_OUTLET_MARKS)
        if name and is_outlet_name(name):
            return f"{date} {name}"
    return date


def find_author_names(tree: HtmlElement) -> list[str]:
    """Names in the first elements the template classes for the author (`<p class="author-name">`).

    Only the first few: later ones are usually the comment thread's. An organisation there is not
    a person.
    """
    for element in tree.xpath(_AUTHOR_CLASS_XPATH)[:_MAX_AUTHOR_ELEMENTS]:
        text = _AUTHOR_LABEL.sub("", squash(element.text_content()))
        # A wrapper holding the name with the date and counters is passed for its name element.
        if not text or len(text) > _MAX_AUTHOR_TEXT:
            continue
        names = [name for name in split_names(text) if not ORGANISATION.search(name)]
        if names:
            return names
    return []


def find_editor_line(tree: HtmlElement) -> str | None:
    """A `责任编辑：焦鹏` credit standing on its own, usually below the article."""
    for node in tree.xpath(_EDITOR_TEXT_XPATH):
        element = node.getparent()
        if element is None or element.tag in _NOT_TEXT:
            continue
        # The credit is often the tail text after an icon, so the text node itself is tried first.
        for text in (squash(str(node)), squash(element.text_content())):
            match = _EDITOR_LINE.match(text)
            if match:
                return f"{match.group(1)}：{match.group(2)}"
    return None


def _from_first_field(line: str) -> str:
    """The line from its first label or date on: a leading `版权声明` or breadcrumb is not metadata."""
    starts = [m.start() for m in (_LABELS.search(line), _DATE.search(line)) if m is not None]
    return line[min(starts) :] if starts else line


def _organisations(value: str) -> str:
    first, *rest = value.split()
    if rest and _ORGANISATION_END.search(rest[0]):
        return f"{first} {rest[0]}"
    return first


def find_footer_facts(tree: HtmlElement) -> tuple[str | None, str | None]:
    """The site's 主办 organisation and 网站标识码 from the footer, when it gives them."""
    publisher: str | None = None
    site_id: str | None = None
    for element in tree.xpath(_FOOTER_XPATH):
        text = squash(element.text_content())
        if len(text) > 2000:
            continue
        if publisher is None and (match := _PUBLISHER.search(text)):
            publisher = _organisations(_FOLLOWING_LABEL.split(match.group(1))[0])
        if site_id is None and (match := _SITE_ID.search(text)):
            site_id = match.group(1)
        if publisher and site_id:
            break
    return publisher, site_id
