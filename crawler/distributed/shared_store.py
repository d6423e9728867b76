"""StorePipeline for workers: stores in parallel, one near-duplicate view shared by every worker.

Each crawl process keeps its own near-duplicate index, loaded when it opens. With several workers
storing at once, a repost stored by worker A must be found by worker B, or the two copies would
become two stories. Each store therefore first takes, inside its own transaction, the advisory locks
of its article's URL, content hash and LSH band keys (storage/article_locks.py): only stores that
could meet, the same page or copies of one notice, wait for each other. Holding them, it adds to its
index what other workers committed since its last look, so a copy stored by another worker is in the
index before the query. SQLite serialises writers itself (BEGIN IMMEDIATE) and is for one machine;
the catch-up still runs.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.urls import canonicalize_url
from crawler.dedupe.fingerprint import content_hash
from crawler.runtime.items import PageItem
from crawler.runtime.pipelines.store import StorePipeline
from storage.article_locks import IndexCatchUp, lock_article
from storage.db import make_engine
from storage.ingest import text_signature
from storage.recheck import newest_article_id


class DistributedStorePipeline(StorePipeline):
    """StorePipeline whose stores lock only what they could meet and see each other's articles."""

    _seen: IndexCatchUp

    def _open(self) -> None:
        # Read the newest id before the index is loaded: what is stored in between is indexed
        # twice (the index replaces by id), never missed.
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as conn:
                self._seen = IndexCatchUp(newest_article_id(conn))
        finally:
            engine.dispose()
        super()._open()

    def _begin_ingest(self, session: Session, item: PageItem) -> None:
        assert item.article is not None
        index = self._neardup_index()
        source = self._sources()[item.source]
        url = canonicalize_url(item.requested_url, mobile_hosts=source.mobile_hosts)
        text = item.article.text
        lock_article(session, url, content_hash(text), text_signature(text), index)
        self._seen.catch_up(session, index)
