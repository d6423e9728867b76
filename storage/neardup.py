"""Near-duplicate index: MinHash LSH over stored signatures, in numpy arrays rather than dicts.

A document is kept as its LSH band keys (32-bit, one per band) and a b-bit sketch of its signature
(the low 8 bits of each MinHash value), which is enough to verify a candidate's estimated Jaccard
(Li & König's b-bit MinHash). No text is held. Band keys live in one sorted array, looked up with
`np.searchsorted`; recent additions sit in a small dict until they are merged into the arrays, so
adding stays cheap and memory per document stays a few hundred bytes (see bench/dedup.py).

Bands × rows default to 42 × 3 (126 of the 128 MinHash values): a pair at Jaccard 0.7 becomes a
candidate with probability 0.99999, one at 0.5 with 0.996, at 0.44 (a short notice reprinted with a
newspaper's lead) with 0.98 and at 0.3 with 0.68; one at 0.1 with 0.04. Candidates are then
verified against the threshold, so the low banding threshold costs a few comparisons, not precision.
32 × 4 bands, the previous default, made the reprint at 0.44 a candidate only with probability 0.7
(bench/dedup.py shows both the cost, about 80 more bytes per document, and the recall).

Containment is the second check (`contained_copy`): a reprint with its own lead and without the
last paragraph, or a shortened copy, has a Jaccard well below 0.7 with its original but is mostly
contained in it. The caller queries the same bands at `CANDIDATE_THRESHOLD`, reads the text of the
few candidates and computes exact containment on their shingle sets; the index itself stays as it is.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from core.hashing import mix64
from crawler.dedupe.fingerprint import MinHashSignature, containment, titles_agree

DEFAULT_THRESHOLD = 0.7
DEFAULT_BANDS = 42
DEFAULT_ROWS = 3
_EMPTY_VALUE = np.uint32(0xFFFFFFFF)
# Merge pending additions into the sorted arrays once they exceed this share of the indexed rows.
_MERGE_FRACTION = 4
_MIN_MERGE = 2048
_LOAD_CHUNK = 8192
_U64 = np.uint64

# Estimated Jaccard from which an indexed document is checked for containment: reprints of short
# notices with a lead and one paragraph dropped, and shortened copies, measured 0.22-0.65 on the
# labelled set; the 42x3 bands make a pair at 0.3 a candidate with probability 0.68.
CANDIDATE_THRESHOLD = 0.3
# Containment that joins a story on its own, and with agreeing headlines (see bench/dedup.py).
CONTAINED = 0.8
CONTAINED_WITH_TITLE = 0.6
# The smaller text must hold this many shingles and this share of the larger one's: a one-line
# notice is contained in many pages, and a weekly round-up contains every notice it quotes.
MIN_CONTAINED_SHINGLES = 60
MIN_SIZE_RATIO = 0.35
# Candidates whose text is read and compared, best estimate first.
MAX_CONTAINMENT_CANDIDATES = 8


@dataclass(frozen=True, slots=True)
class ShingledText:
    """What the containment check needs of a document: its headline and its shingle set."""

    title: str | None
    shingles: npt.NDArray[np.uint64]


class DupIndex(Protocol):
    """What storage.ingest needs of a near-duplicate index (in memory, or in the database)."""

    threshold: float

    def add(self, doc_id: int, sig: MinHashSignature) -> None: ...

    def remove(self, doc_id: int) -> None: ...

    def query(self, sig: MinHashSignature, threshold: float | None = None) -> list[tuple[int, float]]: ...


def contained_copy(a: ShingledText, b: ShingledText) -> bool:
    """Whether one text is a copy mostly contained in the other (a reprint with a lead, a shortened copy)."""
    small, large = sorted((a.shingles.size, b.shingles.size))
    if small < MIN_CONTAINED_SHINGLES or small < MIN_SIZE_RATIO * large:
        return False
    share = containment(a.shingles, b.shingles)
    return share >= CONTAINED or (share >= CONTAINED_WITH_TITLE and titles_agree(a.title, b.title))


def _band_multipliers(bands: int, rows: int) -> npt.NDArray[np.uint64]:
    rng = np.random.default_rng(0x5EED)
    return rng.integers(1, 2**63, size=(bands, rows), dtype=np.uint64) * _U64(2) + _U64(1)


class BandHasher:
    """The LSH band hashes of MinHash signatures: `bands` hashes of `rows` values each."""

    def __init__(self, bands: int = DEFAULT_BANDS, rows: int = DEFAULT_ROWS) -> None:
        if bands < 1 or rows < 1:
            raise ValueError(f"bands and rows must be positive, got {bands} x {rows}")
        self.bands = bands
        self.rows = rows
        self._mult = _band_multipliers(bands, rows)

    def hashes(self, values: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint64]:
        """64-bit band hashes of a (n, num_perm) matrix of signatures: (n, bands)."""
        banded = values[:, : self.bands * self.rows].reshape(-1, self.bands, self.rows).astype(np.uint64)
        combined = (banded * self._mult[None, :, :]).sum(axis=2, dtype=np.uint64)
        # The band number is mixed in so that equal values in different bands do not collide.
        combined += np.arange(self.bands, dtype=np.uint64)[None, :] * _U64(0x9E3779B97F4A7C15)
        return mix64(combined)


def sketch_estimate(
    query: npt.NDArray[np.uint32], sketches: npt.NDArray[np.uint8], num_perm: int
) -> npt.NDArray[np.float64]:
    """Estimated Jaccard of a signature with each b-bit sketch (the low 8 bits of a signature)."""
    matches = np.count_nonzero(sketches == (query & 0xFF).astype(np.uint8), axis=1)
    # b-bit MinHash: unequal values still agree in their low 8 bits with probability 1/256.
    return np.asarray(np.clip((matches / num_perm - 1 / 256) / (1 - 1 / 256), 0.0, 1.0), dtype=np.float64)


class NearDupIndex:
    """MinHash LSH index of document ids; `query` returns verified (doc_id, estimated Jaccard) pairs."""

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        bands: int = DEFAULT_BANDS,
        rows: int = DEFAULT_ROWS,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self._hasher = BandHasher(bands, rows)
        self.threshold = threshold
        self.bands = bands
        self.rows = rows
        self._num_perm: int | None = None
        # Row storage: doc id, b-bit sketch and liveness of every row ever added since the last merge.
        self._ids = np.empty(0, dtype=np.int64)
        self._sketch = np.empty((0, 0), dtype=np.uint8)
        self._alive = np.empty(0, dtype=bool)
        self._count = 0  # rows in use (arrays grow geometrically)
        # Sorted band keys of merged rows, and the row each key belongs to.
        self._keys = np.empty(0, dtype=np.uint32)
        self._key_rows = np.empty(0, dtype=np.uint32)
        self._merged = 0  # rows [0, _merged) have their keys in _keys
        self._pending: dict[int, list[int]] = {}  # band key -> rows added since the merge
        # Doc id -> row: sorted arrays for merged rows (a dict would cost ~100 bytes per document),
        # a dict for rows added since the merge.
        self._sorted_ids = np.empty(0, dtype=np.int64)
        self._sorted_rows = np.empty(0, dtype=np.uint32)
        self._recent_rows: dict[int, int] = {}
        self._live = 0

    # -- building -------------------------------------------------------------------------------

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[tuple[int, bytes]],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        bands: int = DEFAULT_BANDS,
        rows_per_band: int = DEFAULT_ROWS,
    ) -> NearDupIndex:
        """Rebuild an index from stored (doc_id, signature bytes) rows; a later duplicate id wins."""
        index = cls(threshold=threshold, bands=bands, rows=rows_per_band)
        # One growing buffer instead of a list of bytes objects keeps the peak near 1x the signatures.
        ids = array("q")
        buffer = bytearray()
        width = 0
        for doc_id, blob in rows:
            if not width:
                width = len(blob)
            if len(blob) != width or not width or width % 4:
                raise ValueError(
                    f"signature of document {doc_id} has {len(blob)} bytes, expected {width or 'a'} "
                    "(a non-empty multiple of 4)"
                )
            ids.append(doc_id)
            buffer += blob
        if not ids:
            return index
        matrix = np.frombuffer(buffer, dtype="<u4").reshape(len(ids), width // 4)
        id_array = np.frombuffer(ids, dtype=np.int64)
        # Keep the last row of each id and drop empty signatures, as `add` would.
        _, last = np.unique(id_array[::-1], return_index=True)
        keep = np.sort(len(ids) - 1 - last)
        keep = keep[~np.all(matrix[keep] == _EMPTY_VALUE, axis=1)]
        if len(keep) == len(ids):
            index._bulk_load(id_array, matrix)
        else:
            index._bulk_load(id_array[keep], matrix[keep])
        return index

    def _check_width(self, num_perm: int) -> None:
        if self._num_perm is None:
            if num_perm < self.bands * self.rows:
                raise ValueError(
                    f"signatures have {num_perm} values, fewer than {self.bands} bands x {self.rows} rows"
                )
            self._num_perm = num_perm
            self._sketch = np.empty((0, num_perm), dtype=np.uint8)
        elif num_perm != self._num_perm:
            raise ValueError(f"signature has {num_perm} values, the index holds {self._num_perm}")

    def _band_keys(self, values: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
        """Band keys of a (n, num_perm) matrix of signatures: (n, bands) 32-bit hashes."""
        return (self._hasher.hashes(values) >> _U64(32)).astype(np.uint32)

    def _bulk_load(self, ids: npt.NDArray[np.int64], matrix: npt.NDArray[np.uint32]) -> None:
        if not len(ids):
            return
        self._check_width(matrix.shape[1])
        n = len(ids)
        self._ids = ids.astype(np.int64, copy=True)
        self._sketch = np.empty((n, matrix.shape[1]), dtype=np.uint8)
        keys = np.empty((n, self.bands), dtype=np.uint32)
        # In chunks, so the 64-bit temporaries of key hashing stay small at a million documents.
        for start in range(0, n, _LOAD_CHUNK):
            chunk = matrix[start : start + _LOAD_CHUNK].astype(np.uint32)
            self._sketch[start : start + len(chunk)] = chunk & 0xFF
            keys[start : start + len(chunk)] = self._band_keys(chunk)
        self._alive = np.ones(n, dtype=bool)
        self._count = self._merged = self._live = n
        self._index_ids()
        flat = keys.ravel()
        order = np.argsort(flat, kind="stable")
        self._keys = flat[order]
        self._key_rows = (order // self.bands).astype(np.uint32)

    def _grow(self) -> None:
        capacity = max(1024, 2 * len(self._ids))
        self._ids = np.resize(self._ids, capacity)
        self._alive = np.concatenate([self._alive[: self._count], np.zeros(capacity - self._count, bool)])
        sketch = np.empty((capacity, self._sketch.shape[1]), dtype=np.uint8)
        sketch[: self._count] = self._sketch[: self._count]
        self._sketch = sketch

    def add(self, doc_id: int, sig: MinHashSignature) -> None:
        """Index a document (replacing what was indexed under the same id); empty texts are skipped."""
        self._check_width(sig.values.size)
        self.remove(doc_id)
        if sig.empty:
            return
        if self._count == len(self._ids):
            self._grow()
        row = self._count
        self._count += 1
        self._ids[row] = doc_id
        self._sketch[row] = (sig.values & 0xFF).astype(np.uint8)
        self._alive[row] = True
        self._recent_rows[doc_id] = row
        self._live += 1
        for key in self._band_keys(sig.values[None, :])[0].tolist():
            self._pending.setdefault(key, []).append(row)
        if self._count - self._merged > max(_MIN_MERGE, self._merged // _MERGE_FRACTION):
            self._merge()

    def _row(self, doc_id: int) -> int | None:
        """The live row of a document, if it is indexed."""
        row = self._recent_rows.get(doc_id)
        if row is None:
            at = int(np.searchsorted(self._sorted_ids, doc_id))
            if at < len(self._sorted_ids) and self._sorted_ids[at] == doc_id:
                row = int(self._sorted_rows[at])
        return row if row is not None and self._alive[row] else None

    def _index_ids(self) -> None:
        order = np.argsort(self._ids[: self._merged], kind="stable")
        self._sorted_ids = self._ids[order]
        self._sorted_rows = order.astype(np.uint32)
        self._recent_rows = {}

    def remove(self, doc_id: int) -> None:
        """Forget a document; unknown ids are ignored."""
        row = self._row(doc_id)
        if row is not None:
            self._alive[row] = False
            self._recent_rows.pop(doc_id, None)
            self._live -= 1

    def _merge(self) -> None:
        """Move pending keys into the sorted arrays and drop removed rows."""
        alive = np.flatnonzero(self._alive[: self._count])
        new_row = np.full(self._count, -1, dtype=np.int64)
        new_row[alive] = np.arange(len(alive))
        pending_keys = np.fromiter(
            (key for key, rows in self._pending.items() for _ in rows), dtype=np.uint32
        )
        pending_rows = np.fromiter((row for rows in self._pending.values() for row in rows), dtype=np.int64)
        keys = np.concatenate([self._keys, pending_keys])
        rows = new_row[np.concatenate([self._key_rows.astype(np.int64), pending_rows])]
        live_entries = rows >= 0
        keys, rows = keys[live_entries], rows[live_entries]
        order = np.argsort(keys, kind="stable")
        self._keys = keys[order]
        self._key_rows = rows[order].astype(np.uint32)
        self._ids = self._ids[alive]
        self._sketch = self._sketch[alive]
        self._alive = np.ones(len(alive), dtype=bool)
        self._count = self._merged = len(alive)
        self._index_ids()
        self._pending = {}

    # -- querying -------------------------------------------------------------------------------

    def _candidates(self, keys: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
        """Rows sharing at least one band key with the query, merged and pending alike."""
        parts: list[npt.NDArray[np.int64]] = []
        if len(self._keys):
            lo = np.searchsorted(self._keys, keys)
            found = np.zeros(len(keys), dtype=bool)
            inside = lo < len(self._keys)
            found[inside] = self._keys[lo[inside]] == keys[inside]
            if found.any():
                starts = lo[found]
                counts = np.searchsorted(self._keys, keys[found], side="right") - starts
                # Every position of every run of equal keys, without a Python loop over bands.
                positions = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
                parts.append(self._key_rows[positions].astype(np.int64))
        if self._pending:
            pending = [row for k in keys.tolist() for row in self._pending.get(k, ())]
            if pending:
                parts.append(np.asarray(pending, dtype=np.int64))
        if not parts:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.concatenate(parts))

    def query(self, sig: MinHashSignature, threshold: float | None = None) -> list[tuple[int, float]]:
        """Indexed documents whose estimated Jaccard with `sig` is at least `threshold`, best first."""
        limit = self.threshold if threshold is None else threshold
        if sig.empty or self._num_perm is None or not self._live:
            return []
        self._check_width(sig.values.size)
        rows = self._candidates(self._band_keys(sig.values[None, :])[0])
        if not rows.size:
            return []
        rows = rows[self._alive[rows]]
        estimate = sketch_estimate(sig.values, self._sketch[rows], self._num_perm)
        hit = estimate >= limit
        order = np.argsort(-estimate[hit], kind="stable")
        ids = self._ids[rows[hit]][order].tolist()
        return list(zip(ids, estimate[hit][order].tolist(), strict=True))

    def __len__(self) -> int:
        return self._live

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, int) and self._row(doc_id) is not None
