"""Main-content candidates of a page, and the features that choose between them.

No single extractor holds on every page: trafilatura's precision setting drops short notices,
its recall setting keeps navigation blocks, a CMS container is right when the CMS marks one, and
on old table layouts a text-density block (the idea behind readability and GNE) finds the body
that trafilatura passes over for the navigation. Each candidate is a list of lines; `assess`
scores one by features that do not depend on the site: how much of it is prose (lines that end
sentences, carry Chinese punctuation), how much is link text, and whether it sits below the
headline.

`densest_block` is the cheap text-density candidate: one walk over the parsed tree, scoring each
element by the punctuated, unlinked text of its paragraphs (readability's scheme: a paragraph's
score goes to its parent and half of it to the grandparent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml.html import HtmlElement

_PUNCTUATION = re.compile(r"[，。；：！？、“”（）,.;:!?]")
_SENTENCE_END = re.compile(r"[。！？!?”」)）]$")
_BLOCK_TAGS = frozenset(
    {"p", "div", "td", "li", "section", "article", "font", "span", "dd", "pre", "blockquote"}
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "textarea", "select", "option", "head", "title"})
_CONTAINER_TAGS = frozenset(
    {"div", "td", "article", "section", "main", "body", "tbody", "table", "dd", "center"}
)
_LINE_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "td",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "article",
        "dd",
        "dt",
        "table",
        "ul",
        "ol",
        "blockquote",
        "pre",
        "center",
        "form",
    }
)
_MIN_PARAGRAPH = 20  # characters of unlinked text a block needs to count as a paragraph
_MAX_LINK_SHARE = 0.3
_PROSE_LINE = 30  # characters of a line that reads as a paragraph


@dataclass(frozen=True, slots=True)
class Assessment:
    """What a candidate's lines are made of."""

    chars: int  # all characters, whitespace excluded
    prose_chars: int  # in lines long enough and punctuated like paragraphs
    punctuation: int

    @property
    def prose_share(self) -> float:
        """The part of the candidate that reads as paragraphs."""
        return self.prose_chars / self.chars if self.chars else 0.0


def assess(lines: list[str]) -> Assessment:
    """Count the prose of a candidate's lines."""
    chars = prose = punctuation = 0
    for line in lines:
        size = len("".join(line.split()))
        marks = len(_PUNCTUATION.findall(line))
        chars += size
        punctuation += marks
        if size >= _PROSE_LINE and marks >= 2 and (_SENTENCE_END.search(line) or marks * 40 >= size):
            prose += size
    return Assessment(chars, prose, punctuation)


def _own_text(element: HtmlElement) -> tuple[int, int, int]:
    """Characters, link characters and punctuation of an element's text, its children's included."""
    text = "".join(element.text_content().split())
    links = sum(len("".join(a.text_content().split())) for a in element.iter("a"))
    return len(text), links, len(_PUNCTUATION.findall(text))


def densest_block(tree: HtmlElement) -> HtmlElement | None:
    """The element whose paragraphs carry the most punctuated text that is not link text."""
    body = tree.find("body")
    if body is None:
        return None
    scores: dict[HtmlElement, float] = {}
    for element in body.iter():
        if not isinstance(element.tag, str) or element.tag not in _BLOCK_TAGS:
            continue
        # A paragraph is a block whose text is mostly its own, not nested blocks' (leaf-ish).
        if any(isinstance(child.tag, str) and child.tag in _CONTAINER_TAGS for child in element):
            continue
        chars, links, marks = _own_text(element)
        if chars < _MIN_PARAGRAPH or marks == 0 or links > chars * _MAX_LINK_SHARE:
            continue
        score = 1 + marks + min(chars // 100, 3)
        parent = element.getparent()
        if parent is None:
            continue
        scores[parent] = scores.get(parent, 0.0) + score
        grand = parent.getparent()
        if grand is not None:
            scores[grand] = scores.get(grand, 0.0) + score / 2
    if not scores:
        return None
    best = max(scores, key=lambda element: scores[element] * (1 - _link_share(element)))
    return best


def _link_share(element: HtmlElement) -> float:
    chars, links, _ = _own_text(element)
    return links / chars if chars else 1.0


def block_lines(element: HtmlElement) -> list[str]:
    """An element's text as lines, broken where block elements (and <br>) break it."""
    parts: list[str] = []
    current: list[str] = []

    def flush() -> None:
        line = " ".join("".join(current).split())
        if line:
            parts.append(line)
        current.clear()

    def walk(node: HtmlElement) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        breaks = tag in _LINE_TAGS
        if breaks:
            flush()
        if node.text and tag and tag not in _SKIP_TAGS:
            current.append(node.text)
        for child in node:
            if not (isinstance(child.tag, str) and child.tag in _SKIP_TAGS):
                walk(child)
            if child.tail:
                current.append(child.tail)
        if breaks:
            flush()

    walk(element)
    flush()
    return parts
