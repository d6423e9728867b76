"""What a store writer is given: its settings (`WriterSpec`) and its jobs.

Kept apart from crawler.runtime.pipelines.batch_writer so that the crawl process can describe a
writer without importing the write path (storage.ingest, numpy): a crawl that stores nothing, such
as a cycle in which no page changed, never loads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from core.config import Source, Topic
from storage.rules import RecheckPolicy

JobKind = Literal["ingest", "attachment", "gone", "checked"]
Job = tuple[JobKind, Any]
Outcome = tuple[Any, BaseException | None]


@dataclass(frozen=True, slots=True)
class WriterSpec:
    """What a writer needs to know, picklable: it is sent to a writer process as it starts."""

    database_url: str
    recheck: RecheckPolicy
    dedupe_window: timedelta
    sources: Mapping[str, Source]
    topics: Mapping[str, Topic] | None = None
    # Distributed workers store in parallel: each batch first takes the advisory locks of what its
    # articles could meet (storage/article_locks.py), so two copies of one notice never miss each other.
    lock_batches: bool = False
