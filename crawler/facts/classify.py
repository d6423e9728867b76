"""Topic and category classification by keywords (the topics of the configuration).

A topic matches when one of its keywords is in the title, or its keywords occur in the body at
least `min_hits` times, and none of its `exclude` words occurs in title or body. Its categories are
then scored: a keyword in the title counts ten times a keyword in the body (title-only categories
count the title alone), a category needs its keyword in the title or twice in the body, and the
strongest come first, at most MAX_CATEGORIES of them.

Keywords are counted leftmost-longest and without overlap, and a few set phrases of government
writing are consumed without counting: 主题教育 (a Party study campaign) or 警示教育 say nothing about
schools, so they must not make a county-committee meeting an education article.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from core.config import Topic

MAX_CATEGORIES = 3
_TITLE_WEIGHT = 10
_MIN_BODY_HITS = 2
# Set phrases that contain a keyword but are about something else; matched, never counted.
NON_TOPICAL_PHRASES = (
    "主题教育",
    "党史学习教育",
    "学习教育",
    "党史教育",
    "警示教育",
    "廉政教育",
    "廉洁教育",
    "党性教育",
    "党员教育",
    "干部教育",
    "理想信念教育",
    "教育整顿",
    "教育引导",
    "批评教育",
    "宣传教育",
    "教育培训机构",
    "教育基地",
    "驾校",
)


@lru_cache(maxsize=256)
def _matcher(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """One alternation of keywords and set phrases, longest first so the longest match wins."""
    words = sorted({*keywords, *NON_TOPICAL_PHRASES}, key=len, reverse=True)
    return re.compile("|".join(re.escape(word) for word in words if word))


def count_hits(text: str, keywords: Iterable[str]) -> int:
    """How many times the keywords occur in the text (leftmost-longest, set phrases not counted)."""
    wanted = tuple(sorted(set(keywords)))
    if not text or not wanted:
        return 0
    # A keyword that is itself a set phrase (a user's own choice) still counts.
    return sum(
        1
        for match in _matcher(wanted).finditer(text)
        if match.group() in wanted or match.group() not in NON_TOPICAL_PHRASES
    )


def _contains_any(text: str, words: Iterable[str]) -> bool:
    return any(word and word in text for word in words)


def _categories(title: str, text: str, topic: Topic) -> list[tuple[int, int, str]]:
    scored: list[tuple[int, int, str]] = []
    for order, category in enumerate(topic.categories.values()):
        in_title = count_hits(title, category.keywords)
        in_body = 0 if category.title_only else count_hits(text, category.keywords)
        score = _TITLE_WEIGHT * in_title + in_body
        # A single passing mention in the body is noise: it takes the title or two mentions.
        if score >= _MIN_BODY_HITS:
            scored.append((score, order, category.label))
    return scored


def classify(title: str | None, text: str, topics: Mapping[str, Topic]) -> tuple[list[str], list[str]]:
    """Topic keys and category labels (strongest first) of an article."""
    title = title or ""
    matched: list[str] = []
    scored: list[tuple[int, int, str]] = []
    for key, topic in topics.items():
        if _contains_any(title, topic.exclude) or _contains_any(text, topic.exclude):
            continue
        if count_hits(title, topic.keywords) == 0 and count_hits(text, topic.keywords) < topic.min_hits:
            continue
        matched.append(key)
        scored.extend(_categories(title, text, topic))
    labels: list[str] = []
    for _, _, label in sorted(scored, key=lambda entry: (-entry[0], entry[1])):
        if label not in labels:
            labels.append(label)
    return matched, labels[:MAX_CATEGORIES]
