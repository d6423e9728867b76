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
from dataclasses import dataclass

import trafilatura
from lxml.html import Element, HtmlElement

from crawler.page.candidates import block_lines, densest_block

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
    container = find_cms_container(tree)
    if container is not None:
        # Everything in a marked container is the article: recall keeps its short lists and lines.
        content = _run_trafilatura(_document_of(container), url, recall=True)
        if content.lines:
            return content
    return _run_trafilatura(tree, url, recall=False)


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
    return {
        "trafilatura": _run_trafilatura(tree, url, recall=False).lines,
        "trafilatura favor_precision": _run_trafilatura(tree, url, recall=False, precision=True).lines,
        "trafilatura favor_recall": _run_trafilatura(tree, url, recall=True).lines,
        "CMS container (recall)": (
            _run_trafilatura(_document_of(container), url, recall=True).lines if container is not None else []
        ),
        "densest block": block_lines(block) if block is not None else [],
        "chosen (extract_main_content)": extract_main_content(tree, url).lines,
    }
