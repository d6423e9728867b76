"""The main content of a page, by trafilatura, as readable lines.

trafilatura gets the tree this module's caller already parsed (it copies it, so the caller's tree
stays intact) and runs without its own metadata pass, which the HTML layer does more precisely for
Chinese CMS pages. Government CMSs mark their article container (Hanweb's `ContentStart` meta,
gov.cn's `UCAP-CONTENT`, TRS's `TRS_Editor`, VSB's `vsb_content`, the common `zoom` font-size
box); when one is present trafilatura only sees that container, which keeps short notices that it
would otherwise pass over for the navigation. Tables come out as `cell | cell` lines and list
items as plain lines.

Encyclopedias and some news templates set the article's summary apart from the body, in a header
block (Baidu Baike's `lemma-summary`) that trafilatura passes over; `find_summary` recovers it when
the page's description confirms that the block is the page's own summary.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass

import trafilatura
from lxml.html import Element, HtmlElement

from crawler.html.candidates import block_lines, densest_block
from crawler.text.cleaning.prose import prose_chars
from crawler.text.metaline import parse_meta_line

_TABLE_RULE = re.compile(r"^\|?(?:\s*:?-{3,}:?\s*\|)+\s*$")
_SUMMARY_XPATH = (
    "//body//*[contains(@class, 'summary') or contains(@class, 'abstract') or contains(@class, 'digest')]"
)
_CITATION = re.compile(r"\s*\[\d+(?:[-,]\d+)*\]\s*")
_SUMMARY_MIN, _SUMMARY_MAX, _SUMMARY_PROOF = 20, 2000, 12
_LIST_ITEM = re.compile(r"^- ")


@dataclass(frozen=True, slots=True)
class MainContent:
    """Main text lines, and how many of them were list items (list pages are mostly list items)."""

    lines: list[str]
    list_item_chars: int
    prose_chars: int  # characters in non-list lines long enough to be paragraphs

    @property
    def text(self) -> str:
        """The lines joined by newlines."""
        return "\n".join(self.lines)


_PARAGRAPH_MIN = 40
# Choosing between candidates (see choose_content).
_KEEPS_PROSE, _AT_MOST_PROSE = 0.97, 1.3
_ALMOST_NO_PROSE, _ARTICLE_PROSE = 60, 200
_CLEAN_ENOUGH = 0.08  # share of a reading that is not prose below which it is not reconsidered
_CONTAINER_MIN_TEXT = 10
# Most specific first: the Hanweb marker and named containers, then the TRS editor class.
_CMS_CONTAINERS = (
    "//body//meta[@name='ContentStart']/..",
    "//*[@id='UCAP-CONTENT']",
    "//*[@id='vsb_content' or @id='vsb_content_2' or @id='vsb_content_4']",
    "//*[@id='zoom' or @id='Zoom' or @id='fontzoom' or @id='ozoom' or @id='art_content']",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' TRS_Editor ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' TRS_UEDITOR ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' pages_content ')]",
)


def find_cms_container(tree: HtmlElement) -> HtmlElement | None:
    """The article container a government CMS marks, when the page has one with text in it."""
    for xpath in _CMS_CONTAINERS:
        for element in tree.xpath(xpath):
            if len(element.text_content().strip()) >= _CONTAINER_MIN_TEXT:
                return element
    return None


def extract_main_content(tree: HtmlElement, url: str | None) -> MainContent:
    """Main text of a parsed page (of its CMS container, if marked); empty when nothing is found."""
    return content_of(tree, url, find_cms_container(tree))


def content_of(tree: HtmlElement, url: str | None, container: HtmlElement | None) -> MainContent:
    """Main text of a parsed page whose CMS container (or None) the caller already looked up."""
    if container is not None:
        # Everything in a marked container is the article: recall keeps its short lists and lines.
        content = _run_trafilatura(_document_of(container), url, recall=True)
        if content.lines:
            return content
    return _run_trafilatura(tree, url, recall=False)


def _weigh(lines: list[str]) -> tuple[int, int]:
    """Prose characters of the lines, and the rest (chrome, link lists, captions)."""
    prose = sum(prose_chars(line) for line in lines)
    return prose, sum(len("".join(line.split())) for line in lines) - prose


def choose_content(tree: HtmlElement, url: str | None, content: MainContent) -> MainContent:
    """The candidate that holds the same prose as `content` with the least else, by evidence.

    Beside trafilatura's default reading (`content`), trafilatura's precision setting and the
    densest text block are weighed. One that keeps the prose (within a few percent, not much more,
    which would be comments or other articles) but carries less that is not prose wins: the same
    body with less navigation. One that finds substantially more prose, as paragraphs, than a
    reading that found almost none has found the body the other missed.
    """
    prose, rest = _weigh(content.lines)
    if _clean(prose, rest):
        return content  # all but a few lines are paragraphs: no other reading can do better
    best, best_rest = content.lines, rest
    block = densest_block(tree)
    # The density reading costs one walk of the tree; trafilatura's precision reading costs as
    # much as the first, so it runs only when the cheap one did not already give a clean body.
    readings: list[Callable[[], list[str]]] = [lambda: block_lines(block) if block is not None else []]
    readings.append(lambda: _run_trafilatura(tree, url, recall=False, precision=True).lines)
    for read in readings:
        lines = read()
        their_prose, their_rest = _weigh(lines)
        same_body = prose * _KEEPS_PROSE <= their_prose <= prose * _AT_MOST_PROSE
        found_body = prose < _ALMOST_NO_PROSE and their_prose >= _ARTICLE_PROSE and their_rest <= their_prose
        if (same_body and their_rest < best_rest) or (found_body and best is content.lines):
            best, best_rest = lines, their_rest
            if _clean(their_prose, their_rest):
                break
    if best is content.lines:
        return content
    # The metadata lines above the body in the first reading (`标题 来源于：东区办事处`) stay: the
    # text layer reads the fields off them. Below the body they would be other stories' dates.
    chosen = set(best)
    head = next((i for i, line in enumerate(content.lines) if prose_chars(line)), len(content.lines))
    meta = [line for line in content.lines[:head] if line not in chosen and _is_meta_line(line)]
    lines = [*meta, *best]
    return MainContent(lines, 0, prose_chars_total(lines))


def _is_meta_line(line: str) -> bool:
    # A table cell often holds the headline and the first field together.
    return any(parse_meta_line(part) is not None for part in (line, line.split(" ", 1)[-1]))


def _clean(prose: int, rest: int) -> bool:
    return prose >= _ARTICLE_PROSE and rest <= (prose + rest) * _CLEAN_ENOUGH


def prose_chars_total(lines: list[str]) -> int:
    """Characters of the lines long enough to be paragraphs (how MainContent counts prose)."""
    return sum(len(line) for line in lines if len(line) >= _PARAGRAPH_MIN)


def find_summary(tree: HtmlElement, description: str | None) -> list[str]:
    """Paragraphs of the page's summary block, when it starts as the meta description does."""
    proof = "".join((description or "").split())[:_SUMMARY_PROOF]
    if len(proof) < _SUMMARY_PROOF:
        return []
    for element in tree.xpath(_SUMMARY_XPATH):
        parts = [child for child in element if isinstance(child.tag, str)] or [element]
        paragraphs = [_CITATION.sub("", " ".join(part.text_content().split())) for part in parts]
        paragraphs = [text for text in paragraphs if text]
        joined = "".join("".join(paragraphs).split())
        if _SUMMARY_MIN <= len(joined) <= _SUMMARY_MAX and joined.startswith(proof):
            return paragraphs
    return []


def _document_of(element: HtmlElement) -> HtmlElement:
    document = Element("html")
    body = Element("body")
    document.append(body)
    body.append(copy.deepcopy(element))
    return document


def _run_trafilatura(
    tree: HtmlElement, url: str | None, *, recall: bool, precision: bool = False
) -> MainContent:
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        favor_recall=recall,
        favor_precision=precision,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        with_metadata=False,
    )
    raw = getattr(document, "text", None) or ""
    lines: list[str] = []
    list_chars = 0
    prose_chars = 0
    in_list_item = False
    for raw_line in raw.splitlines():
        line = raw_line.strip()
        if not line or _TABLE_RULE.match(line):
            continue
        if line == "-":
            # trafilatura writes a list item whose text starts on the next line as a lone dash.
            in_list_item = True
            continue
        is_list_item = in_list_item or _LIST_ITEM.match(line) is not None
        in_list_item = False
        if _LIST_ITEM.match(line):
            line = line[2:].strip()
        elif line.startswith("|"):
            # Layout tables hold whole articles on older CMS pages: a long cell is prose.
            line = " | ".join(cell.strip() for cell in line.strip("| ").split("|") if cell.strip())
        if not line:
            continue
        if is_list_item:
            list_chars += len(line)
        elif len(line) >= _PARAGRAPH_MIN:
            prose_chars += len(line)
        lines.append(line)
    return MainContent(lines, list_chars, prose_chars)


def candidate_lines(tree: HtmlElement, url: str | None) -> dict[str, list[str]]:
    """Every main-content candidate of a parsed page by name, for measuring them side by side."""
    container = find_cms_container(tree)
    block = densest_block(tree)
    first = extract_main_content(tree, url)
    return {
        "trafilatura": _run_trafilatura(tree, url, recall=False).lines,
        "trafilatura favor_precision": _run_trafilatura(tree, url, recall=False, precision=True).lines,
        "trafilatura favor_recall": _run_trafilatura(tree, url, recall=True).lines,
        "CMS container (recall)": (
            _run_trafilatura(_document_of(container), url, recall=True).lines if container is not None else []
        ),
        "densest block": block_lines(block) if block is not None else [],
        "first reading (extract_main_content)": first.lines,
        "chosen by evidence (choose_content)": choose_content(tree, url, first).lines,
    }
