"""Dates printed beside links on list pages, and reconciling them with an article's own date.

List pages of Chinese government CMSs put the publication date next to each title
(`2024-04-19`, `[04-19]`, `2024年4月19日`), or inside the link after it (`<a><span>标题</span>
<span class="date">2024-04-19</span></a>`, `<a>标题 (2024-04-19)</a>`, `<a>标题[04-19]</a>`). It is
the most reliable date the crawler sees for an article with none of its own, and it fixes the year
of a date the article gives as `5月31日`. A date shown without its year (`[05-06]`) gets one from
the list around it (`infer_years`): lists run newest first, and a date is never in the future.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from crawler.article import Article

# A full date: 2024-04-19, 2024/4/19, 2024.04.19, 2024年4月19日; a yearless one: 04-19, 4月19日.
_FULL = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?:\s*日)?(?!\d)")
_YEARLESS = re.compile(r"(?<![\d./-])(\d{1,2})\s*(?:-|/|月)\s*(\d{1,2})(?:\s*日)?(?![\d./-])")


def find_list_date(text: str) -> str | None:
    """The date in a list entry's text: `YYYY-MM-DD`, `--MM-DD` when it has no year, else None."""
    match = _FULL.search(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return None
    match = _YEARLESS.search(text)
    if match:
        month, day = int(match.group(1)), int(match.group(2))
        if 1 <= month <= 12 and 1 <= day <= 31:
            return f"--{month:02d}-{day:02d}"
    return None


# A whole text that is only a date, perhaps bracketed: `2024-05-06`, `[05-06]`, `（2024年5月6日）`.
_BRACKETS = "()（）[]【】〔〕<>《》"
_YEARLESS_WHOLE = re.compile(r"\d{2}[-/.]\d{2}|\d{1,2}\s*月\s*\d{1,2}\s*日")
# A title with a date after it in brackets, or after a space when the date is all digits.
_TRAILING = re.compile(
    r"^(?P<title>.*?\S)\s*(?:[(（\[【〔](?P<bracketed>[^()（）\[\]【】〔〕]{3,20})[)）\]】〕]"
    r"|\s(?P<bare>(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}-\d{1,2}))\s*$",
    re.DOTALL,
)


def whole_date(text: str) -> str | None:
    """The date a text consists of (brackets and spaces around it allowed), else None."""
    inner = text.strip().strip(_BRACKETS + " \u3000").strip()
    if not inner or len(inner) > 20:
        return None
    found = find_list_date(inner)
    if found is None or (found.startswith("--") and not _YEARLESS_WHOLE.fullmatch(inner)):
        return None  # a yearless date is written 05-06 or 5月6日 (a bare "3-4" is a range)
    # Nothing but the date: no words around it ("2024年招生", "第3-4节" are not dates).
    rest = _FULL.sub("", inner, count=1) if _FULL.search(inner) else _YEARLESS.sub("", inner, count=1)
    return found if not rest.strip() else None


def split_trailing_date(text: str) -> tuple[str, str | None]:
    """A link text ending in its date (`标题 (2023-05-06)`, `标题[05-06]`): (title, date).

    A date at the start or in the middle of a title is part of the title (`2024年4月19日招生公告`).
    """
    match = _TRAILING.match(text.strip())
    if match is None:
        return text, None
    found = whole_date(match.group("bracketed") or match.group("bare") or "")
    return (match.group("title"), found) if found else (text, None)


def infer_years(dates: Sequence[str | None], today: date) -> list[str | None]:
    """The dates of one list, in page order, with each yearless `--MM-DD` given its year.

    A list runs newest first, so a yearless date takes the year of the date above it when that
    keeps the order (`06-02` under `2024-06-20`), the year before across a new year (`12-28` under
    `01-03`), and otherwise (the first one, or an item pinned out of order) the latest year that is
    not in the future. Full dates are kept; a date later than today is no guide to the ones below.
    """
    out: list[str | None] = []
    above: date | None = None
    for value in dates:
        if value is None or not value.startswith("--"):
            out.append(value)
            if value is not None:
                known = date.fromisoformat(value)
                above = known if known <= today else above
            continue
        month, day = int(value[2:4]), int(value[5:7])
        found = _in_order(month, day, above, today) or _latest(month, day, today)
        out.append(found.isoformat() if found else None)
        above = found or above
    return out


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None  # 02-29 of a year that has none


def _in_order(month: int, day: int, above: date | None, today: date) -> date | None:
    if above is None:
        return None
    same = _make(above.year, month, day)
    if same is not None and same <= above:
        return same
    if above.month <= 2 and month >= 11:  # the list crosses into the year before
        return _make(above.year - 1, month, day)
    return None


def _latest(month: int, day: int, today: date) -> date | None:
    for year in range(today.year, today.year - 8, -1):
        found = _make(year, month, day)
        if found is not None and found <= today:
            return found
    return None


def list_date_year(list_date: str | None) -> int | None:
    """The year of a list date, None for a yearless (`--MM-DD`) or missing one."""
    if list_date is None or list_date.startswith("--"):
        return None
    return int(list_date[:4])


def reconcile_date(
    published_at: str | None, flags: list[str], list_date: str | None
) -> tuple[str | None, bool]:
    """The article's date after consulting the list date, and whether the list date was used.

    An article without a date takes the list's full date. An article whose year was inferred
    (flag `date_inferred`) takes the list's year when month and day agree, or the whole list
    date when they do not (the list is what the site published).
    """
    year = list_date_year(list_date)
    if list_date is None or year is None:
        return published_at, False
    if published_at is None:
        return list_date, True
    if "date_inferred" not in flags:
        return published_at, False
    if published_at[5:10] == list_date[5:10]:
        return f"{year:04d}{published_at[4:]}", True
    return list_date, True


def apply_list_date(article: Article, list_date: str | None) -> None:
    """Give the article the list page's date when it has none, or fix the year it had to guess."""
    published, used = reconcile_date(article.published_at, article.flags, list_date)
    if used:
        article.published_at = published
        # The year now comes from the site's own list, not from a guess.
        article.flags = [f for f in article.flags if f != "date_inferred"]
