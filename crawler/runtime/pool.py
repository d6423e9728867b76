"""The extraction process pool: page extraction runs beside the crawl, on every core.

Extraction (lxml, trafilatura, OpenCC, classification) is CPU work; run in Scrapy's process it
would stall the reactor and with it every download. `ExtractionPool.extract` sends a page to a
worker process and returns an awaitable, so crawling and extraction overlap. With 0 workers the
extraction runs in one thread of the crawl process (for debugging and tiny runs).

The work itself lives in `crawler.runtime.pool_worker`, which holds the whole extraction stack. This module
names its functions (`WorkerTask`) instead of importing them, so the crawl process never loads that
stack: a cycle in which nothing changed starts Scrapy without it (about a second of CPU less), and
in a first cycle only the workers import it, on their first page. Workers start on the first page
(the executor is created then), not when the crawl opens.

Each page has a budget: a page larger than `max_bytes` is refused before it reaches a worker, and
one whose extraction uses more than `time_limit` CPU seconds is interrupted in the worker (SIGPROF),
so one hostile page costs seconds, not minutes, and the crawl goes on. The alarm runs between
Python bytecodes; a page that keeps a C library busy (libxml2 parses 100k valueless attributes on
one element for about a minute) is ended with its worker a little past the budget: by a watchdog
thread watching the worker's CPU time when the library releases the GIL (libxml2 does), else by the
kernel through the worker's CPU limit (RLIMIT_CPU, SIGXCPU). CPU time, not wall time: a loaded
machine does not turn an honest page into an error. The pipeline sees a broken pool. All of this
needs a worker process: with 0 workers only the size budget applies.

Workers die with the crawl process (crawler.runtime.lifeline).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from core.config import Topic
from core.imports import import_long_lived
from crawler.article import Article
from crawler.errors import OverBudget
from crawler.files.attachment_kinds import AttachmentText
from crawler.runtime.lifeline import die_with

__all__ = ["WORKER_MODULE", "ExtractionPool", "OverBudget", "WorkerTask", "check_size"]

# The module of the functions a worker runs (crawler.runtime.pool_worker); never imported by this one.
WORKER_MODULE = "crawler.runtime.pool_worker"


@dataclass(frozen=True, slots=True)
class WorkerTask:
    """A function of WORKER_MODULE, by name: submitting it does not import the extraction stack here.

    It pickles as its name. Where it runs (a worker, or the crawl process with 0 workers) the module
    is loaded on the first call, the way Scrapy loads a component from its dotted path.
    """

    name: str

    def __call__(self, *args: Any) -> Any:
        return getattr(import_long_lived(WORKER_MODULE), self.name)(*args)


EXTRACT_PAGE = WorkerTask("extract_page")
READ_FILE = WorkerTask("read_file")
CLASSIFY_TEXT = WorkerTask("classify_text")


def check_size(body: bytes, max_bytes: int) -> None:
    """Raise OverBudget for a page over `max_bytes` (0: no limit)."""
    if max_bytes and len(body) > max_bytes:
        raise OverBudget(f"{len(body)} bytes, over the extraction size limit of {max_bytes}")


class ExtractionPool:
    """A pool of `workers` extraction processes (0: one thread in this process), with a per-page budget.

    Nothing starts until the first task: a crawl that extracts nothing starts no process.
    """

    def __init__(
        self,
        workers: int,
        topics: Mapping[str, Topic],
        *,
        time_limit: float = 0.0,
        max_bytes: int = 0,
    ) -> None:
        self.workers = workers
        self.time_limit = time_limit  # seconds per page; 0: none
        self.max_bytes = max_bytes  # bytes per page; 0: none
        self.cpu_seconds = 0.0  # spent extracting, in whichever process did it
        self._topics = dict(topics)
        self._executor: Executor | None = None

    @property
    def started(self) -> bool:
        """Whether a task was submitted (and with it the executor, and any process, started)."""
        return self._executor is not None

    def _start(self) -> Executor:
        if self._executor is not None:
            return self._executor
        if self.workers > 0:
            # forkserver: forking the crawl process (a running reactor, a database thread) is unsafe.
            # Not preloading WORKER_MODULE in the server: the crawl process waits (on the reactor
            # thread) for the server to fork each worker, which it does only after its preloads;
            # each worker imports the module on its first task instead, beside the crawl.
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=context, initializer=die_with, initargs=(os.getpid(),)
            )
        else:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract")
        return self._executor

    async def _run(self, task: WorkerTask, *args: Any) -> Any:
        result, cpu_seconds = await asyncio.wrap_future(self._start().submit(task, *args))
        self.cpu_seconds += cpu_seconds
        return result

    async def extract(self, body: bytes, url: str, http_charset: str | None) -> Article:
        """The record of a page, extracted off the reactor thread (OverBudget past the budget)."""
        check_size(body, self.max_bytes)
        article: Article = await self._run(
            EXTRACT_PAGE, body, url, http_charset, self._topics, self.time_limit
        )
        return article

    async def read_attachment(self, data: bytes, url: str) -> AttachmentText:
        """The text of an attachment file, read off the reactor thread."""
        result: AttachmentText = await self._run(READ_FILE, data, url)
        return result

    async def classify(self, title: str | None, text: str) -> tuple[list[str], list[str]]:
        """Topics and categories of a text under the pool's topics, off the reactor thread."""
        result: tuple[list[str], list[str]] = await self._run(CLASSIFY_TEXT, title, text, self._topics)
        return result

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers (with `wait`, after the pending extractions)."""
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=not wait)
