"""Several processes storing articles into one PostgreSQL database at once, without a global lock.

What must hold whoever stores first: one row per canonical URL, one story per set of copies, and the
story's canonical member and "new" alert decided from all its members. The URL is a unique
constraint (a lost insert becomes a re-check, storage/ingest.py), the story row is read FOR UPDATE
before it is re-pointed. The join of a copy to its story is what no row can protect: when two
workers store two copies of one notice at the same moment, neither copy's row exists yet for the
other to lock or to find, and each would open a story of its own.

So each batch of stores first takes transaction-scoped advisory locks on the keys by which its
articles can meet others: each one's canonical URL, content hash and LSH band keys. Every
near-duplicate candidate (at any threshold the store queries) shares at least one band key with the
page: that is how the index finds it. Two copies therefore wait for each other, the second then
sees the first (the near-duplicate index is the `neardup_bands` table, written in the same
transaction, storage/neardup_stored.py); two unrelated articles share a band key only by chance (a
32-bit key per band, 42 bands), so they store in parallel. A batch's keys are taken in one
statement, in one global order, so two batches cannot deadlock on them; the commit releases them.
Other databases than PostgreSQL take no locks (SQLite serialises its writers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, INTEGER
from sqlalchemy.orm import Session

from storage.ingest import fingerprints
from storage.neardup_stored import band_keys

# The first half of the two-int advisory lock keys: what the second half hashes ("cwU", "cwC", "cwB").
URL_SPACE = 0x63_77_55
CONTENT_SPACE = 0x63_77_43
BAND_SPACE = 0x63_77_42
# A band hash (64-bit in `neardup_bands`) keys its lock by its low 32 bits: a collision only makes
# two unrelated stores wait, never lets two copies pass each other.
_LOW32 = (1 << 32) - 1

_LOCK = text(
    "SELECT count(pg_advisory_xact_lock(k.space, k.key)) FROM"
    " (SELECT space, key FROM unnest(:spaces, :keys) WITH ORDINALITY AS t(space, key, n) ORDER BY n) AS k"
).bindparams(bindparam("spaces", type_=ARRAY(INTEGER)), bindparam("keys", type_=ARRAY(INTEGER)))


def _int4(data: str) -> int:
    """A signed 32-bit key of a string."""
    return int.from_bytes(hashlib.blake2b(data.encode("utf-8"), digest_size=4).digest(), "big", signed=True)


def _signed(key: int) -> int:
    """An unsigned 32-bit key as PostgreSQL's signed int4."""
    return key - (1 << 32) if key >= 1 << 31 else key


def article_lock_keys(url: str, digest: str, bands: Iterable[int]) -> list[tuple[int, int]]:
    """The (space, key) advisory lock keys of an article, in the one order every store takes them."""
    keys = {(URL_SPACE, _int4(url)), (CONTENT_SPACE, _int4(digest))}
    keys.update((BAND_SPACE, _signed(band & _LOW32)) for band in bands)
    return sorted(keys)


def lock_keys(session: Session, keys: Iterable[tuple[int, int]]) -> int:
    """Take the advisory locks `keys` for the rest of the session's transaction, in one statement; how many.

    The keys are the union of `article_lock_keys` of what the transaction stores; they are taken in
    sorted order, the one order every store uses.
    """
    if session.get_bind().dialect.name != "postgresql":
        return 0
    ordered = sorted(set(keys))
    session.execute(_LOCK, {"spaces": [s for s, _ in ordered], "keys": [k for _, k in ordered]})
    return len(ordered)


def lock_articles(session: Session, pages: Iterable[tuple[str, str]]) -> int:
    """Take the locks of every (canonical URL, text) about to be stored in this transaction; how many."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    keys: list[tuple[int, int]] = []
    for url, text_ in pages:
        prints = fingerprints(text_)  # the ingest that follows reuses them
        signature = prints.signature()
        bands = band_keys(signature) if signature is not None else []
        keys.extend(article_lock_keys(url, prints.digest, bands))
    return lock_keys(session, keys) if keys else 0
