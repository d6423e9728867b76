"""DedeCMS (织梦) and PHPCMS lists: `list_12_2.html` pages of a column (type id 12, page 2).

A DedeCMS column is `/a/tzgg/` (or `list_12_1.html`) with pages `list_12_2.html`, `list_12_3.html`,
… linked from a `pagelist` whose next link may be an image or say 下一页 in a span; PHPCMS static
lists use the same scheme with hyphens (`list-12-2.html`). Articles are `/a/tzgg/2024/0419/123.html`
or `/plus/view.php?aid=123`. The next page is the pager link to this page's number + 1 of the
same column (the first page when the URL does not carry a number).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from crawler.discovery import ListPage, Strategy

_LIST = re.compile(r"list(?P<sep>[_-])(?P<type>\d+)(?P=sep)(?P<page>\d+)\.(?P<ext>s?html?)$")


def _next_page(page: ListPage) -> str | None:
    if page.root is None:
        return None
    pages: dict[tuple[str, str, int], str] = {}
    for a in page.root.iter("a"):
        href = (a.get("href") or "").strip()
        match = _LIST.search(urlsplit(href).path)
        if match:
            key = (match.group("sep"), match.group("type"), int(match.group("page")))
            pages.setdefault(key, urljoin(page.url, href).split("#", 1)[0])
    if not pages:
        return None
    own = _LIST.search(urlsplit(page.url).path)
    if own:
        want = [(own.group("sep"), own.group("type"), int(own.group("page")) + 1)]
    else:
        want = [key for key in pages if key[2] == 2]  # the first page links its second
    for key in want:
        if key in pages:
            return pages[key]
    return None


STRATEGY = Strategy("dedecms", __doc__ or "", next_page=_next_page)
