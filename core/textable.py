"""Plain-text tables for terminal output, aligned by display width (Chinese characters are two wide)."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal: wide and full-width characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text: str, width: int, right: bool = False) -> str:
    """`text` padded with spaces to `width` terminal columns, on the left when `right`-aligned."""
    fill = " " * max(width - display_width(text), 0)
    return fill + text if right else text + fill


def fit(text: str, width: int) -> str:
    """The text cut (with `…`) and padded to exactly `width` terminal columns."""
    out = ""
    for char in text:
        if display_width(out + char) > width:
            out = out[: max(len(out) - 1, 0)] + "…"
            break
        out += char
    return pad(out, width)


def format_table(
    rows: Sequence[Sequence[str]], indent: str = "", right_aligned: Collection[int] = ()
) -> list[str]:
    """The rows as lines, each column padded to its widest cell; the first row is the header.

    Columns whose index is in `right_aligned` (counts) are padded on the left so digits line up.
    """
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent
        + "  ".join(
            pad(cell, w, right=i in right_aligned)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
