"""StorePipeline for workers: every worker writing one database sees the others' articles.

The near-duplicate index is the database's `neardup_bands` table, so a repost stored by worker A is
found by worker B as soon as A's batch is committed. Two workers storing two copies of one story
at the same moment would each miss the other's uncommitted copy, so on PostgreSQL every worker
writes its batches under one advisory lock (a batch is milliseconds per article; extraction, the
expensive part, stays parallel). The lock is PostgreSQL's transaction-scoped advisory lock, taken
inside the batch's own transaction and released by its commit. SQLite serialises writers itself
(BEGIN IMMEDIATE) and is for one machine.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from crawler.distributed.database import STORE_LOCK
from crawler.runtime.pipelines.store import StorePipeline
from storage.locks import advisory_xact_lock


class DistributedStorePipeline(StorePipeline):
    """StorePipeline whose batches are serialised across workers."""

    def _begin_batch(self, session: Session) -> None:
        # A transaction-scoped lock (PostgreSQL), taken by the batch's own statement and released
        # by its commit: no second connection, no unlock round trip.
        advisory_xact_lock(session, STORE_LOCK)
