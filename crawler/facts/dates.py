"""Dates as Chinese pages write them, read into ISO 8601 in China time (+08:00).

`parse_date` finds the first plausible date in a string: `2024年3月5日`, `2024-03-05 10:20`,
`2024/3/5`, `2022/7/25 18:25:41`, `[03-05]`, `5月31日`, full-width digits and `二〇二四年三月五日`,
and the month-first `7/5/2005 9:23:57 PM` that old ASP.NET pages print (a 12-hour time is read
with its AM/PM). A time written with its offset (`2023-05-05T23:30:00Z`, `…+00:00` in JSON-LD and
Open Graph tags) is that instant, moved to China time: read without it, a UTC value before 08:00
lands on the day before.
A date without a year takes it from the reference date and says so (`inferred`), so the record
can carry the `date_inferred` flag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core.timezone import CHINA_TZ

EARLIEST_YEAR = 1990

_CN_DIGITS = {"〇": "0", "零": "0", "○": "0", "Ｏ": "0", "一": "1", "二": "2", "三": "3", "四": "4"}
_CN_DIGITS |= {"五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９：－／．", "0123456789:-/.")
_CN_YEAR = re.compile(r"[〇零○Ｏ一二三四五六七八九]{4}年")
_CN_MONTH_DAY = re.compile(r"(?<=[年月])([一二三四五六七八九十]{1,3})(?=[月日号])")

_TIME = (
    r"(?:\s*(?:T|\s)?\s*(?P<hour>[01]?\d|2[0-3])(?::|时|点)(?P<minute>[0-5]\d)"
    r"(?:(?::|分)(?P<second>[0-5]\d))?)?"
)
_FULL = re.compile(
    r"(?<!\d)(?P<year>(?:19|20)\d{2})\s*(?:年\s*|[-/.])(?P<month>\d{1,2})\s*(?:月\s*|[-/.])"
    r"(?P<day>\d{1,2})(?!\d)\s*[日号]?" + _TIME
)
# Month first, as .NET's default US culture prints it: only with a four-digit year last.
_US = re.compile(r"(?<![\d/])(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>(?:19|20)\d{2})(?![\d/])" + _TIME)
# An ISO offset right after the seconds (and their fraction): `Z`, `+00:00`, `+0800`.
_OFFSET = re.compile(r"(?:\.\d{1,9})?(?P<offset>Z|[+-](?:0\d|1[0-4]):?[0-5]\d)(?![\d:])")
_MERIDIEM = re.compile(r"\s*(?P<half>AM|PM|am|pm|A\.M\.|P\.M\.)")
_MONTH_DAY_CN = re.compile(r"(?<![\d年])(?P<month>\d{1,2})月(?P<day>\d{1,2})[日号]" + _TIME)
# A bare month-day with dashes is a date only with a time after it (`09-30 22:46`).
_MONTH_DAY_DASH = re.compile(
    r"(?<![\d\-/])(?P<month>\d{1,2})-(?P<day>\d{1,2})\s+(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)(?::(?P<second>[0-5]\d))?"
)
_MONTH_DAY_BRACKET = re.compile(r"[\[【(（]\s*(?P<month>\d{1,2})-(?P<day>\d{1,2})\s*[\]】)）]")


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A date read off a page: ISO text, whether it has a time, whether the year was guessed."""

    iso: str
    has_time: bool
    inferred: bool = False

    @property
    def day(self) -> date:
        """The calendar day of this date."""
        return date.fromisoformat(self.iso[:10])


def _cn_numeral(text: str) -> str:
    """Chinese numerals of a month or day (`十二`, `三十一`) as Arabic digits."""
    if "十" not in text:
        return "".join(_CN_DIGITS.get(ch, ch) for ch in text)
    tens, _, units = text.partition("十")
    value = (int(_CN_DIGITS[tens]) if tens else 1) * 10 + (int(_CN_DIGITS[units]) if units else 0)
    return str(value)


def normalize_digits(text: str) -> str:
    """Full-width digits and Chinese-numeral dates (`二〇二四年三月五日`) as ASCII digits."""
    text = text.translate(_FULLWIDTH_DIGITS)
    if "年" in text or "月" in text:
        text = _CN_YEAR.sub(lambda m: "".join(_CN_DIGITS[ch] for ch in m.group()[:4]) + "年", text)
        text = _CN_MONTH_DAY.sub(lambda m: _cn_numeral(m.group(1)), text)
    return text


def _build(
    year: int, month: int, day: int, match: re.Match[str], *, inferred: bool, latest: date
) -> ParsedDate | None:
    try:
        day_value = date(year, month, day)
    except ValueError:
        return None
    if year < EARLIEST_YEAR or day_value > latest:
        return None
    groups = match.groupdict()
    hour = groups.get("hour")
    if hour is None:
        return ParsedDate(day_value.isoformat(), has_time=False, inferred=inferred)
    hours = int(hour)
    half = _MERIDIEM.match(match.string, match.end())
    if half and 1 <= hours <= 12:
        hours = hours % 12 + (12 if half["half"][0] in "Pp" else 0)
    moment = datetime(
        year, month, day, hours, int(groups["minute"]), int(groups.get("second") or 0), tzinfo=CHINA_TZ
    )
    offset = _OFFSET.match(match.string, match.end()) if groups.get("second") else None
    if offset:
        # strptime's %z reads `Z`, `+00:00` and `+0800` alike.
        zone = datetime.strptime(offset["offset"], "%z").tzinfo
        moment = moment.replace(tzinfo=zone).astimezone(CHINA_TZ)
    return ParsedDate(moment.isoformat(), has_time=True, inferred=inferred)


def parse_date(text: str, *, reference: date | None = None) -> ParsedDate | None:
    """The first plausible date in `text` (China time), or None; a missing year comes from `reference`."""
    text = normalize_digits(text)
    today = reference or datetime.now(CHINA_TZ).date()
    latest = today + timedelta(days=1)
    for pattern in (_FULL, _US):
        for match in pattern.finditer(text):
            year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
            found = _build(year, month, day, match, inferred=False, latest=latest)
            if found:
                return found
    for pattern in (_MONTH_DAY_CN, _MONTH_DAY_BRACKET, _MONTH_DAY_DASH):
        for match in pattern.finditer(text):
            month, day = int(match["month"]), int(match["day"])
            # A month-day later than the reference belongs to the year before.
            for year in (today.year, today.year - 1):
                found = _build(year, month, day, match, inferred=True, latest=latest)
                if found:
                    return found
    return None
