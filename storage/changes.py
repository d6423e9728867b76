"""Deciding whether a page changed, and describing how: paragraph-level diffs.

Texts reaching storage are already cleaned (chrome, counters and spacing gone), so a change is
material when the normalised text or title differs at all: a paragraph added, removed, or edited
beyond whitespace and punctuation. Paragraphs are compared by their normalised form, so re-wrapped
or re-spaced paragraphs do not show up in a diff.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from crawler.dedupe.fingerprint import normalize_text

SHORT_DIFF_LINES = 6
SHORT_LINE_CHARS = 120


@dataclass(frozen=True, slots=True)
class TextChange:
    """How a new version differs from the previous one."""

    title_before: str | None
    title_after: str | None
    lines: tuple[str, ...]  # "- old paragraph" / "+ new paragraph", in document order

    @property
    def title_changed(self) -> bool:
        """Whether the title differs beyond spacing and punctuation."""
        return normalize_text(self.title_before or "") != normalize_text(self.title_after or "")

    @property
    def added(self) -> int:
        """Number of paragraphs added or rewritten."""
        return sum(1 for line in self.lines if line.startswith("+"))

    @property
    def removed(self) -> int:
        """Number of paragraphs removed or rewritten."""
        return sum(1 for line in self.lines if line.startswith("-"))

    def as_text(self) -> str:
        """The whole diff, one line per changed paragraph, the title change first."""
        head = [f"标题: {self.title_before or ''} → {self.title_after or ''}"] if self.title_changed else []
        return "\n".join([*head, *self.lines])

    def short(self, max_lines: int = SHORT_DIFF_LINES, max_chars: int = SHORT_LINE_CHARS) -> list[str]:
        """A few changed lines for an alert, each cut to `max_chars` characters."""
        lines = self.as_text().split("\n")
        out = [line if len(line) <= max_chars else line[: max_chars - 1] + "…" for line in lines[:max_lines]]
        if len(lines) > max_lines:
            out.append(f"… ({len(lines) - max_lines} more changed lines)")
        return out


def paragraphs(text: str) -> list[str]:
    """Non-empty paragraphs of a cleaned text, stripped."""
    return [p.strip() for p in text.split("\n") if p.strip()]


def text_change(
    old_title: str | None, old_text: str, new_title: str | None, new_text: str
) -> TextChange | None:
    """The material difference between two versions, or None when there is none."""
    old_paras, new_paras = paragraphs(old_text), paragraphs(new_text)
    old_keys = [normalize_text(p) for p in old_paras]
    new_keys = [normalize_text(p) for p in new_paras]
    lines: list[str] = []
    matcher = SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        lines.extend(f"- {p}" for p, k in zip(old_paras[i1:i2], old_keys[i1:i2], strict=True) if k)
        lines.extend(f"+ {p}" for p, k in zip(new_paras[j1:j2], new_keys[j1:j2], strict=True) if k)
    change = TextChange(old_title, new_title, tuple(lines))
    return change if lines or change.title_changed else None
