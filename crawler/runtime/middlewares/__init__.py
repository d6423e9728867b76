"""Downloader middlewares: crawl scope, WAF/binary detection, and the conditional-GET cache policy.

The exceptions here are `IgnoreRequest`s, so Scrapy hands them to the request's errback, where the
spider counts each under its error kind.
"""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest


class OffsiteRequest(IgnoreRequest):
    """A request (or redirect target) outside the hosts configured for its source."""


class BlockedPage(IgnoreRequest):
    """A WAF or challenge page (403/412/521, or a script-only 200) in place of the content."""


class BinaryPage(IgnoreRequest):
    """A binary file (PDF, archive, image, Office document) served where a page was expected."""


class SourceOverBudget(IgnoreRequest):
    """A request of a source whose time in this crawl (COUNTYWATCH_SOURCE_TIME_LIMIT) is used up."""
