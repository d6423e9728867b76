"""The replica network's content as typed data, read from `replica/data/catalog.yaml`.

The catalogue says which sites exist, which articles each carries, and what happens to each article
in later crawl cycles; page rendering (replica.render) and the ground truth (replica.expected) are
both derived from it, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from replica.textforms import to_traditional

Template = Literal["hanweb", "trs", "bureau", "paper", "portal", "mirror", "docshare"]
Behaviour = Literal[
    "slow",
    "wrong_charset",
    "error_500",
    "redirect_loop",
    "waf_412",
    "js_challenge",
    "offsite_redirect",
    "huge",
    "binary",
]
# Behaviours whose page still carries the article, so a correct crawl stores it.
CONTENT_BEHAVIOURS: frozenset[str] = frozenset({"slow", "wrong_charset"})
OFFICIAL_KINDS: frozenset[str] = frozenset({"government", "education_bureau", "newspaper"})


@dataclass(frozen=True)
class Change:
    """From `cycle` on, the article's body has `old` replaced by `new`."""

    cycle: int
    old: str
    new: str


# The `status` of an article whose page still answers 200 but shows the CMS's "该信息已删除" notice
# instead of the article (`status: deleted` in the catalogue; storage.recheck.DELETED_NOTICE too).
DELETED_NOTICE = 0


@dataclass(frozen=True)
class Gone:
    """From `cycle` on, the article's page answers `status` (404, 410) or is a deleted notice
    (DELETED_NOTICE); `listed` keeps the stale list link."""

    cycle: int
    status: int
    listed: bool

    @property
    def deleted_notice(self) -> bool:
        """Whether the page answers 200 with a "deleted" notice rather than an error status."""
        return self.status == DELETED_NOTICE


@dataclass(frozen=True)
class Table:
    """A table inside a notice (e.g. the posts of a recruitment notice)."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Attachment:
    """A document linked from a notice, served as PDF: its lines from `text_file` (a PDF naming the
    file when there is none), and from cycle `replaced` on those of `replaced_file`, same link."""

    name: str
    file: str
    text_file: str | None = None
    replaced: int | None = None
    replaced_file: str | None = None

    def text_in(self, cycle: int) -> str | None:
        """The data file holding the attachment's lines in `cycle`, if it has any."""
        if self.replaced is not None and self.replaced_file is not None and cycle >= self.replaced:
            return self.replaced_file
        return self.text_file


@dataclass(frozen=True)
class ArticleSpec:
    """One article of one site, as the catalogue describes it."""

    key: str
    site: str
    column: str
    id: int
    title: str
    date: str
    story: str
    body: tuple[str, ...] = ()
    author: str | None = None
    source: str | None = None
    editor: str | None = None
    reporters: tuple[str, ...] = ()
    series: str | None = None
    caption: str | None = None
    education: bool = False
    category: str | None = None
    behaviour: Behaviour | None = None
    since: int = 1
    change: Change | None = None
    gone: Gone | None = None
    table: Table | None = None
    attachment: Attachment | None = None
    raw_seed: str | None = None  # the mirror serves this seed text unchanged
    truncated: bool = False
    declared: str | None = None  # the charset the page declares, when not the site's encoding

    @property
    def published(self) -> datetime:
        """The publication time (China Standard Time, naive)."""
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
            try:
                return datetime.strptime(self.date, fmt)
            except ValueError:
                continue
        raise ValueError(f"article {self.key}: unreadable date {self.date!r}")

    @property
    def has_content(self) -> bool:
        """Whether the article page carries the article (so a correct crawl stores it)."""
        return self.behaviour is None or self.behaviour in CONTENT_BEHAVIOURS

    def exists_in(self, cycle: int) -> bool:
        """Whether the article page is served normally in `cycle`."""
        return cycle >= self.since and (self.gone is None or cycle < self.gone.cycle)

    def listed_in(self, cycle: int) -> bool:
        """Whether list pages, feeds and sitemaps link the article in `cycle`."""
        if cycle < self.since:
            return False
        return self.gone is None or cycle < self.gone.cycle or self.gone.listed

    def body_in(self, cycle: int) -> tuple[str, ...]:
        """The body paragraphs as served in `cycle`."""
        if self.change is None or cycle < self.change.cycle:
            return self.body
        return tuple(p.replace(self.change.old, self.change.new) for p in self.body)


@dataclass(frozen=True)
class Column:
    """A column (list page series) of a site."""

    id: str
    name: str
    parent: str | None = None
    # How the CMS publishes the list (replica.cms_lists): jpage | page_div | declared_utf8, or the
    # site template's plain list pages when None.
    layout: str | None = None


@dataclass(frozen=True)
class SiteSpec:
    """One site of the network."""

    name: str
    title: str
    kind: str
    template: Template
    encoding: str
    region: str | None
    address: str
    columns: tuple[Column, ...]
    articles: tuple[ArticleSpec, ...]
    per_page: int = 3
    feed: bool = False
    feed_advertised: bool = False  # /rss.xml served and advertised on list pages, not configured
    sitemap: bool = False
    disallow: str | None = None
    calendar: bool = False  # serves the endless calendar trap (Hanweb template only)
    sponsor: str | None = None
    organiser: str | None = None
    site_code: str | None = None
    icp: str | None = None
    police: str | None = None
    phone: str | None = None

    @property
    def official(self) -> bool:
        """Whether the site may raise "new announcement" alerts on its own."""
        return self.kind in OFFICIAL_KINDS

    def column(self, column_id: str) -> Column:
        """The column with id `column_id`."""
        for column in self.columns:
            if column.id == column_id:
                return column
        raise KeyError(f"site {self.name}: no column {column_id!r}")


def read_data_text(relative: str) -> str:
    """A UTF-8 text file under replica/data/."""
    return resources.files("replica").joinpath("data", relative).read_text(encoding="utf-8")


def read_data_bytes(relative: str) -> bytes:
    """A file under replica/data/, as bytes."""
    return resources.files("replica").joinpath("data", relative).read_bytes()


def _paragraphs(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _gone(raw: dict[str, Any]) -> Gone:
    status = raw["status"]
    if status == "deleted":
        status = DELETED_NOTICE
    elif status not in (404, 410):
        raise ValueError(f"catalog: gone status {status!r} is not 404, 410 or deleted")
    return Gone(cycle=raw["cycle"], status=status, listed=raw["listed"])


def _article(site: str, raw: dict[str, Any]) -> ArticleSpec:
    body: tuple[str, ...] = tuple(raw.pop("body", ()))
    for paragraph in body:
        if not isinstance(paragraph, str):  # e.g. an unquoted line ending in ':' became a mapping
            raise ValueError(f"catalog: article {raw.get('key')}: paragraph {paragraph!r} is not text")
    if "body_file" in raw:
        body = _paragraphs(read_data_text(raw.pop("body_file")))
    traditional_of = raw.pop("traditional_of", None)
    if traditional_of is not None:
        body = tuple(to_traditional(p) for p in _paragraphs(read_data_text(traditional_of)))
    if raw.get("raw_seed"):
        body = _paragraphs(read_data_text(f"seeds/{raw['raw_seed']}"))
    change = Change(**raw.pop("change")) if "change" in raw else None
    gone = _gone(raw.pop("gone")) if "gone" in raw else None
    table = None
    if "table" in raw:
        t = raw.pop("table")
        table = Table(t["caption"], tuple(t["header"]), tuple(tuple(r) for r in t["rows"]))
    attachment = Attachment(**raw.pop("attachment")) if "attachment" in raw else None
    reporters = tuple(raw.pop("reporters", ()))
    story = raw.pop("story", None) or raw["key"]
    return ArticleSpec(
        site=site,
        story=story,
        body=body,
        change=change,
        gone=gone,
        table=table,
        attachment=attachment,
        reporters=reporters,
        **raw,
    )


def _site(raw: dict[str, Any]) -> SiteSpec:
    name = raw["name"]
    columns = tuple(Column(**c) for c in raw.pop("columns"))
    articles = tuple(_article(name, dict(a)) for a in raw.pop("articles"))
    return SiteSpec(columns=columns, articles=articles, **raw)


def _extended(raw: dict[str, Any], extensions: dict[str, Any]) -> dict[str, Any]:
    """A site of catalog.yaml with what cms_lists.yaml adds to it (columns, articles, flags)."""
    extra = dict(extensions.get(raw["name"]) or {})
    raw["columns"] = list(raw["columns"]) + list(extra.pop("columns", []))
    raw["articles"] = list(raw["articles"]) + list(extra.pop("articles", []))
    return {**raw, **extra}


@cache
def load_catalog() -> tuple[SiteSpec, ...]:
    """Every site of the replica network, in catalogue order (read once, immutable)."""
    data = yaml.safe_load(read_data_text("catalog.yaml"))
    extensions = yaml.safe_load(read_data_text("cms_lists.yaml"))
    return tuple(_site(_extended(dict(s), extensions)) for s in data["sites"])
