"""The headline of a page, without the site suffix or the source prefix sites add to `<title>`.

`<title>` usually reads `headline-site`, `headline_column_site` or `headline | site`; the visible
headline element (h1, or an element classed `title`) is the same headline without the suffix, so
the longest such element that `<title>` starts with (or contains) is the best answer. Without one,
the suffix is cut by separators. `【湘潭日报】headline` carries the source in a prefix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lxml.html import HtmlElement

from crawler.text.cleaning.title import is_medium_name

_HEADLINE_XPATH = (
    "//h1 | //h2 | //h3 | //*[contains(@class, 'title') or contains(@class, 'Title')"
    " or contains(@id, 'title') or contains(@id, 'Title') or contains(@class, 'biaoti')]"
)
# `—` and `-` inside a headline are content (`1-10月`, `——访…局长`); only spaced or doubled
# separators, `_` and `|` are taken as suffix separators without further evidence.
_SEPARATORS = re.compile(r"\s+[-–—|｜·]+\s+|\s*(?:--|_+|\||｜)\s*")
# Any separator between the site's name and the headline, unspaced `-` included (checked against
# the body's own texts before use, see _part_shown_alone).
_TITLE_PARTS = re.compile(r"\s*(?:-+|–|—|_+|\||｜)\s*")
_LONG_TEXT_XPATH = "//body//text()[string-length(normalize-space()) >= 8]"
_SITE_WORDS = re.compile(
    r"(?:网|站|局|厅|委|委员会|政府|办公室|门户|频道|中心|院|校|学|报|台|社|馆|吧|论坛|百科|cn|com|net|org)\s*$",
    re.IGNORECASE,
)
# A `<title>` that is an organisation's name alone (`浚县公共资源交易中心`, `某某县人民政府`).
_ORGANISATION_TITLE = re.compile(r"^[\u4e00-\u9fff]{2,14}(?:中心|人民政府|政府|局|委员会|门户网站|网站)$")
_BRACKET_PREFIX = re.compile(r"^\s*[【\[]\s*([^】\]]{2,20}?)\s*[】\]]\s*")
_MIN_HEADLINE = 4
_NUMBER_GAP = re.compile(r"(?<=\d)\s+(?=[\u4e00-\u9fff])")
_WEAK_TITLE = 8  # a stripped <title> shorter than this is a column name, not a headline
_MAX_HEADLINE = 80
_MAX_COLUMN = 8
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


@dataclass(frozen=True, slots=True)
class Headline:
    """A cleaned headline and the source named in its prefix, if any."""

    title: str | None
    source: str | None = None


def squash(text: str) -> str:
    """Collapse whitespace runs to one space and strip."""
    return " ".join(text.split())


def tidy_title(text: str) -> str:
    """A headline with whitespace squashed, minus the gap typesetting puts after a number (`2007　年末`)."""
    return _NUMBER_GAP.sub("", squash(text))


def find_headline(
    tree: HtmlElement,
    *,
    meta_title: str | None,
    site_name: str | None,
    section: str | None = None,
    keywords: Sequence[str] = (),
) -> Headline:
    """The page's headline, from the headline element, the CMS meta title or `<title>`."""
    page_title = squash(tree.findtext(".//title") or "")
    candidates = [squash(el.text_content()) for el in tree.xpath(_HEADLINE_XPATH)]
    best: str | None = None
    if page_title:
        for text in candidates:
            if len(text) >= _MIN_HEADLINE and text in page_title and (best is None or len(text) > len(best)):
                best = text
    if best is None and meta_title:
        best = meta_title
    if best is None and page_title:
        best = _part_shown_alone(tree, page_title)
    if best is None and page_title:
        best = strip_site_suffix(page_title, site_name)
        # `<title>` that only names the site (`浚县公共资源交易中心`), or only the column.
        if len(best) < _WEAK_TITLE or best in (section, site_name) or _ORGANISATION_TITLE.match(best):
            # `<title>` names only the column (新闻动态--中国地理学会官网): the page's own heading
            # element, even an h5, is the headline.
            best = _first_heading(tree, column=best) or best
    if best is not None and best == page_title:
        best = strip_site_suffix(best, site_name)
    if not best:
        return Headline(None)
    return split_source_prefix(tidy_title(_strip_column_tail(tree, best, keywords)))


def _part_shown_alone(tree: HtmlElement, page_title: str) -> str | None:
    """The part of `<title>` the body shows as a text of its own (`湘潭日报数字报-<headline>`).

    Whichever side the site's name stands on, the headline is the part the page prints by itself,
    even in an element no headline selector knows (a 数字报's `<founder-title>`).
    """
    parts = [part.strip() for part in _TITLE_PARTS.split(page_title)]
    if len(parts) < 2:
        return None
    shown = {squash(str(node)) for node in tree.xpath(_LONG_TEXT_XPATH)}
    return next((part for part in parts if len(part) >= _WEAK_TITLE and part in shown), None)


def _strip_column_tail(tree: HtmlElement, title: str, keywords: Sequence[str]) -> str:
    """`中华人民共和国监察法-纪检` -> `中华人民共和国监察法` when `纪检` names the column.

    A short tail after `-` is the column when the page's keywords or one of its links name it.
    """
    head, sep, tail = title.rpartition("-")
    tail = tail.strip()
    if not sep or len(head) < _MIN_HEADLINE or not 0 < len(tail) <= _MAX_COLUMN:
        return title
    if tail in keywords or tail in {squash(a.text_content()) for a in tree.iter("a")}:
        return head.strip()
    return title


def _first_heading(tree: HtmlElement, *, column: str) -> str | None:
    for element in tree.iterfind(".//body//*"):
        # A heading holding links is navigation (`首页 - 新闻动态`), not the headline.
        if element.tag in _HEADINGS and next(element.iter("a"), None) is None:
            text = squash(element.text_content())
            # A heading naming the column (`首页 - 新闻动态`) is a breadcrumb.
            if _WEAK_TITLE <= len(text) <= _MAX_HEADLINE and (not column or column not in text):
                return text
    return None


def strip_site_suffix(title: str, site_name: str | None = None) -> str:
    """`镇坪县召开教育高质量发展大会-安康市教育体育局` -> `镇坪县召开教育高质量发展大会`."""
    title = squash(title)
    if site_name and title.endswith(site_name) and len(title) > len(site_name):
        title = title[: -len(site_name)].rstrip(" -–—_|｜·")
    parts = _SEPARATORS.split(title)
    if len(parts) > 1 and len(parts[0].strip()) >= _MIN_HEADLINE:
        title = parts[0].strip()
    # An unspaced `-` is cut only when what follows names a site (局, 政府, 网, ...).
    head, sep, tail = title.rpartition("-")
    if sep and len(head) >= _MIN_HEADLINE and 0 < len(tail) <= 30 and _SITE_WORDS.search(tail):
        return head.strip()
    return title


def split_source_prefix(title: str) -> Headline:
    """`【湘潭日报】努力打造…` -> title `努力打造…`, source `湘潭日报`; topic tags stay in the title."""
    match = _BRACKET_PREFIX.match(title)
    if match and is_medium_name(match.group(1)):
        rest = title[match.end() :].strip()
        if len(rest) >= _MIN_HEADLINE:
            return Headline(rest, match.group(1))
    return Headline(title)
