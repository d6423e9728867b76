"""Importing the modules a process keeps to its end, with the cyclic garbage collector kept out of it.

A crawl, an extraction worker or a store writer loads tens of thousands of long-lived objects
(Scrapy and Twisted, trafilatura and lxml, SQLAlchemy, pydantic) before it does any work. The
collector, run while they load, finds nothing to free; afterwards every full collection walks them
all again, down to the last one at interpreter exit. Imported with the collector paused and then
frozen (gc.freeze), they stay out of every later collection: about a sixth of a crawl's start-up,
and the exit's collection, on this machine (bench/crawl.py). They live as long as the process does,
so nothing is kept that would otherwise have been freed.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType


@contextmanager
def long_lived() -> Iterator[None]:
    """Pause the collector for the block; freeze everything that exists when it ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def import_long_lived(name: str) -> ModuleType:
    """`importlib.import_module(name)` inside `long_lived()` (a module already loaded costs nothing)."""
    with long_lived():
        return importlib.import_module(name)
