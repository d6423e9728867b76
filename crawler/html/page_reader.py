"""An HTML page to an Article: decode, parse once, read the page's structure, hand text to the text layer.

The HTML side collects what markup tells (meta tags, headline, metadata line, footer, attachments,
whether it is a list page) into PageHints and extracts the main text with trafilatura; the text
layer (`crawler.text.text_reader`) cleans that text, parses dates and metadata lines, finds the region,
classifies and fingerprints it.

A page that answers 200 but only says its item was deleted (该信息已删除, 页面不存在, 已撤稿 …) becomes
an empty record flagged `deleted_notice`: the crawl withdraws the stored article it replaced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import lxml.html
from htmldate import find_date
from lxml.etree import ParserError
from lxml.html import HtmlElement

from core.config import Topic
from core.timezone import CHINA_TZ
from crawler.article import Article
from crawler.errors import ExtractionError
from crawler.facts.dates import ParsedDate, parse_date
from crawler.html.attachment_links import find_attachments
from crawler.html.content import (
    MainContent,
    choose_content,
    content_of,
    find_cms_container,
    find_summary,
)
from crawler.html.decoding import MAX_BYTES, DecodedPage, decode_html, sniff_binary
from crawler.html.deleted import DELETED_NOTICE_FLAG, is_deleted_notice
from crawler.html.headline import find_headline, squash, strip_site_suffix
from crawler.html.listing import is_list_page, prose_beside_headline
from crawler.html.meta_tags import MetaTags, read_meta_tags
from crawler.html.metaline_locator import (
    find_author_names,
    find_editor_line,
    find_footer_facts,
    find_info_line,
    with_date_line,
)
from crawler.html.pubdate import script_date, shown_date, signing_date, url_date
from crawler.text.hints import PageHints
from crawler.text.text_reader import extract_text_article

_ATTACHMENT_LINE = "附件：{title}"
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_HEAD_LINES = 5
_SUMMARY_PROBE = 30  # characters of a summary that show the main text already has it
# The text layer judges every line; a body beyond this is a dump, not an article, and is cut.
MAX_TEXT_CHARS = 200_000
_HTMLDATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def extract_article(
    body: bytes | str,
    url: str | None = None,
    *,
    http_charset: str | None = None,
    topics: Mapping[str, Topic] | None = None,
) -> Article:
    """Turn one HTML page into a record; raise ExtractionError when the input is not a usable page."""
    page = _decode(body, http_charset)
    tree = _parse(page.text)
    meta = read_meta_tags(tree)
    info_line = find_info_line(tree)
    info_lines = with_date_line(tree, info_line)
    hints = read_hints(tree, url, meta, info_lines, page.text)
    if page.truncated and "truncated" not in hints.flags:
        hints.flags.append("truncated")
    container = find_cms_container(tree)
    content = content_of(tree, url, container)
    page_title = squash(tree.findtext(".//title") or "")
    # Before the list test: a notice in the site's template can carry enough links to look like a list.
    if is_deleted_notice(page_title, content.text):
        hints.flags.append(DELETED_NOTICE_FLAG)
        return extract_text_article("", url, hints=hints, topics=topics)
    evidence = bool(
        (meta.title and meta.published) or info_line or hints.attachments or container is not None
    )
    if is_list_page(tree, content, article_evidence=evidence):
        # Do no harm: a headline with its dated line and prose beside it (a gallery's caption) is an
        # article whose body is that prose, however many related links ring it.
        beside = prose_beside_headline(tree, hints.title) if hints.published_at else []
        if not beside:
            # A list page's text is its link titles: no body, and nothing to classify or alert on.
            hints.is_list_page = True
            hints.title = strip_site_suffix(page_title, meta.site_name) or hints.title
            return extract_text_article("", url, hints=hints, topics=topics)
        content = MainContent(beside, 0, sum(map(len, beside)))
    else:
        content = choose_content(tree, url, content)
    summary = find_summary(tree, meta.description)
    text = compose_text(content, hints, info_lines, find_editor_line(tree), summary)
    if len(text) > MAX_TEXT_CHARS:
        text = text[: text.rfind("\n", 0, MAX_TEXT_CHARS) + 1 or MAX_TEXT_CHARS]
        if "truncated" not in hints.flags:
            hints.flags.append("truncated")
    return extract_text_article(text, url, hints=hints, topics=topics)


def read_hints(
    tree: HtmlElement,
    url: str | None,
    meta: MetaTags | None = None,
    info_lines: list[str] | None = None,
    html: str = "",
) -> PageHints:
    """Everything the markup says about the page, before its text is cleaned.

    `html` is the page's source before its scripts were dropped: the one place some pages keep
    their publication time (see crawler.html.pubdate).
    """
    meta = meta or read_meta_tags(tree)
    headline = find_headline(
        tree, meta_title=meta.title, site_name=meta.site_name, section=meta.section, keywords=meta.keywords
    )
    publisher, footer_site_id = find_footer_facts(tree)
    published = _published(meta.published, info_lines or [], tree, url, html)
    body = tree.find("body")
    return PageHints(
        title=headline.title,
        published_at=published.iso if published and not published.inferred else None,
        authors=_not_in_title_suffix(meta.authors or find_author_names(tree), tree, headline.title),
        source=meta.source or headline.source,
        editor=meta.editor,
        site_name=meta.site_name,
        publisher=publisher,
        site_id_code=meta.site_id_code or footer_site_id,
        section=meta.section,
        keywords=list(meta.keywords),
        description=meta.description,
        attachments=find_attachments(body if body is not None else tree, url),
    )


def _published(
    meta_value: str | None, info_lines: list[str], tree: HtmlElement, url: str | None, html: str = ""
) -> ParsedDate | None:
    """The publication time, from the page's own words first, then from the weaker evidence.

    The date the page shows (its labelled metadata line, or else the one date-time it shows) wins
    when it agrees with the CMS tag on the day and gives the time (a tag often records when the
    item was filed, to the second); the tag wins on another day, or when the shown date has no
    time. With neither: the date a page script fills in (WeChat shows none without it), the day
    in the CMS's URL, a notice's signing date (落款), and last htmldate's reading of the markup.
    A shown date without a year (`发布时间：01-14 17:58`) keeps its day and time and takes the year
    from the first of those.
    """
    published = parse_date(meta_value) if meta_value else None
    shown = shown_date(info_lines[0]) if info_lines else None
    if shown is not None and not shown.inferred:
        if published is None or (shown.has_time and shown.day == published.day):
            return shown
        return published
    if published is not None:
        return published
    weaker = (
        lambda: script_date(html),
        lambda: url_date(url),
        lambda: signing_date(tree),
        lambda: _htmldate(tree, url),
    )
    for read in weaker:
        found = read()
        if found is None:
            continue
        return _with_year_of(shown, found) if shown is not None else found
    return None


def _with_year_of(shown: ParsedDate, found: ParsedDate) -> ParsedDate:
    """A labelled month-day (and time) the page shows, in the year of the weaker candidate."""
    if shown.iso[4:10] == found.iso[4:10] and found.has_time:
        return found
    iso = found.iso[:4] + shown.iso[4:]
    try:
        day = date.fromisoformat(iso[:10])
    except ValueError:  # 02-29 in a year without it
        return found
    if day > datetime.now(CHINA_TZ).date():
        return found
    return ParsedDate(iso, has_time=shown.has_time)


def _htmldate(tree: HtmlElement, url: str | None) -> ParsedDate | None:
    try:
        found = find_date(tree, url=url, original_date=True, outputformat=_HTMLDATE_FORMAT)
    except (ValueError, TypeError):  # a date the library cannot hold is no date
        return None
    if not found:
        return None
    # htmldate writes midnight for a date without a time of day.
    return parse_date(found[:10] if found.endswith(" 00:00:00") else found)


def _not_in_title_suffix(authors: list[str], tree: HtmlElement, headline: str | None) -> list[str]:
    # `…_网易新闻` names the portal: an `author` meta naming it is the portal, not a person.
    suffix = squash(tree.findtext(".//title") or "").replace(headline or "", " ")
    return [name for name in authors if name not in suffix]


def compose_text(
    content: MainContent,
    hints: PageHints,
    info_lines: list[str],
    editor_line: str | None = None,
    summary: Sequence[str] = (),
) -> str:
    """Main text with the metadata line and a summary kept apart on top, attachments and credit last."""
    lines = _without_headline(content.lines, hints.title)
    if not lines:
        return ""
    flat = squash(" ".join(lines))
    if summary and squash(summary[0])[:_SUMMARY_PROBE] not in flat:
        lines[:0] = summary
    lines[:0] = [line for line in info_lines if squash(line) not in flat]
    for attachment in hints.attachments:
        if attachment.title not in flat:
            lines.append(_ATTACHMENT_LINE.format(title=attachment.title))
    # Last, as on the page: the text layer takes a credit line after the body as the article's end.
    if editor_line and squash(editor_line) not in flat:
        lines.append(editor_line)
    return "\n".join(lines)


def _without_headline(lines: list[str], title: str | None) -> list[str]:
    """The lines without the headline trafilatura keeps near the top, even when split over lines."""
    if not title:
        return list(lines)
    target = "".join(title.split())
    lines = [_after_title(line, title) for line in lines[:_HEAD_LINES]] + lines[_HEAD_LINES:]
    for start in range(min(_HEAD_LINES, len(lines))):
        joined = ""
        for end in range(start, min(start + _HEAD_LINES, len(lines))):
            joined += "".join(lines[end].split())
            if joined == target:
                return lines[:start] + lines[end + 1 :]
            if not target.startswith(joined):
                break
    return list(lines)


def _after_title(line: str, title: str) -> str:
    # A table cell often holds the headline and the next field together (`标题 来源于：东区办事处`).
    flat = squash(line)
    return flat[len(title) :].strip() if flat.startswith(title + " ") else line


def parse_page(body: bytes | str, http_charset: str | None = None) -> HtmlElement:
    """A page decoded and parsed as extract_article parses it (scripts, styles, comments gone)."""
    return _parse(_decode(body, http_charset).text)


def _decode(body: bytes | str, http_charset: str | None) -> DecodedPage:
    if isinstance(body, bytes):
        return decode_html(body, http_charset=http_charset)
    if not body.strip():
        raise ExtractionError("empty page: no text to parse")
    if sniff_binary(body[:4096].encode("utf-8", "replace")) is not None:
        raise ExtractionError("not an HTML page: the text contains binary data")
    truncated = len(body) > MAX_BYTES
    return DecodedPage(body[:MAX_BYTES] if truncated else body, "str", None, truncated)


def _parse(text: str) -> HtmlElement:
    try:
        # lxml refuses str input that still carries an XML encoding declaration (XHTML pages).
        tree = lxml.html.document_fromstring(_XML_DECLARATION.sub("", text, count=1))
    except (ParserError, ValueError) as exc:
        raise ExtractionError(f"not parseable as HTML: {exc}") from None
    # Scripts and styles are never content; removing them once spares every later walk. CMS
    # templates wrap fields in comments (`来源于：<!-- 文章来源 begin -->东区办事处`) and the text
    # after a comment is lost by extractors unless the comment goes first (drop_tree keeps it).
    for element in tree.xpath(
        "//script[not(@type='application/ld+json')] | //style | //noscript | //comment()"
    ):
        if element.getparent() is not None:  # comments outside <html> have no parent and no effect
            element.drop_tree()
    body = tree.find("body")
    if body is None or not squash(body.text_content()):
        raise ExtractionError("the page has no body text")
    return tree
