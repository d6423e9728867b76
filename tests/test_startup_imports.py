"""What a crawl process loads before it has a page to store, and how it loads it.

An unchanged cycle is mostly start-up (bench/crawl.py), so the crawl command's modules must not pull
in the write path (storage.ingest and numpy), alembic, or the extraction stack; each of those is
loaded where it is used (the store writer, a behind-schema database, the extraction workers).
"""

from __future__ import annotations

import gc
import subprocess
import sys

from core.imports import import_long_lived, long_lived
from crawler.runtime.handler_import import HTTP_HANDLER_MODULE, import_http_handler

CRAWL_SIDE = (
    "countywatch.commands.crawl",
    "crawler.runtime.runner",
    "crawler.runtime.pipelines.store",
    "crawler.runtime.pipelines.writer_process",
    "crawler.runtime.pipelines.extraction",
    "crawler.runtime.middlewares.robots",
    "crawler.runtime.handler_import",
)
NOT_AT_START = ("numpy", "alembic", "storage.ingest", "storage.repository", "trafilatura", "lxml_html_clean")


def loaded_after_importing(modules: tuple[str, ...]) -> set[str]:
    probe = f"import sys\nfor m in {modules!r}: __import__(m)\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_the_crawl_side_loads_no_write_path_alembic_or_extraction() -> None:
    loaded = loaded_after_importing(CRAWL_SIDE)
    assert "scrapy" in loaded and "sqlalchemy" in loaded  # the probe did import the crawl side
    assert sorted(set(NOT_AT_START) & loaded) == []


def test_the_write_path_still_loads_where_it_is_used() -> None:
    loaded = loaded_after_importing(("crawler.runtime.pipelines.batch_writer",))
    assert {"numpy", "storage.ingest"} <= loaded


def test_long_lived_imports_leave_the_collector_on_and_their_objects_frozen() -> None:
    before = gc.get_freeze_count()
    try:
        module = import_long_lived("email.mime.multipart")
        assert module.__name__ == "email.mime.multipart"
        assert gc.isenabled()
        assert gc.get_freeze_count() > before
        gc.disable()
        with long_lived():
            pass
        assert not gc.isenabled()  # a collector that was off stays off
    finally:
        gc.enable()
        gc.unfreeze()


def test_http_handler_import_keeps_scrapys_module_names() -> None:
    probe = (
        "import inspect\n"
        "from crawler.runtime.handler_import import import_http_handler\n"
        "original = inspect.stack\n"
        "import_http_handler()\n"
        "assert inspect.stack is original\n"
        "from scrapy.core.downloader import contextfactory, tls\n"
        "print(contextfactory.ScrapyClientContextFactory.__module__, tls.ScrapyClientTLSOptions.__module__)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["scrapy.core.downloader.contextfactory", "scrapy.core.downloader.tls"]
    import_http_handler()  # loaded already here or not: either way it ends loaded
    assert HTTP_HANDLER_MODULE in sys.modules
