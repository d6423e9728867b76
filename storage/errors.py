"""Errors of storing a page that its caller handles without the write path loaded."""

from __future__ import annotations


class NotAnArticle(ValueError):
    """A record with no article body (a list page, an empty page): there is nothing to store."""
