"""The near-duplicate index in the database: each article's LSH band hashes in `neardup_bands`.

The in-memory `NearDupIndex` costs a few hundred bytes per document, held by every crawl process:
at 100,000 new articles a day and a 180-day window that is gigabytes, and it was rebuilt from the
stored signatures at each crawl start. Here the bands are rows (42 per article, keyed by a 64-bit
band hash), written in the transaction that stores the article, so the article and its bands commit
or roll back together and a crash leaves no index to repair. A query is one SELECT: the articles
sharing a band with the signature, inside the dedupe window, with their signatures; the candidates
are verified with the same b-bit estimate as the in-memory index, so both find the same documents
(bench/dedup.py measures the two side by side). Memory stays flat whatever the window holds.

The window is applied when querying (articles first seen before `since` are not candidates);
`prune` deletes the bands of such articles so the table's size follows the window.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import cast

import numpy as np
from sqlalchemy import Connection, Table, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from crawler.dedupe.fingerprint import MinHashSignature
from storage.models import Article, NearDupBand
from storage.neardup import DEFAULT_THRESHOLD, BandHasher, NearDupIndex, sketch_estimate

# Bands of an article out of the window are pruned once the oldest is this far out of it: a
# prune reads the window's range of the articles index, so it runs about once a day, not per crawl.
PRUNE_SLACK = timedelta(days=1)
_BACKFILL_CHUNK = 2000
_HASHER = BandHasher()
_BANDS = cast(Table, NearDupBand.__table__)
_INSERT_BANDS = insert(_BANDS)
# The articles sharing a band with a signature, with their signatures: built once, run on the
# session's connection (the ORM's execution path cost more than this query's plan).
_HOLDERS = select(NearDupBand.article_id).where(NearDupBand.band.in_(bindparam("bands", expanding=True)))
_SHARING = select(Article.id, Article.signature).where(
    Article.id.in_(_HOLDERS), Article.signature.is_not(None)
)
_SHARING_SINCE = _SHARING.where(Article.first_seen >= bindparam("since"))


def band_keys(sig: MinHashSignature) -> list[int]:
    """The band hashes of one signature as signed 64-bit integers (the column's type), distinct."""
    hashes = _HASHER.hashes(sig.values[None, :])[0].view(np.int64)
    return sorted(set(hashes.tolist()))


class StoredNearDupIndex:
    """The near-duplicate index read and written through `session` (inside the caller's transaction).

    Same interface as `NearDupIndex`: `query` returns verified (article id, estimated Jaccard) pairs,
    best first; `add` indexes an article (flushed, so it must exist; a new article needs no
    DELETE, so `add` does not remove first); `remove` forgets one.
    """

    def __init__(
        self, session: Session, *, since: datetime | None = None, threshold: float = DEFAULT_THRESHOLD
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.session = session
        self.since = since
        self.threshold = threshold
        # The band keys of the last signature seen: a new article is queried, then added.
        self._keyed: tuple[MinHashSignature, list[int]] | None = None

    def _band_keys(self, sig: MinHashSignature) -> list[int]:
        if self._keyed is None or self._keyed[0] is not sig:
            self._keyed = (sig, band_keys(sig))
        return self._keyed[1]

    def add(self, doc_id: int, sig: MinHashSignature) -> None:
        """Index an article's bands, one INSERT for all of them (`remove` first re-indexes one)."""
        if sig.empty:
            return
        # Core, on the session's connection: the ORM's bulk path costs more than the rows.
        self.session.connection().execute(
            _INSERT_BANDS, [{"band": key, "article_id": doc_id} for key in self._band_keys(sig)]
        )

    def remove(self, doc_id: int) -> None:
        """Forget an article's bands; unknown ids are ignored."""
        self.session.execute(delete(NearDupBand).where(NearDupBand.article_id == doc_id))

    def query(self, sig: MinHashSignature, threshold: float | None = None) -> list[tuple[int, float]]:
        """Indexed articles whose estimated Jaccard with `sig` is at least `threshold`, best first."""
        limit = self.threshold if threshold is None else threshold
        if sig.empty:
            return []
        if self.since is None:
            result = self.session.connection().execute(_SHARING, {"bands": self._band_keys(sig)})
        else:
            params = {"bands": self._band_keys(sig), "since": self.since}
            result = self.session.connection().execute(_SHARING_SINCE, params)
        rows = [(doc_id, blob) for doc_id, blob in result if blob]
        width = sig.values.size * 4
        # By id, so equal estimates come oldest first on every backend (as the in-memory index has them).
        rows = sorted((doc_id, blob) for doc_id, blob in rows if len(blob) == width)
        if not rows:
            return []
        ids = np.fromiter((doc_id for doc_id, _ in rows), dtype=np.int64, count=len(rows))
        values = np.frombuffer(b"".join(blob for _, blob in rows), dtype="<u4").reshape(len(rows), -1)
        estimate = sketch_estimate(sig.values, (values & 0xFF).astype(np.uint8), sig.values.size)
        hit = estimate >= limit
        order = np.argsort(-estimate[hit], kind="stable")
        return list(zip(ids[hit][order].tolist(), estimate[hit][order].tolist(), strict=True))


def prune(session: Session, since: datetime) -> int:
    """Delete the bands of articles first seen before `since`; the number of band rows deleted.

    Cheap when there is nothing to do: the oldest indexed article is looked at first, and the
    bands go only once it is more than PRUNE_SLACK out of the window.
    """
    oldest = session.scalar(select(func.min(NearDupBand.article_id)))
    if oldest is None:
        return 0
    seen = session.scalar(select(Article.first_seen).where(Article.id == oldest))
    if seen is None or seen >= since - PRUNE_SLACK:
        return 0
    # Every article inside the window has an id at least this one, whatever order ids were given in.
    first_kept = session.scalar(select(func.min(Article.id)).where(Article.first_seen >= since))
    stmt = delete(NearDupBand)
    if first_kept is not None:
        stmt = stmt.where(NearDupBand.article_id < first_kept)
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def _band_rows(rows: Iterable[tuple[int, bytes | None]]) -> list[dict[str, int]]:
    out: list[dict[str, int]] = []
    for doc_id, blob in rows:
        if not blob:
            continue
        sig = MinHashSignature.from_bytes(blob)
        if not sig.empty:
            out.extend({"band": key, "article_id": doc_id} for key in band_keys(sig))
    return out


def index_stored_signatures(connection: Connection) -> int:
    """Index every stored signature (the migration that creates the table); articles indexed."""
    done = 0
    last = 0
    while True:
        chunk = connection.execute(
            select(Article.id, Article.signature)
            .where(Article.id > last, Article.signature.is_not(None))
            .order_by(Article.id)
            .limit(_BACKFILL_CHUNK)
        ).all()
        if not chunk:
            return done
        bands = _band_rows((row.id, row.signature) for row in chunk)
        if bands:
            connection.execute(insert(_BANDS), bands)
        done += len(chunk)
        last = chunk[-1].id


def load_neardup_index(
    session: Session, *, threshold: float | None = None, since: datetime | None = None
) -> NearDupIndex:
    """The near-duplicate index over stored signatures (built once per crawl process).

    With `since`, only articles first seen from then on are indexed: reposts follow their story
    within days, and the window keeps the index's size and load time bounded as the database grows.
    """
    stmt = select(Article.id, Article.signature).where(Article.signature.is_not(None))
    if since is not None:
        stmt = stmt.where(Article.first_seen >= since)
    rows = session.execute(stmt.execution_options(yield_per=2000))
    pairs = ((doc_id, sig) for doc_id, sig in rows if sig is not None)
    if threshold is None:
        return NearDupIndex.from_rows(pairs)
    return NearDupIndex.from_rows(pairs, threshold=threshold)
