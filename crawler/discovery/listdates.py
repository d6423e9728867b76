"""Dates printed beside links on list pages, and reconciling them with an article's own date.

List pages of Chinese government CMSs put the publication date next to each title
(`2024-04-19`, `[04-19]`, `2024年4月19日`). It is the most reliable date the crawler sees for an
article with none of its own, and it fixes the year of a date the article gives as `5月31日`.
"""

from __future__ import annotations

import re
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
