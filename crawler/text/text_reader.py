"""Plain text of a page (a seed, or the main text trafilatura got from HTML) to a clean record.

One pass over the lines, each judged once: spam, paywall and document-sharing chrome, site
boilerplate, metadata lines, bylines, the title, the series line, photo captions, and body
paragraphs. Then what the text says is merged with the HTML's hints (hints win unless the text is
more precise), and the body is classified, placed and fingerprinted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlsplit

from core.chinese import has_pinyin_annotations, is_traditional, to_simplified
from core.config import Topic, default_topics
from core.timezone import CHINA_TZ
from crawler.article import Article, Flag
from crawler.dedupe.fingerprint import simhash_hex
from crawler.facts.classify import classify
from crawler.facts.dates import ParsedDate, normalize_digits, parse_date
from crawler.facts.region import find_region
from crawler.text.cleaning.boilerplate import boilerplate_kind, footer_fields, parse_breadcrumb
from crawler.text.cleaning.captions import is_caption, strip_image_label
from crawler.text.cleaning.noise import (
    has_placeholders,
    has_title_placeholders,
    is_document_sharing_chrome,
    is_spam_line,
    mentions_document_sharing,
    truncation,
)
from crawler.text.cleaning.pinyin import repair_mirror_text
from crawler.text.cleaning.prose import has_sentence, prose_chars
from crawler.text.cleaning.script import fold_width
from crawler.text.cleaning.title import is_original_title_line, is_series_line, is_title_like, split_title
from crawler.text.hints import PageHints
from crawler.text.metaline import MetaFields, parse_byline, parse_closing_credit, parse_meta_line

_BLANKS = re.compile(r"[ \t\u00a0\u2002\u2003\u200b\ufeff]+")
_CONTEXT_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年")
_TRAILING_CUT = re.compile(r"\s*(?:…+|\.{3,})\s*$")
# Bylines sit in the first paragraphs; later "记者" sentences are content.
_BYLINE_PARAGRAPHS = 3
# A credit line (author, editor) after this much body closes the article: what follows is the
# site's (teasers of other stories, comment boxes, app promotions).
_CREDIT_CLOSES_AFTER = 100
# A closing marker (footer, `相关阅读`, a closing credit) ends the article only when less prose
# follows it than precedes it, and less than this: old table layouts emit the footer or a nav line
# before the body, and a marker followed by the article is not its end.
_SUBSTANTIAL_PROSE = 200
# The page-level guard: when the cleaned body keeps less than this share of the prose the HTML
# stage found, cleaning went wrong, and the prose is kept as found.
_MIN_PROSE_KEPT = 0.5
# A line of brackets alone is what is left of a bracketed credit split over lines (`【责任编辑:…` / `】`).
# A notice's signing date (落款: `2023年4月12日`, `二〇二三年五月六日`) on its own line under the body.
_SIGNING_DATE = re.compile(r"^(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$")
_BRACKETS_ONLY = re.compile(r"^[\[\]【】()（）{}〈〉「」『』]+$")


@dataclass(slots=True)
class _Reading:
    """What one pass over the lines found."""

    title: str | None = None
    title_source: str | None = None
    series: str | None = None
    meta: MetaFields = field(default_factory=MetaFields)
    byline_authors: list[str] = field(default_factory=list)
    credit_authors: list[str] = field(default_factory=list)
    site_name: str | None = None
    section: str | None = None
    publisher: str | None = None
    site_id_code: str | None = None
    captions: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    # For each body line, how many closing markers came before it.
    segments: list[int] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    announced_length: int | None = None

    def flag(self, flag: Flag) -> None:
        if flag not in self.flags:
            self.flags.append(flag)


def normalize_script(text: str) -> tuple[str, bool]:
    """Fold widths, undo mirror-converter damage, convert traditional text; says if it converted."""
    # U+FFFD marks bytes the page's own encoding could not hold (lost emoji): nothing to keep.
    text = fold_width(text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffd", ""))
    converted = False
    if has_pinyin_annotations(text):
        text = repair_mirror_text(text)
        converted = True
    if is_traditional(text):
        text = to_simplified(text)
        converted = True
    return text, converted


def _merge_meta(into: MetaFields, found: MetaFields) -> None:
    into.published_at = into.published_at or found.published_at
    into.source = into.source or found.source
    into.editor = into.editor or found.editor
    into.length = into.length or found.length
    into.authors.extend(name for name in found.authors if name not in into.authors)


def _chrome_line(line: str, reading: _Reading, *, in_tail: bool) -> tuple[bool, bool]:
    """Handle a chrome line; returns (consumed, a closing marker)."""
    if is_spam_line(line):
        reading.flag("injected_spam")
        return True, in_tail
    if is_document_sharing_chrome(line):
        reading.flag("document_sharing")
        return True, in_tail
    cut = truncation(line)
    if cut is not None:
        reading.flag("truncated")
        if mentions_document_sharing(line):
            reading.flag("document_sharing")
        reading.announced_length = reading.announced_length or cut.announced_length
        return True, in_tail
    kind = boilerplate_kind(line)
    if kind == "breadcrumb":
        crumb = parse_breadcrumb(line)
        if crumb:
            reading.site_name = reading.site_name or crumb.site_name
            reading.section = reading.section or crumb.section
        return True, in_tail
    if kind == "footer":
        footer = footer_fields(line)
        reading.publisher = reading.publisher or footer.publisher
        reading.site_id_code = reading.site_id_code or footer.site_id_code
        return True, True
    if kind == "tail":
        return True, True
    return kind is not None, in_tail


def _read_lines(text: str, hint_title: str | None) -> _Reading:
    reading = _Reading()
    segment = 0  # closing markers seen so far
    for raw in text.split("\n"):
        line = _BLANKS.sub(" ", raw).strip()
        if not line:
            continue
        consumed, marker = _chrome_line(line, reading, in_tail=False)
        segment += marker
        if consumed:
            continue
        if reading.body and _SIGNING_DATE.match(normalize_digits(line)):
            # Part of the notice as issued, not a metadata line: the HTML side reads it as a date.
            reading.body.append(line)
            reading.segments.append(segment)
            continue
        meta = parse_meta_line(line)
        if meta is not None:
            _merge_meta(reading.meta, meta)
            closes = (meta.authors or meta.editor) and meta.published_at is None
            segment += bool(closes and _segment_chars(reading, segment) >= _CREDIT_CLOSES_AFTER)
            continue
        if _BRACKETS_ONLY.match(line):
            continue
        # A byline standing alone on its line is one wherever it is; one that opens a paragraph
        # (`本报讯（记者 …）…`) only in the first paragraphs, where later sentences are content.
        byline = parse_byline(line)
        if byline and (not byline.rest or len(reading.body) < _BYLINE_PARAGRAPHS):
            reading.byline_authors.extend(a for a in byline.authors if a not in reading.byline_authors)
            line = byline.rest
            if not line:
                continue
        line = strip_image_label(line)
        parts = split_title(line)
        if is_original_title_line(line):
            if reading.title is None and hint_title is None:
                reading.title = parts.title
            continue
        if parts.title and parts.title in (reading.title, hint_title):
            reading.title_source = reading.title_source or parts.source
            continue  # the headline again (a repeated title, or the one the HTML already gave)
        if not reading.body and reading.title is None and hint_title is None and is_title_like(line):
            reading.title, reading.title_source = parts.title, parts.source
            continue
        if reading.series is None and is_series_line(line):
            reading.series = line
            continue
        if is_caption(line):
            reading.captions.append(line)
            continue
        reading.body.append(line)
        reading.segments.append(segment)
    _close(reading)
    if reading.body:
        reading.credit_authors = parse_closing_credit(reading.body[-1])
    return reading


def _segment_chars(reading: _Reading, segment: int) -> int:
    """Body characters read since the last closing marker."""
    return sum(
        len(line) for line, seen in zip(reading.body, reading.segments, strict=True) if seen == segment
    )


def _close(reading: _Reading) -> None:
    """End the body at the first closing marker after a sentence that less prose follows than precedes.

    A marker before any sentence, or one that substantial prose follows, stood before the body (a
    footer or nav line that an old table layout puts first): it is read past, and what came before
    it when no line of it ends a sentence was the page's header. The next marker is judged the same.
    """
    prose = [prose_chars(line) for line in reading.body]
    before = passed = 0
    sentences = False  # whether a line before the marker ends a sentence: then the body has begun
    index = 0
    while index < len(reading.body):
        segment = reading.segments[index]
        if segment > passed:
            after = sum(prose[index:])
            if sentences and after < max(_SUBSTANTIAL_PROSE, before):
                del reading.body[index:], reading.segments[index:]
                return
            if not sentences:
                del reading.body[:index], reading.segments[:index], prose[:index]
                index = 0
            passed = segment
        before += prose[index]
        sentences = sentences or has_sentence(reading.body[index])
        index += 1


def _context_reference(text: str) -> date | None:
    """The end of the latest past year the text names (`2021年`), to date a month-day without a year."""
    today = datetime.now(CHINA_TZ).date()
    # Plans name future years (`2035年远景目标`); an event already reported cannot lie there.
    years = [year for year in map(int, _CONTEXT_YEAR.findall(text)) if year <= today.year]
    return min(date(max(years), 12, 31), today) if years else None


def _published(hint: str | None, meta: ParsedDate | None, body: list[str]) -> tuple[str | None, bool]:
    """The publication time and whether it was inferred: hint, metadata line, else the lead's date."""
    if hint and meta and meta.has_time and len(hint) == 10 and meta.iso.startswith(hint):
        return meta.iso, False  # the text is more precise than a date-only hint
    if hint:
        return hint, False
    if meta:
        return meta.iso, meta.inferred
    if not body:
        return None, False
    reference = _context_reference("\n".join(body))
    lead = parse_date(body[0], reference=reference) if reference else None
    if lead is None:
        return None, False
    return lead.iso, True  # an event date in the lead stands in for the publication date


def _authors(hints: PageHints, reading: _Reading) -> list[str]:
    """The people the text names (metadata line, byline, closing credit) first.

    `<meta name="author">` is often the editor who uploaded the item (责编) or the site itself: it
    stands in only when the text names nobody, and never when it names the editor.
    """
    named = list(dict.fromkeys([*reading.meta.authors, *reading.byline_authors, *reading.credit_authors]))
    if named:
        return named
    editors = {hints.editor, reading.meta.editor} - {None}
    return [name for name in hints.authors if not any(name in editor for editor in editors if editor)]


def _is_document_sharing_url(url: str | None) -> bool:
    return bool(url) and mentions_document_sharing(urlsplit(url or "").hostname or "")


def _prose_kept(body: list[str], prose: list[str]) -> float:
    """The share of the prose lines' characters that the body still has (as a bag of characters)."""
    want = Counter(ch for line in prose for ch in line if not ch.isspace())
    if not want:
        return 1.0
    got = Counter(ch for line in body for ch in line if not ch.isspace())
    return sum((got & want).values()) / sum(want.values())


def extract_text_article(
    text: str,
    url: str | None = None,
    *,
    hints: PageHints | None = None,
    topics: Mapping[str, Topic] | None = None,
) -> Article:
    """Clean the plain text of a page into a record, merged with the HTML layer's hints.

    Do no harm: the lines of `text` that read as prose are what the article is at the least. If
    cleaning left less than half of them, the record keeps them as they were, flagged
    `prose_restored`, rather than an empty or nav-only body.
    """
    hints = hints or PageHints()
    text, converted = normalize_script(text)
    hint_title = split_title(hints.title).title if hints.title else None
    if hint_title and (converted or is_traditional(hint_title)):
        # The headline comes from markup, apart from the body: converted with it, or on its own.
        hint_title = to_simplified(fold_width(hint_title))
    reading = _read_lines(text, hint_title)
    if reading.flags and "truncated" in reading.flags and reading.body:
        reading.body[-1] = _TRAILING_CUT.sub("", reading.body[-1])
    prose = [
        line for line in (_BLANKS.sub(" ", raw).strip() for raw in text.split("\n")) if prose_chars(line)
    ]
    if _prose_kept(reading.body, prose) < _MIN_PROSE_KEPT:
        reading.body = prose
        reading.flag("prose_restored")
    body_text = "\n".join(reading.body)
    title = hint_title or reading.title
    published_at, inferred = _published(hints.published_at, reading.meta.published_at, reading.body)

    article = Article(
        url=url,
        title=title,
        text=body_text,
        published_at=published_at,
        authors=_authors(hints, reading),
        source=hints.source or reading.meta.source or reading.title_source,
        editor=hints.editor or reading.meta.editor,
        site_name=hints.site_name or reading.site_name,
        publisher=hints.publisher or reading.publisher,
        site_id_code=hints.site_id_code or reading.site_id_code,
        section=hints.section or reading.section,
        series=reading.series,
        captions=reading.captions,
        attachments=list(hints.attachments),
        announced_length=reading.announced_length
        or (reading.meta.length if "truncated" in reading.flags else None),
    )
    article.flags.extend(dict.fromkeys(hints.flags))
    for flag in reading.flags:
        article.add_flag(flag)
    if converted:
        article.add_flag("converted_script")
    if inferred:
        article.add_flag("date_inferred")
    if has_placeholders(body_text) or (title is not None and has_title_placeholders(title)):
        article.add_flag("template")
    if _is_document_sharing_url(url):
        article.add_flag("document_sharing")
    if hints.is_list_page or not body_text:
        article.page_kind = "list" if hints.is_list_page else "empty"
        article.add_flag("not_article")

    # The site's name is the most authoritative place (安康市教育体育局), then title, then body.
    region = find_region(article.site_name, title, body_text)
    if region is not None:
        article.region, article.region_code = region.full_name, region.code
    article.topics, article.categories = classify(title, body_text, topics or default_topics())
    article.simhash = simhash_hex(body_text)
    return article
