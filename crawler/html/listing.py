"""Recognising list/hub pages (栏目页, 列表页, home pages, search results, forum indexes).

A list page is made of link items: repeated siblings (`li`, `tr`, `div.item` …) that each carry a
title-length link, perhaps with a snippet and a date. An article page, even one ringed by long
"related news" lists, has prose of its own outside such items, beside its headline. So the page's
main text is split into what sits inside repeated link items and what does not: little prose
outside the items makes a list, whatever the items hold (a search page's snippets are prose, but
they are the items' own).
"""

from __future__ import annotations

import re
from collections import Counter

from lxml.html import HtmlElement

from crawler.html.candidates import block_lines
from crawler.html.content import MainContent
from crawler.html.headline import squash
from crawler.text.cleaning.boilerplate import boilerplate_kind
from crawler.text.cleaning.prose import prose_chars

_TITLE_LINK_MIN = 8  # characters of anchor text that look like an article title
_MIN_TITLE_LINKS = 15
_ARTICLE_PROSE = 200  # characters of paragraph text an article has at the least
_SHORT_ARTICLE_PROSE = 60  # a short news item: one paragraph, with no snippets around it
_MIN_ITEMS = 5  # repeated siblings that make a list
_ITEM_LINK_SHARE = 0.8  # of the repeated siblings, those that carry a title link
_MAX_ITEM_TEXT = 600  # an item longer than this is a block of content, not a list entry
_HEADLINE_XPATH = "//body//h1 | //body//h2 | //body//*[contains(@class, 'title') and not(self::a)]"
_HEADLINE_REACH = 3  # levels above a headline that still hold its article
# A picture gallery's caption opens with the picture counter (`1/10`): the viewer's, not the text's.
_GALLERY_COUNTER = re.compile(r"^\d{1,3}\s*/\s*\d{1,3}\s+")


def count_title_links(tree: HtmlElement) -> int:
    """Distinct anchor texts long enough to be article titles."""
    texts = {squash(a.text_content()) for a in tree.iter("a")}
    return sum(1 for text in texts if len(text) >= _TITLE_LINK_MIN)


def _has_title_link(element: HtmlElement) -> bool:
    return any(len(squash(a.text_content())) >= _TITLE_LINK_MIN for a in element.iter("a"))


def link_items(tree: HtmlElement) -> list[str]:
    """The squashed text of every item of the page's repeated link lists."""
    body = tree.find("body")
    if body is None:
        return []
    items: list[str] = []
    for parent in body.iter():
        children = [child for child in parent if isinstance(child.tag, str)]
        if len(children) < _MIN_ITEMS:
            continue
        shapes = Counter((child.tag, child.get("class")) for child in children)
        shape, count = shapes.most_common(1)[0]
        if count < _MIN_ITEMS:
            continue
        group = [child for child in children if (child.tag, child.get("class")) == shape]
        texts = [squash(child.text_content()) for child in group]
        linked = [text for child, text in zip(group, texts, strict=True) if _has_title_link(child)]
        if len(linked) >= _ITEM_LINK_SHARE * len(group) and all(len(t) <= _MAX_ITEM_TEXT for t in linked):
            items.extend(linked)
    return items


def prose_outside_items(content: MainContent, items: list[str]) -> tuple[list[str], int]:
    """Prose lines of the main text outside the page's repeated link items, and prose chars inside."""
    joined = "\n".join(items)
    outside: list[str] = []
    inside = 0
    for line in content.lines:
        chars = prose_chars(line)
        if not chars or boilerplate_kind(line) == "promo":
            continue  # a teaser (`…召开。[详细]`) belongs to a home page's links, not to an article
        if squash(line) in joined:
            inside += chars
        else:
            outside.append(squash(line))
    return outside, inside


def _headline_block(heading: HtmlElement) -> HtmlElement:
    """The block a headline stands in: _HEADLINE_REACH levels up, never the body itself."""
    block = heading
    for _ in range(_HEADLINE_REACH):
        parent = block.getparent()
        if parent is None or parent.tag == "body":
            break
        block = parent
    return block


def _beside_a_headline(tree: HtmlElement, lines: list[str]) -> bool:
    """Whether a prose line sits in the same block as a headline (within a few levels of it)."""
    for heading in tree.xpath(_HEADLINE_XPATH):
        text = squash(_headline_block(heading).text_content())
        if any(line in text for line in lines):
            return True
    return False


def prose_beside_headline(tree: HtmlElement, title: str | None) -> list[str]:
    """The prose lines in the headline's own block (a few levels up), without link text.

    A picture gallery or a one-caption photo article has its only text beside the headline, while
    the rest of the page is related links: that text is the article's body, not a list's snippet.
    """
    if not title:
        return []
    for heading in tree.xpath(_HEADLINE_XPATH):
        if title not in squash(heading.text_content()):
            continue
        block = _headline_block(heading)
        links = {squash(a.text_content()) for a in block.iter("a")}
        lines = [_GALLERY_COUNTER.sub("", squash(line)) for line in block_lines(block)]
        prose = [line for line in lines if line not in links and title not in line and prose_chars(line)]
        if prose:
            return prose
    return []


def is_list_page(tree: HtmlElement, content: MainContent, *, article_evidence: bool) -> bool:
    """Whether the page lists articles rather than being one.

    `article_evidence` is what marks an article even when its text is short: CMS article tags
    (ArticleTitle with PubDate), a marked content container, a metadata line, attachments.
    """
    if count_title_links(tree) < _MIN_TITLE_LINKS:
        return False
    lines, inside = prose_outside_items(content, link_items(tree))
    outside = sum(map(len, lines))
    if outside >= _ARTICLE_PROSE:
        return False
    if article_evidence:
        return outside == 0 and (content.list_item_chars > 0 or inside > 0)
    # A short item ringed by related links has its paragraph outside the lists, beside its
    # headline, and the lists hold titles only; a home or search page's snippets are its items'.
    short_article = outside >= _SHORT_ARTICLE_PROSE and inside < outside and _beside_a_headline(tree, lines)
    return not short_article
