"""Several processes storing articles into one PostgreSQL database at once, without a global lock.

What must hold whoever stores first: one row per canonical URL, one story per set of copies, and the
story's canonical member and "new" alert decided from all its members. The URL is a unique
constraint (a lost insert becomes a re-check, storage/ingest.py), the story row is read FOR UPDATE
before it is re-pointed. The join of a copy to its story is what no row can protect: when two
workers store two copies of one notice at the same moment, neither copy's row exists yet for the
other to lock or to find, and each would open a story of its own.

So each store first takes transaction-scoped advisory locks on the keys by which its article can
meet another one: its canonical URL, its content hash and each of its LSH band keys. Every
near-duplicate candidate (at any threshold the store queries) shares at least one band key with the
page: that is how the index finds it. Two copies therefore wait for each other, the second then
sees the first; two unrelated articles share a band key only by chance (a 32-bit key per band, 42
bands), so they store in parallel. The keys are taken in one statement, in one global order, so two
stores cannot deadlock on them; the commit releases them. Other databases than PostgreSQL take no
locks (SQLite serialises its writers).

A worker's in-memory index must then hold every article that shares a key with the one it stores.
`IndexCatchUp` adds what other processes committed since its last look: ids are handed out before
commit, so a higher id can commit before a lower one; the missing ids are looked at again until
they appear or are older than `GAP_SECONDS` (a rolled-back insert never appears).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable

from sqlalchemy import bindparam, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY, INTEGER
from sqlalchemy.orm import Session

from crawler.dedupe.fingerprint import MinHashSignature
from storage.models import Article
from storage.neardup import NearDupIndex

# The first half of the two-int advisory lock keys: what the second half hashes ("cwU", "cwC", "cwB").
URL_SPACE = 0x63_77_55
CONTENT_SPACE = 0x63_77_43
BAND_SPACE = 0x63_77_42
# How long an id missing from the articles table is looked for again (a store transaction is short).
GAP_SECONDS = 600.0

_LOCK = text(
    "SELECT count(pg_advisory_xact_lock(k.space, k.key)) FROM"
    " (SELECT space, key FROM unnest(:spaces, :keys) WITH ORDINALITY AS t(space, key, n) ORDER BY n) AS k"
).bindparams(bindparam("spaces", type_=ARRAY(INTEGER)), bindparam("keys", type_=ARRAY(INTEGER)))


def _int4(data: str) -> int:
    """A signed 32-bit key of a string."""
    return int.from_bytes(hashlib.blake2b(data.encode("utf-8"), digest_size=4).digest(), "big", signed=True)


def _signed(key: int) -> int:
    return key - (1 << 32) if key >= 1 << 31 else key


def article_lock_keys(url: str, digest: str, bands: Iterable[int]) -> list[tuple[int, int]]:
    """The (space, key) advisory lock keys of an article, in the one order every store takes them."""
    keys = {(URL_SPACE, _int4(url)), (CONTENT_SPACE, _int4(digest))}
    keys.update((BAND_SPACE, _signed(band)) for band in bands)
    return sorted(keys)


def lock_article(
    session: Session, url: str, digest: str, signature: MinHashSignature | None, index: NearDupIndex
) -> int:
    """Take the article's advisory locks for the rest of the session's transaction; how many.

    `url` is the canonical URL, `digest` the content hash, `signature` the text's MinHash (None for
    an empty text) and `index` the near-duplicate index the store will query (its banding).
    """
    if session.get_bind().dialect.name != "postgresql":
        return 0
    bands = index.band_keys(signature) if signature is not None else []
    keys = article_lock_keys(url, digest, bands)
    session.execute(_LOCK, {"spaces": [s for s, _ in keys], "keys": [k for _, k in keys]})
    return len(keys)


class IndexCatchUp:
    """Adds to a process's near-duplicate index the articles other processes stored since its last look."""

    def __init__(self, last_id: int = 0) -> None:
        self.last_id = last_id
        self.gaps: dict[int, float] = {}  # id not seen yet -> when it was first missed

    def catch_up(self, session: Session, index: NearDupIndex) -> int:
        """Index the articles committed since the last call (and earlier ids that were missing); how many."""
        now = time.monotonic()
        self.gaps = {i: t for i, t in self.gaps.items() if now - t < GAP_SECONDS}
        newer = Article.id > self.last_id
        where = or_(newer, Article.id.in_(sorted(self.gaps))) if self.gaps else newer
        rows = session.execute(select(Article.id, Article.signature).where(where).order_by(Article.id)).all()
        found = {article_id for article_id, _ in rows}
        for article_id, signature in rows:
            if signature is not None:
                index.add(article_id, MinHashSignature.from_bytes(signature))
            self.gaps.pop(article_id, None)
        top = max(found, default=self.last_id)
        for missing in range(self.last_id + 1, top):
            if missing not in found:
                self.gaps[missing] = now
        self.last_id = max(self.last_id, top)
        return len(rows)
