"""Width: full-width ASCII to half-width. Script (traditional → simplified) is core/chinese.py."""

from __future__ import annotations

# Full-width ASCII letters, digits and signs fold to half-width; Chinese punctuation stays.
_WIDTH_TABLE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if chr(code) not in "，。：；！？（）"}
_WIDTH_TABLE[0x3000] = 0x20


def fold_width(text: str) -> str:
    """Fold full-width ASCII letters, digits and signs (and the ideographic space) to half-width."""
    return text.translate(_WIDTH_TABLE)
