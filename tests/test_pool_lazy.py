"""The crawl process never loads the extraction stack; the pool starts nothing until a page comes."""

from __future__ import annotations

import asyncio
import json
import pickle
import subprocess
import sys
from pathlib import Path

from crawler.runtime.pool import WORKER_MODULE, ExtractionPool, WorkerTask

PAGE = Path(__file__).parent / "fixtures" / "lists" / "articles" / "hanweb_article.html"
URL = "http://jyj.zhenping.gov.cn/art/2023/9/8/art_1234_56781.html"
# What only extraction needs: the page layer, trafilatura and its date finder, the attachment
# readers and the classifier.
EXTRACTION_STACK = (
    WORKER_MODULE,
    "crawler.html.page_reader",
    "crawler.files.attachment_text",
    "crawler.facts.classify",
    "trafilatura",
    "htmldate",
    "pypdf",
    "openpyxl",
    "docx",
    "xlrd",
)


def loaded_after(code: str) -> list[str]:
    """The modules of EXTRACTION_STACK loaded in a fresh interpreter after running `code`."""
    report = f"print(json.dumps([m for m in {EXTRACTION_STACK!r} if m in sys.modules]))"
    probe = f"{code}\nimport json, sys\n{report}"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(out.stdout.splitlines()[-1])
    return loaded


def test_the_crawl_command_spider_and_pipelines_do_not_import_the_extraction_stack() -> None:
    code = (
        "import countywatch.commands.crawl, crawler.runtime.runner, crawler.runtime.spiders.lists\n"
        "import crawler.runtime.pipelines.extraction, crawler.runtime.pipelines.attachment_fetch\n"
        "import crawler.runtime.pipelines.store, crawler.runtime.pool\n"
        "crawler.runtime.pool.ExtractionPool(2, {}).close()"
    )
    assert loaded_after(code) == []


def test_an_in_process_pool_loads_the_stack_on_its_first_page() -> None:
    code = (
        "import asyncio, pathlib\n"
        "from crawler.runtime.pool import ExtractionPool\n"
        "pool = ExtractionPool(0, {})\n"
        f"page = pathlib.Path({str(PAGE)!r}).read_bytes()\n"
        f"article = asyncio.run(pool.extract(page, {URL!r}, 'utf-8'))\n"
        "assert article.title, article\n"
        "pool.close()"
    )
    assert set(loaded_after(code)) >= {WORKER_MODULE, "crawler.html.page_reader", "trafilatura"}


def test_a_pool_that_extracts_nothing_starts_nothing() -> None:
    pool = ExtractionPool(2, {}, time_limit=5.0)
    assert not pool.started
    pool.close()
    assert not pool.started and pool.cpu_seconds == 0.0


def test_a_process_pool_extracts_with_the_worker_module_named_not_imported() -> None:
    assert pickle.loads(pickle.dumps(WorkerTask("extract_page"))) == WorkerTask("extract_page")
    pool = ExtractionPool(1, {}, time_limit=20.0)
    try:
        article = asyncio.run(pool.extract(PAGE.read_bytes(), URL, "utf-8"))
    finally:
        pool.close()
    assert pool.started
    assert article.title == "镇坪县召开教育高质量发展大会"
    assert pool.cpu_seconds > 0
