"""Text fingerprints for deduplication: normalised text, content hash, SimHash and MinHash.

Everything works on the *normalised* text (`normalize_text`): Simplified script, width-folded,
pinyin annotations stripped, whitespace and punctuation removed, so a traditional-with-pinyin mirror
or a repost with different spacing fingerprints like the original.

MinHash uses character 3-grams and 128 affine permutations mod 2^32 of 32-bit shingle hashes,
computed with numpy in one matrix operation per document (see bench/dedup.py for the measurements
behind k and the number of permutations).

Containment (`containment`) is the share of the smaller text's shingles found in the larger one: a
newspaper reprint that adds its own lead and drops the last paragraph, or a shortened copy, is mostly
contained in the original although their Jaccard similarity is low. It is computed exactly, on the
shingle sets of the few candidates the MinHash index proposes, never for the whole index.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from core.chinese import strip_pinyin, to_simplified
from core.hashing import mix64

SHINGLE_SIZE = 3
NUM_PERM = 128
# Headlines shorter than this (normalised) say too little to vouch for a match (`titles_agree`).
TITLE_MIN_CHARS = 6
_SEED = 20231108

_U64 = np.uint64
_MASK32 = (1 << 32) - 1


@cache
def _permutations() -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """Multipliers (odd) and offsets of the NUM_PERM affine permutations mod 2^32, from a fixed seed."""
    rng = np.random.default_rng(_SEED)
    a = rng.integers(0, 2**31, size=NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)  # odd
    b = rng.integers(0, 2**32, size=NUM_PERM, dtype=np.uint64).astype(np.uint32)
    return a, b


@cache
def _fold_table() -> npt.NDArray[np.uint32]:
    """For every BMP code point: its NFKC, lower-cased form when that is one letter or digit, else 0.

    Folding through one table lookup per character is an order of magnitude faster than
    `unicodedata.normalize` plus a punctuation regex, and this is the hot path of fingerprinting.
    """
    table = np.zeros(0x10000, dtype=np.uint32)
    for code in range(0x10000):
        if 0xD800 <= code < 0xE000:
            continue
        folded = "".join(c for c in unicodedata.normalize("NFKC", chr(code)).lower() if c.isalnum())
        if len(folded) == 1:
            table[code] = ord(folded)
        elif folded:  # expands to several characters (e.g. ㎡): keep the character itself
            table[code] = code
    return table


def normalized_codes(text: str) -> npt.NDArray[np.uint32]:
    """The code points of `normalize_text(text)`."""
    codes = np.frombuffer(to_simplified(strip_pinyin(text)).encode("utf-32-le"), dtype=np.uint32)
    bmp = codes < 0x10000
    folded = np.where(bmp, _fold_table()[np.where(bmp, codes, 0)], codes)
    return folded[folded != 0]


def normalize_text(text: str) -> str:
    """Simplified, width-folded, lower-cased text without pinyin annotations, spaces or punctuation."""
    return normalized_codes(text).tobytes().decode("utf-32-le")


def content_hash(text: str) -> str:
    """Hex SHA-256 of the normalised text: equal for texts that differ only in script or layout."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def shingle_hashes(normalized: npt.NDArray[np.uint32], k: int = SHINGLE_SIZE) -> npt.NDArray[np.uint64]:
    """64-bit hashes of the character k-grams of normalised code points (one for a shorter text)."""
    if not normalized.size:
        return np.empty(0, dtype=np.uint64)
    codes = normalized.astype(np.uint64)
    n = max(len(codes) - k + 1, 1)
    packed = codes[:n].copy()
    for i in range(1, min(k, len(codes))):
        # Code points fit in 21 bits, so shift-and-xor keeps three of them collision-free.
        packed = (packed << _U64(21)) ^ codes[i : i + n]
    return mix64(packed)


def shingle_set(text: str) -> npt.NDArray[np.uint64]:
    """The distinct shingle hashes of the normalised text, sorted (for `containment`)."""
    return np.unique(shingle_hashes(normalized_codes(text)))


def containment(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> float:
    """Share of the smaller of two shingle sets (`shingle_set`) that the other holds; 0.0 if one is empty."""
    if not a.size or not b.size:
        return 0.0
    shared = np.intersect1d(a, b, assume_unique=True).size
    return shared / min(a.size, b.size)


def titles_agree(a: str | None, b: str | None) -> bool:
    """Whether two headlines name the same article: equal once normalised, or one inside the other.

    A reprint keeps the headline or wraps it (`【教育】…`, `…（图）`); notices filled in from one
    template differ in the school, the batch or the date, so neither holds the other.
    """
    left, right = normalize_text(a or ""), normalize_text(b or "")
    if len(left) < TITLE_MIN_CHARS or len(right) < TITLE_MIN_CHARS:
        return False
    return left in right or right in left


@dataclass(frozen=True, slots=True, eq=False)
class MinHashSignature:
    """The minima of NUM_PERM hash functions over a text's shingles (uint32 each)."""

    values: npt.NDArray[np.uint32]

    @property
    def empty(self) -> bool:
        """True for the signature of a text with no letters or digits."""
        return bool(np.all(self.values == _MASK32))

    def to_bytes(self) -> bytes:
        """Little-endian uint32 values: 4 bytes per permutation."""
        return self.values.astype("<u4", copy=False).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> MinHashSignature:
        """Read a signature written by `to_bytes`; ValueError when the bytes cannot be one."""
        if not data or len(data) % 4:
            raise ValueError(f"a MinHash signature is a non-empty multiple of 4 bytes, got {len(data)}")
        return cls(np.frombuffer(data, dtype="<u4").astype(np.uint32))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MinHashSignature) and np.array_equal(self.values, other.values)

    def __hash__(self) -> int:
        return hash(self.to_bytes())


def minhash_of_hashes(hashes: npt.NDArray[np.uint64]) -> MinHashSignature:
    """MinHash signature of precomputed shingle hashes: affine permutations of their top 32 bits."""
    if hashes.size == 0:
        return MinHashSignature(np.full(NUM_PERM, _MASK32, dtype=np.uint32))
    mult, offset = _permutations()
    # 32-bit arithmetic (datasketch's "affine32" scheme) halves the memory traffic of the
    # shingles x permutations matrix, the hot loop, at no measurable cost in accuracy.
    permuted = np.multiply.outer((hashes >> _U64(32)).astype(np.uint32), mult)
    permuted += offset
    return MinHashSignature(permuted.min(axis=0))


def minhash_signature(text: str) -> MinHashSignature:
    """MinHash signature of the character 3-grams of the normalised text."""
    return minhash_of_hashes(shingle_hashes(normalized_codes(text)))


def similarity(a: MinHashSignature, b: MinHashSignature) -> float:
    """Estimated Jaccard similarity of two texts' shingle sets (0.0 when either text is empty)."""
    if a.values.shape != b.values.shape:
        raise ValueError(f"signatures of different lengths: {a.values.size} and {b.values.size}")
    if a.empty or b.empty:
        return 0.0
    return float(np.count_nonzero(a.values == b.values)) / a.values.size


def simhash_of_hashes(hashes: npt.NDArray[np.uint64]) -> int:
    """64-bit SimHash of precomputed shingle hashes, each shingle weighted by its count."""
    if hashes.size == 0:
        return 0
    bits = np.unpackbits(hashes.astype(">u8").view(np.uint8).reshape(-1, 8), axis=1)
    majority = bits.sum(axis=0, dtype=np.int64) * 2 > hashes.size
    return int.from_bytes(np.packbits(majority).tobytes(), "big")


def simhash_hex(text: str) -> str:
    """64-bit SimHash of the normalised text's character 3-grams, as 16 hex digits."""
    return f"{simhash_of_hashes(shingle_hashes(normalized_codes(text))):016x}"


def hamming(a: str | int, b: str | int) -> int:
    """Number of differing bits between two SimHashes (ints or hex strings)."""
    x = int(a, 16) if isinstance(a, str) else a
    y = int(b, 16) if isinstance(b, str) else b
    return (x ^ y).bit_count()
