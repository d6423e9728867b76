"""List pages in the formats of real CMSs, for columns of the catalogue that name a `layout`.

- `jpage` (Hanweb): the column page holds its first group of records in a `<script
  type="text/xml">` datastore; the next groups are answered by `/module/web/jpage/dataproxy.jsp`
  to a POST, as on real Hanweb sites: `startrecord`/`endrecord`/`perpage` in the query string, the
  column's `columnid` (with `col`, `webid`, `unitid`, … ) in the form (a dynamic page: any group;
  a GET answers 405);
- `page_div` (TRS): pages `xlist.shtml`, `xlist_1.shtml`, … whose pager is only the call
  `createPageHTML('page_div', pages, current, 'xlist', 'shtml', records)`;
- `declared_utf8`: a GBK list page that says it is UTF-8 in its header and meta tag, whose next
  page is linked only by its 下一页 text.

The columns and their articles are in `replica/data/cms_lists.yaml`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import quote

from markupsafe import escape

from replica import urls
from replica.catalog import Column
from replica.pages import Page

PAGE_SIZE = 2  # items per list page (per jpage group) in these columns
PROXY_PATH = "/module/web/jpage/dataproxy.jsp"
WEB_ID = 18
_XML = "text/xml;charset=UTF-8"

ListItem = tuple[str, str, str]  # title, href, date
Render = Callable[..., str]


def _record(item: ListItem) -> str:
    title, href, date = (str(escape(part)) for part in item)
    return (
        f'<record><![CDATA[\n<li><a href="{href}" target="_blank" title="{title}">{title}</a>'
        f'<span class="bt-data-time">{date}</span></li>\n]]></record>'
    )


def unit_id(column: Column) -> str:
    """The jpage unit (the page block holding the list) of a Hanweb column."""
    return f"2{column.id}"


def column_pages(
    column: Column,
    items: list[ListItem],
    render: Render,
    common: dict[str, Any],
    encode: Callable[[str], bytes],
    content_type: str,
) -> dict[str, Page]:
    """The pages of a column with a layout, keyed by path."""
    site = common["site"]
    match column.layout:
        case "jpage":
            html = render(
                "hanweb_jpage_column.html",
                **common,
                col=column,
                records="\n".join(_record(i) for i in items[:PAGE_SIZE]),
                per_page=PAGE_SIZE,
                group_size=1,
                total=len(items),
                proxy_path=PROXY_PATH,
                web_id=WEB_ID,
                unit_id=unit_id(column),
                col_number=column.id,
                webname=quote(site.title),
            )
            return {urls.column_path(site, column): Page(200, encode(html), content_type)}
        case "page_div" | "declared_utf8":
            return _paged(column, items, render, common, encode, content_type)
    raise ValueError(f"column {column.id}: unknown layout {column.layout!r}")


def _paged(
    column: Column,
    items: list[ListItem],
    render: Render,
    common: dict[str, Any],
    encode: Callable[[str], bytes],
    content_type: str,
) -> dict[str, Page]:
    site = common["site"]
    n_pages = max(1, -(-len(items) // PAGE_SIZE))
    declared_utf8 = column.layout == "declared_utf8"
    template = "bureau_column.html" if declared_utf8 else "trs_page_div_column.html"
    kind = "text/html; charset=UTF-8" if declared_utf8 else content_type
    pages: dict[str, Page] = {}
    for page in range(n_pages):
        html = render(
            template,
            **{**common, "charset": "UTF-8"} if declared_utf8 else common,
            col=column,
            items=items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE],
            total=len(items),
            page=page,
            pages=n_pages,
            first_href=urls.column_path(site, column, 0),
            last_href=urls.column_path(site, column, n_pages - 1),
            prev_href=urls.column_path(site, column, page - 1) if page > 0 else None,
            next_href=urls.column_path(site, column, page + 1) if page + 1 < n_pages else None,
        )
        pages[urls.column_path(site, column, page)] = Page(200, encode(html), kind)
    return pages


def dataproxy_page(listings: dict[str, list[ListItem]], query: dict[str, list[str]]) -> Page:
    """Hanweb's dataproxy.jsp: records `startrecord`..`endrecord` of column `columnid`, as XML.

    `query`: the query string's parameters and the POSTed form's together.
    """
    column = (query.get("columnid") or [""])[0]
    items = listings.get(column)
    try:
        start = int((query.get("startrecord") or ["1"])[0])
        end = int((query.get("endrecord") or [str(start + PAGE_SIZE - 1)])[0])
    except ValueError:
        items = None
        start = end = 0
    if items is None:
        body = '<?xml version="1.0" encoding="UTF-8"?><datastore><recordset></recordset></datastore>'
        return Page(200, body.encode(), _XML)
    chosen = items[max(start - 1, 0) : max(end, 0)]
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n<recordset>\n'
        + "\n".join(_record(i) for i in chosen)
        + f"\n</recordset>\n<totalrecord>{len(items)}</totalrecord>\n</datastore>\n"
    )
    return Page(200, body.encode(), _XML)


def dynamic_pages(listings: dict[str, list[ListItem]]) -> dict[str, Callable[[dict[str, list[str]]], Page]]:
    """The dynamic pages of a site whose jpage columns list `listings` (column id -> items).

    Each of them answers POSTs only (the server's `SiteState.posted`).
    """
    if not listings:
        return {}
    return {PROXY_PATH: partial(dataproxy_page, listings)}
