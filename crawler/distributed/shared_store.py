"""StorePipeline for workers: one near-duplicate view shared by every worker writing the database.

Each crawl process keeps its own near-duplicate index, loaded when it opens. With several workers
storing at once, a repost stored by worker A must be found by worker B, or the two copies would
become two stories. So, on PostgreSQL, every worker stores under one advisory lock (a store is a
few milliseconds; extraction, the expensive part, stays parallel) and first adds to its index the
articles other workers stored since its last look. The lock is PostgreSQL's transaction-scoped
advisory lock, taken inside the store's own transaction and released by its commit. SQLite
serialises writers itself (BEGIN IMMEDIATE) and is for one machine; the catch-up still runs.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.dedupe.fingerprint import MinHashSignature
from crawler.distributed.database import STORE_LOCK
from crawler.runtime.pipelines.store import StorePipeline
from storage.db import make_engine
from storage.models import Article


class DistributedStorePipeline(StorePipeline):
    """StorePipeline whose stores are serialised across workers and see each other's articles."""

    _last_id: int = 0

    def _open(self) -> None:
        # Read the newest id before the index is loaded: what is stored in between is indexed
        # twice (the index replaces by id), never missed.
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as conn:
                self._last_id = conn.scalar(select(func.max(Article.id))) or 0
        finally:
            engine.dispose()
        super()._open()

    def _begin_ingest(self, session: Session) -> None:
        # A transaction-scoped lock, taken by the store's own statement and released by its commit:
        # no second connection, no unlock round trip (a session lock cost four round trips).
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(STORE_LOCK)))
        self._catch_up(session)

    def _catch_up(self, session: Session) -> None:
        """Index the articles stored by other workers since the last look (inside the lock)."""
        rows = session.execute(
            select(Article.id, Article.signature).where(Article.id > self._last_id).order_by(Article.id)
        ).all()
        for article_id, signature in rows:
            if signature is not None and self._index is not None:
                self._index.add(article_id, MinHashSignature.from_bytes(signature))
            self._last_id = max(self._last_id, article_id)
