"""URL schemes of the government CMSs and site types the replica imitates.

Each template names its article and column paths the way the real systems do: Hanweb
(`/art/2024/4/19/art_1234_56789.html`, `/col/col1234/index.html?uid=…&pageNum=2`), TRS
(`/xxgk/tzgg/202404/t20240419_123456.html`, `index_1.html`), and so on.
"""

from __future__ import annotations

from replica.catalog import ArticleSpec, Column, SiteSpec


def article_path(site: SiteSpec, article: ArticleSpec) -> str:
    """The path of an article page on its site."""
    d = article.published
    col = article.column
    match site.template:
        case "hanweb":
            return f"/art/{d.year}/{d.month}/{d.day}/art_{col}_{article.id}.html"
        case "trs":
            return f"/{col}/{d:%Y%m}/t{d:%Y%m%d}_{article.id}.html"
        case "bureau":
            return f"/{col}/{d:%Y%m%d}/{article.id}.html"
        case "paper":
            return f"/content/{d:%Y-%m}/{d:%d}/{article.id}.html"
        case "portal":
            return f"/{col}/{d:%Y%m}/{article.id}.shtml"
        case "mirror":
            return f"/{col}/{article.id}.html"
        case "docshare":
            return f"/p-{article.id}.html"
    raise ValueError(f"unknown template {site.template!r}")


def column_path(site: SiteSpec, column: Column, page: int = 0) -> str:
    """The path of page `page` (0 = first) of a column's list."""
    col = column.id
    match column.layout:
        case "page_div":
            return f"/{col}/xlist.shtml" if page == 0 else f"/{col}/xlist_{page}.shtml"
        case "declared_utf8":
            return f"/{col}.htm" if page == 0 else f"/{col}/{page + 1}.htm"
    match site.template:
        case "hanweb":
            first = f"/col/col{col}/index.html"
            return first if page == 0 else f"{first}?uid=4{col}&pageNum={page + 1}"
        case "trs":
            return f"/{col}/index.html" if page == 0 else f"/{col}/index_{page}.html"
        case "bureau":
            return f"/{col}/index.html" if page == 0 else f"/{col}/index_{page + 1}.html"
        case "paper":
            return f"/{col}/" if page == 0 else f"/{col}/?page={page + 1}"
        case "portal":
            return f"/{col}/index.shtml" if page == 0 else f"/{col}/index_{page}.shtml"
        case "mirror":
            return f"/{col}/" if page == 0 else f"/{col}/list_{page + 1}.html"
        case "docshare":
            return f"/c-{col}.html" if page == 0 else f"/c-{col}-{page + 1}.html"
    raise ValueError(f"unknown template {site.template!r}")


def attachment_path(site: SiteSpec, article: ArticleSpec) -> str | None:
    """The path of the article's attachment (TRS keeps it beside the article), or None."""
    if article.attachment is None:
        return None
    folder = article_path(site, article).rsplit("/", 1)[0]
    return f"{folder}/{article.attachment.file}"


def loop_partner_path(site: SiteSpec, article: ArticleSpec) -> str:
    """The second page of a redirect loop: it redirects back to the article path."""
    return article_path(site, article).rsplit(".", 1)[0] + "_1.html"


CALENDAR_PATH = "/col/col1240/calendar.html"
FEED_PATH = "/rss.xml"
SITEMAP_PATH = "/sitemap.xml"
