"""Sorting a failed request into the error kinds source health counts."""

from __future__ import annotations

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import defer
from twisted.internet import error as tx_error
from twisted.python.failure import Failure

from crawler.runtime.middlewares import BinaryPage, BlockedPage, OffsiteRequest, SourceOverBudget
from crawler.runtime.middlewares.blocked import BLOCK_STATUSES

_TIMEOUTS = (DownloadTimeoutError, defer.TimeoutError, tx_error.TimeoutError, tx_error.TCPTimedOutError)
_CONNECTION = (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    ResponseDataLossError,
    tx_error.ConnectError,
    tx_error.ConnectionLost,
    tx_error.ConnectionDone,
    tx_error.DNSLookupError,
    OSError,
)


def http_status(failure: Failure) -> int | None:
    """The HTTP status of a failure that carries a response (HttpError), else None."""
    value = failure.value
    if isinstance(value, HttpError):
        return int(value.response.status)
    return None


def failure_kind(failure: Failure) -> str:
    """The error kind of a failed request: timeout, http_5xx, blocked, too_large, …"""
    value = failure.value
    if isinstance(value, OffsiteRequest):
        return "offsite"
    if isinstance(value, SourceOverBudget):
        return "budget"
    if isinstance(value, BlockedPage):
        return "blocked"
    if isinstance(value, BinaryPage):
        return "binary"
    status = http_status(failure)
    if status is not None:
        if status in BLOCK_STATUSES:
            return "blocked"
        return "http_5xx" if status >= 500 else "http_4xx"
    if isinstance(value, IgnoreRequest):
        message = str(value)
        if "max redirections" in message:
            return "redirect_loop"
        if "robots.txt" in message:
            return "robots"
        return "ignored"
    if isinstance(value, DownloadCancelledError | defer.CancelledError):
        return "too_large"  # DOWNLOAD_MAXSIZE is what cancels a download
    if isinstance(value, _TIMEOUTS):
        return "timeout"
    if isinstance(value, _CONNECTION):
        return "connection"
    return "other"
