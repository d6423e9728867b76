"""The extraction process pool: page extraction runs beside the crawl, on every core.

Extraction (lxml, trafilatura, OpenCC, classification) is CPU work; run in Scrapy's process it
would stall the reactor and with it every download. `ExtractionPool.extract` sends a page to a
worker process and returns an awaitable, so crawling and extraction overlap. With 0 workers the
extraction runs in one thread of the crawl process (for debugging and tiny runs).

Each page has a budget: a page larger than `max_bytes` is refused before it reaches a worker, and
one whose extraction uses more than `time_limit` CPU seconds is interrupted in the worker (SIGPROF),
so one hostile page costs seconds, not minutes, and the crawl goes on. The alarm runs between
Python bytecodes; a page that keeps a C library busy (libxml2 parses 100k valueless attributes on
one element for about a minute) is ended with its worker a little past the budget: by a watchdog
thread watching the worker's CPU time when the library releases the GIL (libxml2 does), else by the
kernel through the worker's CPU limit (RLIMIT_CPU, SIGXCPU). CPU time, not wall time: a loaded
machine does not turn an honest page into an error. The pipeline sees a broken pool. All of this
needs a worker process: with 0 workers only the size budget applies.

Workers die with the crawl process. They are children of multiprocessing's fork server, not of the
crawl, and each holds the fork server's "alive" pipe, so neither notices on its own when a crawl is
SIGKILLed: they would linger (holding the crawl's stdout, which a supervising daemon reads to EOF)
until the crawl's time limit. A thread in each worker waits on a pidfd of the crawl process instead.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import resource
import select
import signal
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from types import FrameType

from core.config import Topic, default_topics
from crawler.article import Article
from crawler.errors import ExtractionError
from crawler.facts.classify import classify
from crawler.files.attachment_text import AttachmentText, read_attachment
from crawler.html.page_reader import extract_article

ALARM_REPEAT = 0.5  # seconds between repeated alarms once a page is over its time limit
HARD_LIMIT_GRACE = 2.0  # CPU seconds past the time limit before the worker is ended
WATCH_INTERVAL = 0.25  # seconds between the watchdog's looks at the worker's CPU time


class OverBudget(ExtractionError):
    """A page larger, or slower to extract, than the per-page extraction budget."""


class _Interrupted(BaseException):
    """Raised by the alarm inside the extraction: a BaseException, so the `except Exception`
    clauses of the libraries on the way (parsers, trafilatura) let it through."""


class _Alarm:
    """The time limit of the page being extracted in this worker."""

    rang = False

    @classmethod
    def ring(cls, signum: int, frame: FrameType | None) -> None:
        # The timer repeats, so code that swallows even a BaseException is interrupted again,
        # and `rang` condemns whatever result comes back late.
        cls.rang = True
        raise _Interrupted


def extract_page(
    body: bytes, url: str, http_charset: str | None, topics: Mapping[str, Topic], time_limit: float
) -> tuple[Article, float]:
    """Extract one page and the CPU seconds it took (runs in a worker; raises ExtractionError).

    `time_limit` is in CPU seconds of the worker, so a loaded machine does not turn a slow but
    honest page into an error.
    """
    started = time.process_time()
    timed = time_limit > 0 and threading.current_thread() is threading.main_thread()
    _Alarm.rang = False
    hard = started + time_limit + max(HARD_LIMIT_GRACE, time_limit / 4)
    done = threading.Event()
    if timed:
        signal.signal(signal.SIGPROF, _Alarm.ring)
        signal.setitimer(signal.ITIMER_PROF, time_limit, ALARM_REPEAT)
        _limit_cpu(hard)
        threading.Thread(target=_watch_cpu, args=(hard, done), name="page-watchdog", daemon=True).start()
    try:
        try:
            article = extract_article(body, url, http_charset=http_charset, topics=topics)
        finally:
            if timed:  # first thing: an alarm ringing here is still caught below
                signal.setitimer(signal.ITIMER_PROF, 0)
    except _Interrupted:
        pass
    except Exception:
        if not _Alarm.rang:
            raise
    finally:
        if timed:
            done.set()
            _limit_cpu(None)
    if _Alarm.rang:
        raise OverBudget(f"extraction stopped after {time_limit:g} CPU seconds (the per-page time limit)")
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


def _watch_cpu(deadline: float, done: threading.Event) -> None:
    # For C code that releases the GIL (libxml2 parsing): the alarm's handler cannot run until it
    # returns, but this thread can, and ends the worker once the page has used its CPU and grace.
    while not done.wait(WATCH_INTERVAL):
        if time.process_time() > deadline:
            os.kill(os.getpid(), signal.SIGKILL)


def check_size(body: bytes, max_bytes: int) -> None:
    """Raise OverBudget for a page over `max_bytes` (0: no limit)."""
    if max_bytes and len(body) > max_bytes:
        raise OverBudget(f"{len(body)} bytes, over the extraction size limit of {max_bytes}")


def _limit_cpu(seconds: float | None) -> None:
    """Let the kernel end this process once it has used `seconds` of CPU (None: no limit)."""
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = resource.RLIM_INFINITY if seconds is None else math.ceil(seconds)
    if hard != resource.RLIM_INFINITY and (soft == resource.RLIM_INFINITY or soft > hard):
        soft = hard
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _die_with(parent: int) -> None:
    """Worker initializer: exit as soon as the crawl process `parent` is gone; never dump core."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        pidfd = os.pidfd_open(parent)
    except ProcessLookupError:
        os._exit(1)
    threading.Thread(target=_wait_and_exit, args=(pidfd,), name="parent-watch", daemon=True).start()


def _wait_and_exit(pidfd: int) -> None:
    select.select([pidfd], [], [])  # readable once the process has exited
    os._exit(1)


class ExtractionPool:
    """A pool of `workers` extraction processes (0: one thread in this process), with a per-page budget."""

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
        self._executor: Executor
        if workers > 0:
            # forkserver: forking the crawl process (a running reactor, a database thread) is unsafe.
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=_die_with, initargs=(os.getpid(),)
            )
        else:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract")

    async def extract(self, body: bytes, url: str, http_charset: str | None) -> Article:
        """The record of a page, extracted off the reactor thread (OverBudget past the budget)."""
        check_size(body, self.max_bytes)
        future = self._executor.submit(extract_page, body, url, http_charset, self._topics, self.time_limit)
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
