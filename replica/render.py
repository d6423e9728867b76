"""Renders one site of the network, for one crawl cycle, into a map of path -> pre-built response."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from functools import cache, partial
from typing import Any

import jinja2

from core.timezone import CHINA_TZ
from replica import cms_lists, urls
from replica.attachments import attachment_pdf
from replica.catalog import ArticleSpec, Column, SiteSpec
from replica.pages import HTML_UTF8, Page, binary_blob, huge_table, redirect

HUGE_PAGE_BYTES = 20 * 1024 * 1024
_REASONS = {
    404: ("Not Found", "您访问的页面不存在或已被删除。"),
    410: ("Gone", "该信息已撤销。"),
    500: ("Internal Server Error", "服务器内部错误,请稍后再试。"),
}


@dataclass(frozen=True)
class SiteContext:
    """What rendering a site needs besides the catalogue: where it and its neighbours live."""

    site: SiteSpec
    base: str  # http://127.0.0.11:40123
    offsite: str  # base URL of the host that must never be crawled
    friends: tuple[tuple[str, str], ...]  # (title, URL) links in the footer


ListItem = tuple[str, str, str]  # title, href, date


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("replica", "templates"),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        trim_blocks=False,
        keep_trailing_newline=True,
    )


def _render(template: str, **context: Any) -> str:
    return _env().get_template(template).render(**context)


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="xmlcharrefreplace")


def _content_type(encoding: str) -> str:
    return f"text/html; charset={encoding}"


def error_page(status: int) -> Page:
    """The site's error page for `status` (404, 410, 500)."""
    reason, message = _REASONS.get(status, ("Error", "请求出错。"))
    body = _render("error.html", status=status, reason=reason, message=message).encode()
    return Page(status, body, conditional=False)


def deleted_page(ctx: SiteContext) -> Page:
    """What the CMS serves, with 200, in place of a deleted article: its "该信息已删除" page."""
    html = _render("deleted.html", **_common(ctx))
    return Page(200, _encode(html, ctx.site.encoding), _content_type(ctx.site.encoding))


def _listed(site: SiteSpec, column: Column | None, cycle: int) -> list[ArticleSpec]:
    items = [a for a in site.articles if a.listed_in(cycle) and (column is None or a.column == column.id)]
    return sorted(items, key=lambda a: (a.published, a.id), reverse=True)


def _href(ctx: SiteContext, column: Column, article: ArticleSpec, *, on_list: bool = True) -> str:
    path = urls.article_path(ctx.site, article)
    if ctx.site.template == "trs" and on_list:
        return "." + path.removeprefix(f"/{column.id}")  # TRS writes links relative to the column
    if ctx.site.template == "mirror":
        return ctx.base + path
    return path


def _common(ctx: SiteContext) -> dict[str, Any]:
    site = ctx.site
    return {
        "site": site,
        "base": ctx.base,
        "host": ctx.base.split("//", 1)[1],
        "charset": site.encoding,
        "nav": [(c.name, urls.column_path(site, c)) for c in site.columns],
        "friends": ctx.friends,
        "offsite_url": ctx.offsite,
        "calendar_href": f"{urls.CALENDAR_PATH}?date=2024-04-19" if site.calendar else None,
        "internal_href": site.disallow + "index.html" if site.disallow else None,
        "feed_href": urls.FEED_PATH if site.feed_advertised else None,
    }


def _related(ctx: SiteContext, article: ArticleSpec) -> list[ListItem]:
    # Only first-cycle articles, so an article page does not change when new ones appear.
    column = ctx.site.column(article.column)
    others = [
        a for a in ctx.site.articles if a.column == article.column and a.since == 1 and a is not article
    ]
    return [(a.title, _href(ctx, column, a, on_list=False), a.date[:10]) for a in others[:3]]


def article_page(ctx: SiteContext, article: ArticleSpec, cycle: int) -> Page:
    """The article's page as served in `cycle` (content pages only)."""
    site = ctx.site
    column = site.column(article.column)
    declared = article.declared or ("utf-8" if article.behaviour == "wrong_charset" else site.encoding)
    attachment = urls.attachment_path(site, article)
    body = article.body_in(cycle)
    html = _render(
        f"{site.template}_article.html",
        **{**_common(ctx), "charset": declared},
        a=article,
        col=column,
        col_href=urls.column_path(site, column),
        path=urls.article_path(site, article),
        paras=body,
        summary=body[0][:80] if body else article.title,
        pub=article.date,
        iso_pub=article.published.replace(tzinfo=CHINA_TZ).isoformat(),
        doc_date=f"{article.published:%Y/%-m/%-d %H:%M:%S}",
        attachment_href=attachment.rsplit("/", 1)[1] if attachment else None,
        related=_related(ctx, article),
    )
    return Page(200, _encode(html, site.encoding), _content_type(declared), slow=article.behaviour == "slow")


def _huge_page(title: str, site_title: str, encoding: str) -> Page:
    head = _render("huge.html", a={"title": title}, site={"title": site_title}, charset=encoding)
    return Page(
        200,
        huge_table(_encode(head, encoding), encoding=encoding, target_bytes=HUGE_PAGE_BYTES),
        _content_type(encoding),
    )


def _hostile_pages(ctx: SiteContext, article: ArticleSpec) -> dict[str, Page]:
    site = ctx.site
    path = urls.article_path(site, article)
    match article.behaviour:
        case "error_500":
            return {path: error_page(500)}
        case "redirect_loop":
            partner = urls.loop_partner_path(site, article)
            return {path: redirect(partner), partner: redirect(path)}
        case "waf_412":
            body = _render("waf_412.html").encode()
            cookie = ("Set-Cookie", "FSSBBIl1UgzbN7N80S=e3Q2xZ7; Path=/; HttpOnly")
            return {path: Page(412, body, HTML_UTF8, headers=(cookie,), conditional=False)}
        case "js_challenge":
            return {path: Page(200, _render("js_challenge.html").encode(), HTML_UTF8, conditional=False)}
        case "offsite_redirect":
            return {path: redirect(f"{ctx.offsite}/landing/{article.id}.html")}
        case "binary":
            return {path: Page(200, binary_blob(article.key), "text/html")}
    raise ValueError(f"article {article.key}: behaviour {article.behaviour!r} has no page")


def _column_pages(ctx: SiteContext, column: Column, cycle: int) -> dict[str, Page]:
    site = ctx.site
    listed = _listed(site, column, cycle)
    if column.layout is not None:
        return cms_lists.column_pages(
            column,
            [(a.title, _href(ctx, column, a), a.date[:10]) for a in listed],
            _render,
            _common(ctx),
            partial(_encode, encoding=site.encoding),
            _content_type(site.encoding),
        )
    per_page = site.per_page
    n_pages = max(1, -(-len(listed) // per_page))
    pages: dict[str, Page] = {}
    for page in range(n_pages):
        chunk = listed[page * per_page : (page + 1) * per_page]
        html = _render(
            f"{site.template}_column.html",
            **_common(ctx),
            col=column,
            items=[(a.title, _href(ctx, column, a), a.date[:10]) for a in chunk],
            total=len(listed),
            page=page,
            pages=n_pages,
            first_href=urls.column_path(site, column, 0),
            last_href=urls.column_path(site, column, n_pages - 1),
            prev_href=urls.column_path(site, column, page - 1) if page > 0 else None,
            next_href=urls.column_path(site, column, page + 1) if page + 1 < n_pages else None,
            page_links=[(n + 1, urls.column_path(site, column, n)) for n in range(n_pages)],
        )
        pages[urls.column_path(site, column, page)] = Page(
            200, _encode(html, site.encoding), _content_type(site.encoding)
        )
    return pages


def jpage_listings(ctx: SiteContext, cycle: int) -> dict[str, list[ListItem]]:
    """The items of the site's Hanweb jpage columns in `cycle` (column id -> items), for dataproxy.jsp."""
    return {
        column.id: [(a.title, _href(ctx, column, a), a.date[:10]) for a in _listed(ctx.site, column, cycle)]
        for column in ctx.site.columns
        if column.layout == "jpage"
    }


def _feed(ctx: SiteContext, cycle: int) -> Page:
    site = ctx.site
    items = []
    for a in _listed(site, None, cycle)[:20]:
        body = a.body_in(cycle)
        items.append(
            {
                "title": a.title,
                "link": ctx.base + urls.article_path(site, a),
                "pub_date": format_datetime(a.published.replace(tzinfo=CHINA_TZ)),
                "summary": body[0][:120] if body else a.title,
            }
        )
    xml = _render(
        "rss.xml", site=site, base=ctx.base, charset=site.encoding, feed_items=items, last_build=None
    )
    return Page(200, _encode(xml, site.encoding), f"application/rss+xml; charset={site.encoding}")


def _sitemap(ctx: SiteContext, cycle: int) -> Page:
    site = ctx.site
    entries: list[tuple[str, str | None]] = [
        (ctx.base + urls.column_path(site, c), None) for c in site.columns
    ]
    for a in _listed(site, None, cycle):
        entries.append((ctx.base + urls.article_path(site, a), a.published.date().isoformat()))
    return Page(200, _render("sitemap.xml", entries=entries).encode(), "application/xml; charset=utf-8")


def _robots(ctx: SiteContext) -> Page:
    lines = ["User-agent: *"]
    lines.append(f"Disallow: {ctx.site.disallow}" if ctx.site.disallow else "Disallow:")
    if ctx.site.sitemap:
        lines.append(f"Sitemap: {ctx.base}{urls.SITEMAP_PATH}")
    return Page(200, ("\n".join(lines) + "\n").encode(), "text/plain; charset=utf-8")


def render_site(
    ctx: SiteContext, cycle: int, cache: dict[tuple[str, bool], Page] | None = None
) -> dict[str, Page]:
    """Every static response of the site in `cycle`, keyed by path (with query, if any).

    `cache` keeps article pages between cycles: a page depends only on whether its change applies.
    """
    site = ctx.site
    pages: dict[str, Page] = {"/robots.txt": _robots(ctx)}
    home_items = [
        (a.title, _href(ctx, site.column(a.column), a, on_list=False), a.date[:10])
        for a in _listed(site, None, cycle)[:8]
    ]
    pages["/"] = Page(
        200,
        _encode(_render("home.html", **_common(ctx), items=home_items), site.encoding),
        _content_type(site.encoding),
    )
    for column in site.columns:
        pages.update(_column_pages(ctx, column, cycle))
    for article in site.articles:
        path = urls.article_path(site, article)
        if cycle < article.since:
            continue
        if article.gone is not None and cycle >= article.gone.cycle:
            gone = article.gone
            pages[path] = deleted_page(ctx) if gone.deleted_notice else error_page(gone.status)
        elif article.has_content:
            key = (article.key, article.change is not None and cycle >= article.change.cycle)
            page = cache.get(key) if cache is not None else None
            if page is None:
                page = article_page(ctx, article, cycle)
                if cache is not None:
                    cache[key] = page
            pages[path] = page
        elif article.behaviour == "huge":
            # Built once per network: 20 MB of rows is worth keeping rather than rebuilding.
            huge = cache.get((article.key, False)) if cache is not None else None
            if huge is None:
                huge = _huge_page(article.title, site.title, site.encoding)
                if cache is not None:
                    cache[(article.key, False)] = huge
            pages[path] = huge
        else:
            pages.update(_hostile_pages(ctx, article))
        attachment = urls.attachment_path(site, article)
        if attachment is not None and article.attachment is not None and article.exists_in(cycle):
            pages[attachment] = Page(200, attachment_pdf(site.name, article, cycle), "application/pdf")
    if site.feed or site.feed_advertised:
        pages[urls.FEED_PATH] = _feed(ctx, cycle)
    if site.sitemap:
        pages[urls.SITEMAP_PATH] = _sitemap(ctx, cycle)
    if site.disallow:
        html = _render("internal.html", **_common(ctx))
        pages[site.disallow + "index.html"] = Page(
            200, _encode(html, site.encoding), _content_type(site.encoding)
        )
    return pages


def calendar_page(ctx: SiteContext, day_text: str | None) -> Page:
    """The endless calendar trap: every day links to the previous and next day, forever."""
    try:
        day = date.fromisoformat(day_text or "")
    except ValueError:
        day = date(2024, 4, 19)
    html = _render(
        "calendar.html",
        **_common(ctx),
        day=day.isoformat(),
        prev_day=(day - timedelta(days=1)).isoformat(),
        next_day=(day + timedelta(days=1)).isoformat(),
        next_month=(day + timedelta(days=31)).isoformat(),
    )
    return Page(200, html.encode(), HTML_UTF8, conditional=False)


# Last-Modified of every page first served in cycle 1; a page changed in cycle c gets EPOCH + (c-1) days.
EPOCH = datetime(2024, 4, 19, 12, 0, tzinfo=UTC)
