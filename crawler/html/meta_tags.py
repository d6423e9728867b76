"""Metadata from `<meta>` tags: government CMS names, Open Graph and schema.org JSON-LD.

Chinese government CMSs (Hanweb 大汉, TRS 拓尔思 and their imitators) write the article's title,
publication time, source, site and column into `<meta name=...>` tags. Values there are raw
strings; dates are normalised later by the text layer's date parser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml.html import HtmlElement

# Each field's candidate names, most specific first. Lower-cased `name`, `property` or `itemprop`.
_TITLE = ("articletitle", "og:title", "twitter:title", "headline", "title")
_DATE = (
    "pubdate",
    "publishdate",
    "article:published_time",
    "og:release_date",
    "datepublished",
    "publishtime",
    "firstpublishedtime",
    "releasedate",
    "createdate",
    "weibo:article:create_at",
    "dc.date",
    "dc.date.issued",
)
_SOURCE = ("contentsource", "source", "og:article:source", "article:source", "sourcename", "media")
_SITE = ("sitename", "og:site_name", "application-name")
_AUTHOR = ("author", "article:author", "og:article:author", "dc.creator")
_EDITOR = ("editor", "responsibleeditor")
_SECTION = ("columnname", "article:section", "catalogname")
_KEYWORDS = ("keywords", "news_keywords")
_DESCRIPTION = ("description", "og:description")

_SOURCE_LABEL = re.compile(r"^\s*(?:来源|来自|稿源|source)\s*[:：]\s*", re.IGNORECASE)
# `人民网-文化频道 原创稿`: whether the piece is original is not part of the source's name.
_SOURCE_TRAILER = re.compile(r"\s*(?:原创稿件|原创稿|原创|转载)\s*$")
_KEYWORD_SPLIT = re.compile(r"[,;，；、|\s]+")
_NAME_SPLIT = re.compile(r"\s*[,;，；、|/]\s*")
_CJK_NAMES = re.compile(r"^[\u4e00-\u9fff·]{2,5}(?:\s+[\u4e00-\u9fff·]{2,5})+$")
# CMS ids (people.cn writes author="104363"), URLs and e-mail addresses are not names.
_NOT_A_NAME = re.compile(r"^[\d\s.,-]*$|https?://|www\.|@")
_SITE_ID = re.compile(r"^\d{10}$")
# News portals put their own name or the article's source in `author` (网易, 新京报, 新浪科技).
_ORGANISATION = re.compile(
    r"(?:网|网站|报|社|台|综合|消息|科技|财经|新闻|频道|客户端|中心|杂志|周刊|传媒|媒体|app|team|\.com|\.cn)$",
    re.IGNORECASE,
)
_LATIN_WORD = re.compile(r"^[A-Za-z0-9_.-]+$")
_PLACEHOLDER_NAMES = frozenset(
    {"name", "author", "admin", "null", "none", "undefined", "未知", "佚名", "匿名"}
)


@dataclass(slots=True)
class MetaTags:
    """Metadata values as written in the page, unnormalised; missing values are None."""

    title: str | None = None
    published: str | None = None
    source: str | None = None
    site_name: str | None = None
    site_id_code: str | None = None
    section: str | None = None
    authors: list[str] = field(default_factory=list)
    editor: str | None = None
    keywords: list[str] = field(default_factory=list)
    description: str | None = None


def read_meta_tags(tree: HtmlElement) -> MetaTags:
    """Read the metadata of `<meta>` tags and JSON-LD blocks of a parsed page."""
    values = _meta_values(tree)
    ld = _json_ld(tree)
    meta = MetaTags(
        title=_first(values, _TITLE) or _ld_text(ld.get("headline")),
        published=_first(values, _DATE) or _ld_text(ld.get("datePublished")),
        source=_clean_source(_first(values, _SOURCE)),
        site_name=_first(values, _SITE) or _ld_text(_ld_get(ld.get("publisher"), "name")),
        section=_first(values, _SECTION),
        editor=_name_or_none(_first(values, _EDITOR)),
        description=_first(values, _DESCRIPTION) or _ld_text(ld.get("description")),
    )
    site_id = values.get("siteidcode", "")
    meta.site_id_code = site_id if _SITE_ID.match(site_id) else None
    author = _first(values, _AUTHOR) or _ld_text(_ld_get(ld.get("author"), "name"))
    meta.authors = [name for name in split_names(author or "") if _is_person(name, meta.site_name)]
    keywords = _first(values, _KEYWORDS) or ""
    meta.keywords = [word for word in _KEYWORD_SPLIT.split(keywords) if word]
    return meta


def _meta_values(tree: HtmlElement) -> dict[str, str]:
    # The first non-empty value of a name wins: pages repeat tags and later copies are often blank.
    values: dict[str, str] = {}
    for element in tree.iter("meta"):
        key = element.get("name") or element.get("property") or element.get("itemprop")
        content = element.get("content")
        if not key or not content:
            continue
        text = " ".join(content.split())
        if text:
            values.setdefault(key.strip().lower(), text)
    return values


def _first(values: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = values.get(name)
        if value:
            return value
    return None


def _clean_source(value: str | None) -> str | None:
    if not value:
        return None
    return _SOURCE_TRAILER.sub("", _SOURCE_LABEL.sub("", value)).strip() or None


def _name_or_none(value: str | None) -> str | None:
    if not value or _NOT_A_NAME.search(value):
        return None
    return value.strip()


def split_names(value: str) -> list[str]:
    """`王贤忠,李四` or `王贤忠 李四` -> two names; a Latin `Discuz! Team` stays one string."""
    names: list[str] = []
    for part in _NAME_SPLIT.split(value.strip()):
        names.extend(part.split() if _CJK_NAMES.match(part) else [part] if part else [])
    return names


def _is_person(name: str, site_name: str | None) -> bool:
    if not _name_or_none(name) or name.lower() in _PLACEHOLDER_NAMES or _ORGANISATION.search(name):
        return False
    if _LATIN_WORD.match(name):
        return False  # `chinanews`, `admin2`: on a Chinese page a single Latin word is a site or account
    return not (site_name and name in site_name)


def _json_ld(tree: HtmlElement) -> dict[str, Any]:
    """The first schema.org object of an article type (or the first object at all)."""
    found: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        found.extend(_ld_objects(data))
    for obj in found:
        if "Article" in str(obj.get("@type", "")) or "headline" in obj:
            return obj
    return found[0] if found else {}


def _ld_objects(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _ld_objects(item)
    elif isinstance(data, dict):
        yield data
        yield from _ld_objects(data.get("@graph"))


def _ld_get(value: Any, key: str) -> Any:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        return value.get(key)
    return value


def _ld_text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())
    return None
