"""Finding the article links on a list page.

Chinese government CMSs (Hanweb 大汉, TRS 拓尔思, 博达, WordPress-like newspapers) render a column
as a repeated block of items, each a title link with a date beside it. A link is taken as an
article when enough of these agree: the URL has the shape of a CMS article (`art_…html`,
`t20240419_123.html`, `/content/…`, `/info/…`, a date in the path, a long numeric id), the
anchor text is title-like, a date sits beside it, and it is one of many similar items of one
container (link density). Per-source `allow`/`deny` patterns and CSS/XPath selectors override
the guess.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from parsel import Selector

from crawler.discovery.listdates import find_list_date, split_trailing_date, whole_date

# URL shapes of article pages in the common CMSs.
_ARTICLE_SHAPES = re.compile(
    r"""(
        /art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.s?html?   # Hanweb
      | art_\d+_\d+\.s?html?
      | /t\d{8}_\d+\.s?html?                            # TRS
      | /content(?:s)?[/_]                              # /content/… , content_123
      | /info/\d+/\d+\.s?html?                          # 博达 VSB
      | /(?:article|detail|details|news|show|view)s?[/_-]?\d
      | /(?:19|20)\d{2}[-/]?[01]\d[-/]?[0-3]?\d/         # a date in the path
      | /\d{2}/[01]\d[0-3]\d/\d{2}/\w+\.html             # 163-style yy/mmdd/hh/id.html
      | /(?:19|20)\d{2}[01]\d/\d+\.s?html?$              # a yyyymm folder and a numeric id
      | [/_-]\d{5,}(?:[-_]\d+)*\.s?html?$                # a long numeric id
      | /p/\d{6,}$                                       # forum thread
      | [?&](?:id|aid|articleid|newsid|tid|infoid)=\d+(?:&|$)  # a numeric article id
    )""",
    re.VERBOSE | re.IGNORECASE,
)
# Links that are never articles: files (the page layer keeps them as attachments), pagination.
_NOT_ARTICLE = re.compile(
    r"""(
        \.(?:pdf|docx?|xlsx?|pptx?|wps|zip|rar|7z|jpe?g|png|gif|bmp|mp4|mp3|apk|exe)(?:$|\?)
      | /(?:index|x?list)(?:[_-]\d+)*\.s?html?$          # column pages: index_1, xlist_1, list_12_2
      | [?&](?:page|pageindex|pagenum|pageno|pn)=\d+
      | /$
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_ITEM_TAGS = frozenset({"li", "tr", "dd", "dt", "p", "h2", "h3", "h4"})
_MIN_TITLE = 6  # characters: nav and category links are shorter
_MIN_DENSE_ITEMS = 4


@dataclass(frozen=True, slots=True)
class ListLink:
    """An article link on a list page, with the title and date shown beside it."""

    url: str
    text: str
    date: str | None  # YYYY-MM-DD, or --MM-DD when the list shows no year


@dataclass(frozen=True, slots=True)
class LinkRules:
    """A source's overrides of automatic discovery."""

    allow: Sequence[str] = ()
    deny: Sequence[str] = ()
    link_selector: str | None = None
    link_xpath: str | None = None


@dataclass(slots=True)
class _Candidate:
    url: str
    text: str
    date: str | None
    shape: bool
    container: etree._Element | None


def _date_inside(a: etree._Element) -> tuple[str, str | None]:
    """The link's own text and the date it shows after the title, if any.

    `<a><span class="title">标题</span><span class="date">2023-05-06</span></a>`: an element of the
    link that holds only a date; `<a>标题 (2023-05-06)</a>`, `<a>标题[05-06]</a>`: a date ending it.
    """
    for child in a.iterdescendants():
        if not isinstance(child.tag, str) or child.tag in ("a", "script", "style"):
            continue
        found = whole_date(child.text_content())
        if found is not None:
            rest = [t for t in a.itertext() if t not in set(child.itertext())]
            return " ".join(" ".join(rest).split()), found
    text = " ".join(a.text_content().split())
    title, found = split_trailing_date(text)
    return title, found


def _anchor_text(a: etree._Element, own: str) -> str:
    title = " ".join((a.get("title") or "").split())
    # Lists cut long titles ("关于2024年…"); the title attribute keeps them whole.
    return title if len(title) > len(own) else own


def _item_of(a: etree._Element) -> etree._Element | None:
    node = a.getparent()
    for _ in range(4):
        if node is None:
            return None
        if node.tag in _ITEM_TAGS:
            return node
        node = node.getparent()
    return None


def _date_beside(item: etree._Element | None, a: etree._Element) -> str | None:
    if item is None:
        return find_list_date(a.tail or "")
    texts = [t for t in item.itertext() if t]
    anchor_texts = set(a.itertext())
    # The title itself may hold a date ("2024年4月19日招生公告"); only text beside it counts.
    beside = " ".join(t for t in texts if t not in anchor_texts)
    return find_list_date(beside)


def _base_url(root: etree._Element, url: str) -> str:
    for base in root.iter("base"):
        href = base.get("href")
        if href:
            return urljoin(url, href.strip())
    return url


def _resolve(base: str, href: str) -> str | None:
    href = href.strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
        return None
    url = urljoin(base, href).split("#", 1)[0]
    return url if urlsplit(url).scheme in ("http", "https") else None


def _selected_anchors(html: str, rules: LinkRules) -> list[etree._Element] | None:
    if not (rules.link_selector or rules.link_xpath):
        return None
    selector = Selector(text=html)
    nodes = (
        selector.css(rules.link_selector) if rules.link_selector else selector.xpath(rules.link_xpath or "")
    )
    anchors: list[etree._Element] = []
    for node in nodes:
        root = node.root
        if not isinstance(root, etree._Element):
            continue
        anchors.extend([root] if root.tag == "a" else root.iter("a"))
    return anchors


def discover_links(
    html: str,
    url: str,
    rules: LinkRules = LinkRules(),
    *,
    in_scope: Callable[[str], bool] | None = None,
    tree: etree._Element | None = None,
) -> list[ListLink]:
    """The article links of a list page, in page order, each URL once.

    `tree`: the page already parsed with `lxml.html.fromstring` (not parsed a second time).
    """
    if not html.strip():
        return []
    allow = [re.compile(p) for p in rules.allow]
    deny = [re.compile(p) for p in rules.deny]
    selected = _selected_anchors(html, rules)
    if selected is not None:
        root = Selector(text=html).root
    else:
        root = tree if tree is not None else lxml.html.fromstring(html)
    base = _base_url(root, url)
    anchors = selected if selected is not None else list(root.iter("a"))
    page = url.split("#", 1)[0]

    candidates: list[_Candidate] = []
    for a in anchors:
        link = _resolve(base, a.get("href") or "")
        if link is None or link == page or (in_scope is not None and not in_scope(link)):
            continue
        if any(p.search(link) for p in deny):
            continue
        item = _item_of(a)
        container = item.getparent() if item is not None else None
        own, inside = _date_inside(a)
        candidates.append(
            _Candidate(
                url=link,
                text=_anchor_text(a, own),
                date=_date_beside(item, a) or inside,
                shape=bool(_ARTICLE_SHAPES.search(link)),
                container=container,
            )
        )

    density = Counter(
        c.container for c in candidates if c.container is not None and len(c.text) >= _MIN_TITLE
    )
    found: dict[str, ListLink] = {}
    for c in candidates:
        if selected is not None:
            accept = not allow or any(p.search(c.url) for p in allow)
        elif allow:
            accept = any(p.search(c.url) for p in allow)
        else:
            accept = _looks_like_article(c, density)
        if accept and c.url not in found:
            found[c.url] = ListLink(url=c.url, text=c.text, date=c.date)
        elif accept and found[c.url].date is None and c.date is not None:
            found[c.url] = ListLink(url=c.url, text=found[c.url].text or c.text, date=c.date)
    return list(found.values())


def is_listing_url(url: str) -> bool:
    """Whether a URL is a column index, a pager URL or a file: never an article page."""
    return _NOT_ARTICLE.search(url) is not None


def _looks_like_article(c: _Candidate, density: Counter[etree._Element | None]) -> bool:
    if is_listing_url(c.url):
        return False
    titled = len(c.text) >= _MIN_TITLE
    dense = c.container is not None and density[c.container] >= _MIN_DENSE_ITEMS
    if c.shape:
        return titled or c.date is not None or dense
    # Without a CMS URL shape a title, a date beside it and list structure must speak for the link.
    return titled and c.date is not None and c.container is not None and density[c.container] >= 2
