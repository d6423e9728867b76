"""Generic pagers: a 下一页 / next link, or a numbered pager (`index_1.html`, `?uid=…&pageNum=2`).

The fallback after the CMS-specific strategies, reading the pager links every CMS renders the
same way (see `crawler.discovery.pagination`): a link whose text or title says next, or the link to this
page's number + 1, including on a first page whose URL carries no page number at all.
"""

from __future__ import annotations

from crawler.discovery import ListPage, Strategy
from crawler.discovery.pagination import next_page


def _next_page(page: ListPage) -> str | None:
    return next_page(page.html, page.url)


STRATEGY = Strategy("pager", __doc__ or "", next_page=_next_page)
