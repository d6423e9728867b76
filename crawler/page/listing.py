"""Recognising list/column pages (栏目页, 列表页, forum indexes), which are not articles.

A list page is many title-like links and little prose: what the content extractor keeps of it is
list items or short lines, with no run of paragraphs. An article page, even one surrounded by a
long "related news" list, has paragraphs of its own.
"""

from __future__ import annotations

from lxml.html import HtmlElement

from crawler.page.content import MainContent
from crawler.page.title import squash

_TITLE_LINK_MIN = 8  # characters of anchor text that look like an article title
_MIN_TITLE_LINKS = 15
_ARTICLE_PROSE = 200  # characters of paragraph text an article has at the least


def count_title_links(tree: HtmlElement) -> int:
    """Distinct anchor texts long enough to be article titles."""
    texts = {squash(a.text_content()) for a in tree.iter("a")}
    return sum(1 for text in texts if len(text) >= _TITLE_LINK_MIN)


def is_list_page(tree: HtmlElement, content: MainContent, *, article_evidence: bool) -> bool:
    """Whether the page lists articles rather than being one.

    `article_evidence` is what marks an article even when its text is short: CMS article tags
    (ArticleTitle with PubDate), a marked content container, a metadata line, attachments.
    """
    if content.prose_chars >= _ARTICLE_PROSE * 3:
        return False
    if count_title_links(tree) < _MIN_TITLE_LINKS:
        return False
    if article_evidence:
        return content.prose_chars == 0 and content.list_item_chars > 0
    return content.prose_chars < _ARTICLE_PROSE
