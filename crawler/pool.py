"""The extraction process pool: page extraction runs beside the crawl, on every core.

Extraction (lxml, trafilatura, OpenCC, classification) is CPU work; run in Scrapy's process it
would stall the reactor and with it every download. `ExtractionPool.extract` sends a page to a
worker process and returns an awaitable, so crawling and extraction overlap. With 0 workers the
extraction runs in one thread of the crawl process (for debugging and tiny runs).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

from countywatch.config import Topic
from crawler.article import Article
from crawler.attachment_text import AttachmentText, read_attachment
from crawler.classify import classify
from crawler.extract import extract_article
from crawler.text_extract import default_topics


def extract_page(
    body: bytes, url: str, http_charset: str | None, topics: Mapping[str, Topic]
) -> tuple[Article, float]:
    """Extract one page and the CPU seconds it took (runs in a worker; raises ExtractionError)."""
    started = time.process_time()
    article = extract_article(body, url, http_charset=http_charset, topics=topics)
    return article, time.process_time() - started


def read_file(data: bytes, url: str) -> tuple[AttachmentText, float]:
    """The text of one attachment file and the CPU seconds it took (runs in a worker)."""
    started = time.process_time()
    result = read_attachment(data, url)
    return result, time.process_time() - started


def classify_text(
    title: str | None, text: str, topics: Mapping[str, Topic]
) -> tuple[tuple[list[str], list[str]], float]:
    """Topics and categories of a text (an article with its attachments) and the CPU seconds."""
    started = time.process_time()
    result = classify(title, text, topics or default_topics())
    return result, time.process_time() - started


class ExtractionPool:
    """A pool of `workers` extraction processes (0: one thread in this process)."""

    def __init__(self, workers: int, topics: Mapping[str, Topic]) -> None:
        self.workers = workers
        self.cpu_seconds = 0.0  # spent extracting, in whichever process did it
        self._topics = dict(topics)
        self._executor: Executor
        if workers > 0:
            # forkserver: forking the crawl process (a running reactor, a database thread) is unsafe.
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        else:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract")

    async def extract(self, body: bytes, url: str, http_charset: str | None) -> Article:
        """The record of a page, extracted off the reactor thread."""
        future = self._executor.submit(extract_page, body, url, http_charset, self._topics)
        article, cpu_seconds = await asyncio.wrap_future(future)
        self.cpu_seconds += cpu_seconds
        return article

    async def read_attachment(self, data: bytes, url: str) -> AttachmentText:
        """The text of an attachment file, read off the reactor thread."""
        future = self._executor.submit(read_file, data, url)
        result, cpu_seconds = await asyncio.wrap_future(future)
        self.cpu_seconds += cpu_seconds
        return result

    async def classify(self, title: str | None, text: str) -> tuple[list[str], list[str]]:
        """Topics and categories of a text under the pool's topics, off the reactor thread."""
        future = self._executor.submit(classify_text, title, text, self._topics)
        result, cpu_seconds = await asyncio.wrap_future(future)
        self.cpu_seconds += cpu_seconds
        return result

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers (with `wait`, after the pending extractions)."""
        self._executor.shutdown(wait=wait, cancel_futures=not wait)
