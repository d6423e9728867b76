"""Durations as the configuration file writes them (`45s`, `30m`, `6h`, `1d`, `2w`), read once.

A field typed `Duration` holds a `timedelta` from the moment the file is validated: callers compute
with it and never parse the text again. Written back (`model_dump(mode="json")`, the daemon's
snapshot, generated docs) it is the shortest exact text, so `6h` stays `6h`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, ValidationInfo

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
# Longer durations make no sense for a schedule, lease or limit, and overflow datetime arithmetic.
MAX_DURATION = timedelta(days=3650)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Largest unit first: the text written back is the shortest that means the same.
_UNITS_DOWN = sorted(_UNIT_SECONDS.items(), key=lambda unit: -unit[1])


def short(value: object, limit: int = 60) -> str:
    """repr(value), cut so one bad value cannot flood the one-line error."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """Parse `30s`, `15m`, `6h`, `1d`, `2w` (or a number of seconds) into a timedelta."""
    if isinstance(value, timedelta):
        seconds: float = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"invalid duration {short(value)} (use e.g. 45s, 30m, 6h, 1d, 1w)")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        if seconds > MAX_DURATION.total_seconds():
            raise ValueError(f"duration {short(value)} is longer than {MAX_DURATION.days} days")
        return timedelta(seconds=seconds)
    else:
        raise ValueError(f"expected a duration such as 30m, 6h or 1d, got {short(value)}")
    if not 0 <= seconds <= MAX_DURATION.total_seconds():
        raise ValueError(f"duration must be between 0 and {MAX_DURATION.days} days, got {short(value)}")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The duration as the file writes it, in the largest unit that is exact: 6h, 90m, 1.5s."""
    seconds = value.total_seconds()
    for unit, size in _UNITS_DOWN:
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


# A configuration field holding a duration: text (or seconds) in, timedelta out, text when dumped.
Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]


def at_least(minimum: timedelta, words: str) -> AfterValidator:
    """A check that a duration field is not shorter than `minimum` (`words` says it: "one minute")."""

    def check(value: timedelta, info: ValidationInfo) -> timedelta:
        if value < minimum:
            raise ValueError(f"{info.field_name} {format_duration(value)!r} is shorter than {words}")
        return value

    return AfterValidator(check)
