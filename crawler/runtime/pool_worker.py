"""What runs inside an extraction worker: page extraction, attachment reading, classification.

This module holds the extraction stack (lxml page layer, trafilatura, htmldate, OpenCC, the
attachment readers, the classifier): importing it costs about a second of CPU. Only the processes
that extract import it: the pool's workers, on their first task, or the crawl process itself on its
first page when extraction runs in-process (0 workers). A crawl in which nothing changed never
pays for it; crawler.runtime.pool, the side that submits work, names these functions instead of importing
them.

Each page has a budget: one whose extraction uses more than `time_limit` CPU seconds is interrupted
(SIGPROF), and a page that keeps a C library busy past that is ended with its worker by a watchdog
thread or the kernel's CPU limit (see crawler.runtime.pool).
"""

from __future__ import annotations

import math
import os
import resource
import signal
import threading
import time
from collections.abc import Mapping
from types import FrameType

from core.config import Topic, default_topics
from crawler.article import Article
from crawler.errors import OverBudget
from crawler.facts.classify import classify
from crawler.files.attachment_text import AttachmentText, read_attachment
from crawler.html.page_reader import extract_article

ALARM_REPEAT = 0.5  # seconds between repeated alarms once a page is over its time limit
HARD_LIMIT_GRACE = 2.0  # CPU seconds past the time limit before the worker is ended
WATCH_INTERVAL = 0.25  # seconds between the watchdog's looks at the worker's CPU time


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
    if timed:
        signal.signal(signal.SIGPROF, _Alarm.ring)
        signal.setitimer(signal.ITIMER_PROF, time_limit, ALARM_REPEAT)
        _limit_cpu(hard)
        _Watchdog.arm(hard)
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
            _Watchdog.disarm()
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


class _Watchdog:
    """One thread per worker that ends it once the page being extracted is past its hard limit.

    For C code that releases the GIL (libxml2 parsing): the alarm's handler cannot run until it
    returns, but this thread can. It is started once and armed per page (a thread started for each
    page cost about a tenth of a worker's CPU on small pages, measured with py-spy).
    """

    deadline: float | None = None  # the page's hard limit in process CPU seconds; None between pages
    _thread: threading.Thread | None = None

    @classmethod
    def arm(cls, deadline: float) -> None:
        cls.deadline = deadline
        if cls._thread is None:
            cls._thread = threading.Thread(target=cls._watch, name="page-watchdog", daemon=True)
            cls._thread.start()

    @classmethod
    def disarm(cls) -> None:
        cls.deadline = None

    @classmethod
    def _watch(cls) -> None:
        while True:
            time.sleep(WATCH_INTERVAL)
            deadline = cls.deadline
            # Still the same page (a later page has a later deadline), and past its limit and grace.
            if deadline is not None and time.process_time() > deadline and cls.deadline == deadline:
                os.kill(os.getpid(), signal.SIGKILL)


def _limit_cpu(seconds: float | None) -> None:
    """Let the kernel end this process once it has used `seconds` of CPU (None: no limit)."""
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = resource.RLIM_INFINITY if seconds is None else math.ceil(seconds)
    if hard != resource.RLIM_INFINITY and (soft == resource.RLIM_INFINITY or soft > hard):
        soft = hard
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
