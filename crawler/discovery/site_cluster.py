"""gov.cn site-cluster (集约化) templates: script pagers that build `index_N.html` from a URL template.

The newer provincial site clusters (开普云 UCAP and lookalikes: article bodies in `UCAP-CONTENT`,
columns under `/zwgk/…`, `/xxgk/…`) render a column's pager from numbers in a script and a page
URL template, 1-based after the first page:

    <div id="page"></div>
    <script>
      var pageCount = 4, currentPage = 1;
      pager('#page', { totalPage: pageCount, pageNo: currentPage,
        url: function (n) { return n == 1 ? 'index.html' : 'index_' + n + '.html'; } });
    </script>

The pager has no links in the markup, so the generic pager reader finds nothing. This strategy
reads the page count, the current page and the `prefix_' + n + '.ext` template; the page's own file
name (`index_3.html` is page 3) wins over the script's current page.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from crawler.discovery import ListPage, Strategy

_SCRIPT = re.compile(r"<script[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
_TEMPLATE = re.compile(
    r"""['"](?P<prefix>[\w-]+)_['"]\s*\+\s*\(?\s*[\w$.]+\s*\)?\s*\+\s*['"]\.(?P<ext>s?html?)['"]"""
)
_TOTAL_NAMES = "totalPage|pageCount|countPage|pageTotal|totalPages|pageSize_total"
_CURRENT_NAMES = "currentPage|pageNo|pageIndex|curPage|currPage|pageNum"
_VALUE = r"""\s*[:=]\s*['"]?(?P<value>\d+|[A-Za-z_$][\w$]*)"""
_TOTAL = re.compile(rf"\b(?:{_TOTAL_NAMES}){_VALUE}")
_CURRENT = re.compile(rf"\b(?:{_CURRENT_NAMES}){_VALUE}")


def _number(script: str, pattern: re.Pattern[str]) -> int | None:
    for match in pattern.finditer(script):
        value = match.group("value")
        if value.isdigit():
            return int(value)
        # `totalPage: pageCount`: the variable's number, set in the same script.
        assigned = re.search(rf"(?<![\w$.]){re.escape(value)}\s*=\s*['\"]?(\d+)", script)
        if assigned:
            return int(assigned.group(1))
    return None


def _next_page(page: ListPage) -> str | None:
    for script in _SCRIPT.findall(page.html):
        template = _TEMPLATE.search(script)
        if template is None:
            continue
        total, current = _number(script, _TOTAL), _number(script, _CURRENT)
        if total is None:
            continue
        prefix, ext = template.group("prefix"), template.group("ext")
        name = urlsplit(page.url).path.rsplit("/", 1)[-1]
        own = re.fullmatch(rf"{re.escape(prefix)}_(\d+)\.{re.escape(ext)}", name)
        number = int(own.group(1)) if own else (current or 1)
        if number >= total:
            return None
        return urljoin(page.url, f"{prefix}_{number + 1}.{ext}")
    return None


STRATEGY = Strategy("site_cluster", __doc__ or "", next_page=_next_page)
