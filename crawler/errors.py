"""Errors the extraction layer raises for input it cannot use."""

from __future__ import annotations


class ExtractionError(ValueError):
    """A page that cannot become a record: empty, binary, undecodable or without a body.

    The message is one line and says what was wrong, so a command can print it as is.
    """


class OverBudget(ExtractionError):
    """A page larger, or slower to extract, than the per-page extraction budget."""
