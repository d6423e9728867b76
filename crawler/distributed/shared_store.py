"""StorePipeline for workers: stores in parallel, every worker sees the others' articles.

The near-duplicate index is the database's `neardup_bands` table, so a repost stored by worker A is
found by worker B as soon as A's batch is committed. Two workers storing two copies of one notice at
the same moment would each miss the other's uncommitted copy, so each batch first takes, inside its
own transaction, the advisory locks of its articles' URLs, content hashes and LSH band keys
(storage/article_locks.py): only batches that could meet, the same page or copies of one notice, wait
for each other; unrelated batches store at once. SQLite serialises writers itself (BEGIN IMMEDIATE)
and is for one machine.
"""

from __future__ import annotations

from crawler.runtime.pipelines.store import StorePipeline


class DistributedStorePipeline(StorePipeline):
    """StorePipeline whose batches lock only what their articles could meet."""

    LOCK_BATCHES = True
