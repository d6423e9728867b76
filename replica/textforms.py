"""Text transformations the replica sites apply to stories (content-farm traditional copies)."""

from __future__ import annotations

from functools import cache

import opencc


@cache
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def to_traditional(text: str) -> str:
    """Simplified Chinese text converted to Traditional, as content-farm mirrors serve it."""
    return str(_s2t().convert(text))
