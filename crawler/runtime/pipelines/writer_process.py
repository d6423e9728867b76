"""The store writer in a process of its own, beside the crawl and its extraction workers.

Storing a new article (ORM rows, the near-duplicate bands, the search index, the alert) costs about
as much CPU as downloading and parsing it. In a writer thread of the crawl process it shared the
reactor's interpreter lock, and the crawl process became the first cycle's bottleneck while the
extraction workers waited for pages (measured in bench/crawl.py). Here the same `BatchWriter` runs
in a process started from multiprocessing's fork server (forking a running reactor is unsafe), so
the crawl process only sends batches and reads their outcomes, on the pipeline's writer thread.

Nothing is acknowledged before it is committed: a batch's outcomes come back after its commit, and
the pipeline settles its items only then, so the HTTP cache's "seen" rule (an article is seen only
once stored) holds as with the thread. A writer process that dies (killed, out of memory) makes the
batch it held a storage error for each item, which keeps those sources' cache entries from being
committed, so the next crawl fetches and stores them again; the next batch starts a new process.
The writer dies with the crawl process (crawler.runtime.lifeline), which rolls back its open
transaction. It ignores SIGINT: a Ctrl-C reaches the whole process group, and the crawl, not the
writer, decides how to stop (the writer finishes the batches it was sent).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import resource
import signal
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from core.imports import import_long_lived
from crawler.runtime.lifeline import die_with
from crawler.runtime.pipelines.writer_spec import Job, Outcome, WriterSpec


class StoreUnavailable(Exception):
    """The writer process could not be started or died: the batch it held was not stored."""


class StoreFailure(SQLAlchemyError):
    """A database error of the writer process that could not be sent back as itself."""


def portable(error: BaseException | None) -> BaseException | None:
    """`error` if it survives pickling, else an exception of the same family with its text."""
    if error is None:
        return None
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        text = f"{error.__class__.__name__}: {error}"
        return StoreFailure(text) if isinstance(error, SQLAlchemyError) else RuntimeError(text)
    return error


def serve(conn: Connection, spec: WriterSpec, parent: int) -> None:
    """The writer process: batches in, their outcomes out; None ends it, answered with its CPU seconds."""
    die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        # Imported here: the crawl process that starts writers never loads the write path itself.
        writer = import_long_lived("crawler.runtime.pipelines.batch_writer").BatchWriter(spec)
    except Exception as exc:
        conn.send(portable(exc))
        return
    conn.send(None)
    while True:
        try:
            jobs = conn.recv()
        except EOFError:  # the crawl process closed its end without saying goodbye
            return
        if jobs is None:
            break
        outcomes = writer.write(jobs)
        conn.send([(result, portable(error)) for result, error in outcomes])
    writer.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    conn.send(usage.ru_utime + usage.ru_stime)


class WriterProcess:
    """A `BatchWriter` in its own process: `write` has the same contract, `close` returns its CPU."""

    def __init__(self, spec: WriterSpec) -> None:
        context = multiprocessing.get_context("forkserver")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=serve, args=(child, spec, os.getpid()), name="countywatch-store", daemon=True
        )
        self._process.start()
        child.close()  # so that the writer's death reads as EOF here
        opened = self._receive()
        if opened is not None:
            self._process.join()
            raise opened

    @property
    def pid(self) -> int:
        assert self._process.pid is not None  # started in __init__
        return self._process.pid

    def write(self, jobs: list[Job]) -> list[Outcome]:
        try:
            self._conn.send(jobs)
        except OSError as exc:
            raise StoreUnavailable(self._gone_message()) from exc
        outcomes: list[Outcome] = self._receive()
        return outcomes

    def close(self) -> float:
        """End the process after the batches it was sent; the CPU seconds it spent (0.0 if it died)."""
        cpu = 0.0
        try:
            self._conn.send(None)
            cpu = float(self._receive())
        except (OSError, StoreUnavailable):
            pass
        self._conn.close()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        return cpu

    def _receive(self) -> Any:
        try:
            return self._conn.recv()
        except (EOFError, OSError) as exc:
            raise StoreUnavailable(self._gone_message()) from exc

    def _gone_message(self) -> str:
        self._process.join(timeout=1)
        code = self._process.exitcode
        return f"the store writer process exited (exit code {code}); its batch was not stored"
