"""Whether a line reads as a paragraph of prose: long enough, and punctuated like sentences.

Chrome (navigation, link lists, footers, teaser titles) is short or unpunctuated; prose is what
an article is made of. The text layer uses this to tell a closing marker that ends the article
from one that stands before it, and the HTML layer to weigh main-content candidates.
"""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"[，。；：！？、“”（）,.;:!?]")
# Headlines and teasers carry commas, quotes and exclamation marks too, but seldom a full stop;
# a paragraph has one, or ends a sentence.
_FULL_STOP = re.compile(r"。|(?<=[A-Za-z])[.!?](?:\s|$)|[！？]”?$")
PROSE_LINE = 30  # characters (whitespace excluded) of the shortest paragraph counted as prose
_MIN_MARKS = 2
# A long run of clauses is prose even when the page lost its full stops (`，` and `,` only).
_LONG_LINE, _CHARS_PER_CLAUSE = 80, 25
_CLAUSE_MARK = re.compile(r"[，,；;、]")


def punctuation_count(line: str) -> int:
    """Punctuation marks of sentences in a line."""
    return len(_PUNCTUATION.findall(line))


def prose_chars(line: str) -> int:
    """The line's characters (whitespace excluded) if it reads as prose, else 0."""
    size = len("".join(line.split()))
    if size < PROSE_LINE:
        return 0
    marks = punctuation_count(line)
    if marks < _MIN_MARKS:
        return 0
    if _FULL_STOP.search(line.rstrip()) or (
        size >= _LONG_LINE and len(_CLAUSE_MARK.findall(line)) * _CHARS_PER_CLAUSE >= size
    ):
        return size
    return 0


def has_sentence(line: str) -> bool:
    """Whether the line ends a sentence somewhere, however short it is (chrome never does)."""
    return _FULL_STOP.search(line.rstrip()) is not None
