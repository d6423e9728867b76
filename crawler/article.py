"""The record one page becomes: the `countywatch extract` contract of DESIGN.md.

Keys of `to_json()` may be added, never renamed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# Flags a record can carry; each says something a reader (or the alert rules) must know.
Flag = Literal[
    "truncated",  # paywall or "全文N字,当前显示M字": the text is a part of the article
    "template",  # redacted placeholders (xx县, __): a template, not a real announcement
    "converted_script",  # the text was traditional (or pinyin-annotated) and was converted
    "injected_spam",  # spam lines injected by a hacked or content-farm site were removed
    "date_inferred",  # the year (or the date) was inferred, not read off the page
    "not_article",  # a list/column page, index or empty page: no article body
    "document_sharing",  # from a document-sharing site, not an official source
    "deleted_notice",  # the page is a CMS "该信息已删除" notice standing where an article was
    "prose_restored",  # cleaning dropped most of the page's prose, so the prose was kept as found
]

PageKind = Literal["article", "list", "empty"]


@dataclass(slots=True)
class Attachment:
    """A linked file of a notice (附件): its visible name and absolute URL, and once fetched, the
    SHA-256 and size of its bytes, the characters of text read from it, flags and the error, if any.
    """

    title: str
    url: str
    sha256: str | None = None
    bytes: int | None = None
    text_chars: int | None = None
    # unreadable (no reader for the format), too_large, offsite, robots, failed, timeout, text_cut
    flags: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(slots=True)
class Article:
    """One extracted page. Text is Simplified Chinese, paragraphs joined by newlines."""

    url: str | None = None
    title: str | None = None
    text: str = ""
    published_at: str | None = None  # ISO 8601, +08:00; a bare date is YYYY-MM-DD
    authors: list[str] = field(default_factory=list)
    source: str | None = None  # 来源: the publication the article comes from
    editor: str | None = None  # 编辑/责编/责任编辑
    site_name: str | None = None
    region: str | None = None  # e.g. 陕西省安康市镇坪县
    topics: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    simhash: str | None = None  # 64-bit SimHash of the normalised text, 16 hex digits
    language: str = "zh"
    # Additions to the DESIGN.md contract (allowed: keys may be added).
    page_kind: PageKind = "article"
    publisher: str | None = None  # 主办: the organisation running the site
    site_id_code: str | None = None  # 网站标识码 of a government site
    section: str | None = None  # column path, e.g. 新闻动态 > 县区传真
    series: str | None = None  # e.g. 谋划2024·教育局长访谈④
    captions: list[str] = field(default_factory=list)  # photo captions, kept apart from body
    attachments: list[Attachment] = field(default_factory=list)
    region_code: str | None = None  # 6-digit administrative division code
    announced_length: int | None = None  # characters a truncated page says the full text has

    def add_flag(self, flag: Flag) -> None:
        """Add a flag once, keeping the order flags were raised in."""
        if flag not in self.flags:
            self.flags.append(flag)

    def to_json(self) -> dict[str, Any]:
        """The JSON object `countywatch extract` prints."""
        return asdict(self)
