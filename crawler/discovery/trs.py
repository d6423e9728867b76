"""TRS WCM (拓尔思) columns: `createPageHTML(...)` pagers over `index.html`, `index_1.html`, ….

TRS publishes a column as static files: the first page `index.html` (or `xlist.shtml`, …), then
`index_1.html`, `index_2.html`, … (0-based after the first), articles at
`./202404/t20240419_123456.html`. The pager is written by a script call in one of its forms:

    createPageHTML(5, 0, "index", "html");                      // pages, current (0-based), name, ext
    createPageHTML('page_div', 3, 1, 'xlist', 'shtml', 5);      // element, pages, current (1-based),
                                                                //   name, ext, records
    var countPage = 5//共多少页
    var currentPage = 0;//当前页
    createPageHTML(countPage, currentPage, "index", "html");    // values in variables set before

The four-argument form counts the current page from 0. The element-first form counts from 1 on
some TRS versions and from 0 on others, so there the page's own file name (`xlist_2.shtml`) says
where it stands, and a column addressed by its folder is on its first page.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from crawler.discovery import ListPage, Strategy

_CALL = re.compile(r"createPageHTML\s*\(([^()]*)\)")
_STRING = re.compile(r"""^\s*(?:'([^']*)'|"([^"]*)")\s*$""")
_NUMBER = re.compile(r"""^\s*(\d+)\s*$""")
_IDENT = re.compile(r"^\s*([A-Za-z_$][\w$]*)\s*$")


def _assigned(html: str, name: str, before: int) -> int | None:
    """The last number assigned to the script variable `name` before position `before`."""
    pattern = re.compile(r"(?<![\w$.])" + re.escape(name) + r"\s*=\s*['\"]?(\d+)(?![\w.])")
    values = [m.group(1) for m in pattern.finditer(html, 0, before)]
    return int(values[-1]) if values else None


def _arguments(html: str, match: re.Match[str]) -> tuple[list[int], list[str]] | None:
    numbers: list[int] = []
    strings: list[str] = []
    for raw in match.group(1).split(","):
        string, number, ident = _STRING.match(raw), _NUMBER.match(raw), _IDENT.match(raw)
        if string:
            text = string.group(1) if string.group(1) is not None else string.group(2)
            if text.isdigit():
                numbers.append(int(text))
            else:
                strings.append(text)
        elif number:
            numbers.append(int(number.group(1)))
        elif ident:
            value = _assigned(html, ident.group(1), match.start())
            if value is None:
                return None  # a variable we cannot see the value of
            numbers.append(value)
        else:
            return None
    return numbers, strings


def trs_next_page(html: str, url: str) -> str | None:
    """The page after this one according to a TRS `createPageHTML(...)` call, or None on the last."""
    for match in _CALL.finditer(html):
        parsed = _arguments(html, match)
        if parsed is None:
            continue
        numbers, strings = parsed
        element_first = len(strings) >= 3
        if element_first:
            strings = strings[1:]  # the id of the element the pager is written into
        if len(numbers) < 2 or len(strings) < 2:
            continue
        total, current = numbers[0], numbers[1]
        prefix, ext = strings[0], strings[1]
        index = current
        if element_first:
            # This form counts pages from 1 on some TRS versions and from 0 on others: the page's
            # own file name says which page it is; a column addressed by its folder is the first.
            name = urlsplit(url).path.rsplit("/", 1)[-1]
            own = re.fullmatch(rf"{re.escape(prefix)}(?:_(\d+))?\.{re.escape(ext)}", name)
            index = int(own.group(1) or 0) if own else max(current - 1, 0)
        if index + 1 >= total:
            return None
        return urljoin(url, f"{prefix}_{index + 1}.{ext}")
    return None


def _next_page(page: ListPage) -> str | None:
    return trs_next_page(page.html, page.url)


STRATEGY = Strategy("trs", __doc__ or "", next_page=_next_page)
