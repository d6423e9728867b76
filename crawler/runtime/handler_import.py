"""Scrapy's HTTP/1.1 download handler, imported without reading the source of every frame on the stack.

Importing the handler imports scrapy.core.downloader.contextfactory and .tls, which define three
deprecated class aliases with scrapy.utils.deprecate.create_deprecated_class. That function calls
`inspect.stack()` only to learn which module called it, and `inspect.stack()` reads the source lines
of every frame on the stack (findsource, linecache, getmodule over every loaded module): about a
tenth of a second of every crawl process's start-up, as much as a quiet crawl of 30 sites spends on
its requests (bench/crawl.py). Here the import runs with `inspect.stack` asking for no source
lines, which gives the same frames, so the aliases get the same module names.
"""

from __future__ import annotations

import importlib
import inspect

HTTP_HANDLER_MODULE = "scrapy.core.downloader.handlers.http11"


def import_http_handler() -> None:
    """Import Scrapy's HTTP/1.1 download handler (once per process; later calls cost nothing)."""
    original = inspect.stack

    def frames_without_source(context: int = 1) -> list[inspect.FrameInfo]:
        # [1:]: this function's own frame is not one the caller expects to see.
        return original(0)[1:]

    inspect.stack = frames_without_source
    try:
        importlib.import_module(HTTP_HANDLER_MODULE)
    finally:
        inspect.stack = original
