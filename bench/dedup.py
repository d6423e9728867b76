"""Near-duplicate detection benchmark: countywatch vs datasketch MinHash+LSH vs SimHash, in one run.

    .venv/bin/python -m bench.dedup            # 10k and 100k indexed documents (about 2-3 minutes)
    .venv/bin/python -m bench.dedup --quick    # 10k only

Fingerprinting speed is measured on 1-3 KB articles generated from the corpus texts (sentences of
the labelled set's originals recombined and mutated, so each is distinct). Each index then holds N
such background documents plus the labelled set (tests/fixtures/dedup/), every labelled document is
queried, and recall (per kind of copy) and precision are counted over what comes back; a match to a
background document is a false positive. Memory per document is what tracemalloc sees the index
allocate. Rates are documents per CPU second of this process (time.process_time), so they are per
core and do not depend on what else the machine runs.

"before: 32x4 bands, Jaccard only" is the method before containment (the index's previous bands;
Jaccard 0.7, or 0.5, the threshold ingest uses for a copy flagged truncated); "countywatch
NearDupIndex 42x3" the same queries on today's bands; "+ containment" is what ingest does now: the same query,
then the candidates from estimated Jaccard CANDIDATE_THRESHOLD checked by exact containment of
shingle sets and headlines (storage.neardup.contained_copy). Its query rate includes shingling the
query and every candidate's text, as ingest does with the candidate texts it reads back.

Every method fingerprints the labelled set itself. For the background documents of the baseline
indexes, datasketch MinHash objects and simhash values are built from countywatch's own values,
because the baselines' pure-Python hashing would take most of the time budget at 100k (their
fingerprinting speed is in the first table). Those values never collide with the labelled set's,
so the baselines' false positives count labelled documents only, while countywatch's also count
the background.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from datasketch import MinHash, MinHashLSH
from simhash import Simhash, SimhashIndex
from sqlalchemy import insert
from sqlalchemy.orm import Session

from crawler.dedupe.fingerprint import (
    MinHashSignature,
    minhash_signature,
    normalize_text,
    normalized_codes,
    shingle_hashes,
    shingle_set,
    simhash_hex,
    simhash_of_hashes,
)
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Article, Source, Story, utcnow
from storage.neardup import (
    CANDIDATE_THRESHOLD,
    DEFAULT_BANDS,
    DEFAULT_ROWS,
    MAX_CONTAINMENT_CANDIDATES,
    DupIndex,
    NearDupIndex,
    ShingledText,
    contained_copy,
)
from storage.neardup_stored import StoredNearDupIndex

T = TypeVar("T")
DEDUP = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "dedup"
THRESHOLD = 0.7
LOW_THRESHOLD = 0.5  # what a caller may use for a copy flagged truncated
HAMMING = 3
POSITIVE_KINDS = (
    "repost",
    "mirror",
    "mirror_hk",
    "mirror_tw",
    "mirror_hand",
    "template",
    "edit",
    "truncated",
    "reprint",
    "shortened",
)
NEGATIVE_KINDS = ("same_template", "same_bureau", "same_form")


@dataclass
class Labelled:
    ids: list[str]
    titles: list[str | None]
    texts: list[str]
    cluster: list[str]
    pairs: list[dict[str, Any]]


@dataclass
class IndexResult:
    method: str
    n: int
    insert_per_s: float
    query_per_s: float
    bytes_per_doc: float
    rebuild_s: float | None
    recall: dict[str, float]
    precision: float
    false_positives: int


def load_labelled() -> Labelled:
    docs = [json.loads(line) for line in (DEDUP / "docs.jsonl").read_text(encoding="utf-8").splitlines()]
    pairs = [json.loads(line) for line in (DEDUP / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    return Labelled(
        [d["id"] for d in docs],
        [d.get("title") for d in docs],
        [d["text"] for d in docs],
        [d["cluster"] for d in docs],
        pairs,
    )


def background(labelled: Labelled, count: int, seed: int = 7) -> list[str]:
    """Distinct 1-3 KB articles: corpus sentences recombined, with a few characters replaced."""
    rng = random.Random(seed)
    originals = [
        t
        for t, i, c in zip(labelled.texts, labelled.ids, labelled.cluster, strict=True)
        if i == c and "." not in i
    ]
    sentences = [
        s[i : i + 80]  # long unpunctuated runs are cut, so no document is mostly one original
        for t in originals
        for s in re.split(r"(?<=[。！？!?\n，,])", t)
        for i in range(0, len(s), 80)
        if len(s[i : i + 80]) > 8
    ]
    alphabet = sorted({c for s in sentences for c in s if "\u4e00" <= c <= "\u9fff"})
    docs = []
    for _ in range(count):
        target = rng.randint(350, 1000)  # characters: about 1-3 KB of UTF-8
        parts: list[str] = []
        while sum(map(len, parts)) < target:
            parts.append(rng.choice(sentences))
        chars = list("".join(parts)[:target])
        for _ in range(len(chars) // 30):
            chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        docs.append("".join(chars))
    return docs


def shingles(text: str) -> list[str]:
    normalized = normalize_text(text)
    return [normalized[i : i + 3] for i in range(max(len(normalized) - 2, 1))] if normalized else []


def datasketch_minhash(text: str) -> MinHash:
    sketch = MinHash(num_perm=128)
    sketch.update_batch([s.encode("utf-8") for s in shingles(text)])
    return sketch


def package_simhash(text: str) -> Simhash:
    return Simhash(shingles(text))


def rate(function: Callable[[str], object], texts: list[str], repeat: int = 3) -> float:
    """Median documents per second over `repeat` runs (after one warm-up call)."""
    function(texts[0])
    runs = []
    for _ in range(repeat):
        start = time.process_time()
        for text in texts:
            function(text)
        runs.append(len(texts) / (time.process_time() - start))
    return statistics.median(runs)


def score(labelled: Labelled, results: dict[int, list[int]]) -> tuple[dict[str, float], float, int]:
    """Recall per pair kind, precision and false positives of labelled queries' results."""
    found = {(min(q, r), max(q, r)) for q, hits in results.items() for r in hits if r != q}
    number = {doc_id: i for i, doc_id in enumerate(labelled.ids)}
    by_kind: dict[str, list[bool]] = {}
    for pair in labelled.pairs:
        a, b = number[pair["a"]], number[pair["b"]]
        by_kind.setdefault(pair["kind"], []).append((min(a, b), max(a, b)) in found)
    n = len(labelled.ids)
    true = sum(1 for a, b in found if b < n and labelled.cluster[a] == labelled.cluster[b])
    false = len(found) - true
    precision = true / len(found) if found else 1.0
    return {kind: sum(v) / len(v) for kind, v in by_kind.items()}, precision, false


def measure_memory(build: Callable[[], T]) -> tuple[T, float]:
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    built = build()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return built, after - before


def with_containment(
    index: DupIndex,
    own: int,
    sig: MinHashSignature,
    query: ShingledText,
    text_of: Callable[[int], tuple[str | None, str]],
) -> list[int]:
    """The documents ingest sees as copies: Jaccard matches and candidates that pass the containment check.

    `own` is the query's own id (the benchmark indexes every document before querying any). Ingest
    stops at the first Jaccard match, as it needs one story; the benchmark counts both checks' finds,
    so that each labelled pair is scored whichever of the two is queried first.
    """
    matches = [doc for doc, _ in index.query(sig) if doc != own]
    candidates = [m for m in index.query(sig, CANDIDATE_THRESHOLD) if m[0] != own]
    for doc, _ in candidates[:MAX_CONTAINMENT_CANDIDATES]:
        if doc in matches:
            continue
        title, text = text_of(doc)
        if contained_copy(query, ShingledText(title, shingle_set(text))):
            matches.append(doc)
    return matches


def bench_countywatch(
    labelled: Labelled,
    own: list[MinHashSignature],
    back: list[MinHashSignature],
    back_texts: list[str],
    bands: tuple[int, int] | None = None,
) -> list[IndexResult]:
    """The index at its defaults (Jaccard, low threshold, + containment); with `bands`, Jaccard only."""
    n_lab = len(own)
    signatures = own + back
    b, r = bands or (DEFAULT_BANDS, DEFAULT_ROWS)
    index = NearDupIndex(threshold=THRESHOLD, bands=b, rows=r)
    start = time.process_time()
    for doc_id, sig in enumerate(signatures):
        index.add(doc_id, sig)
    insert = len(signatures) / (time.process_time() - start)
    rows = [(doc_id, sig.to_bytes()) for doc_id, sig in enumerate(signatures)]
    start = time.process_time()
    NearDupIndex.from_rows(rows, bands=b, rows_per_band=r)
    rebuild = time.process_time() - start
    _, used = measure_memory(lambda: NearDupIndex.from_rows(rows, bands=b, rows_per_band=r))
    queries = list(range(n_lab)) + list(range(n_lab, min(len(signatures), n_lab + 2000)))
    start = time.process_time()
    answers = {q: [doc for doc, _ in index.query(signatures[q])] for q in queries}
    query = len(queries) / (time.process_time() - start)
    recall, precision, false = score(labelled, {q: answers[q] for q in range(n_lab)})
    low = {q: [doc for doc, _ in index.query(signatures[q], LOW_THRESHOLD)] for q in range(n_lab)}
    low_recall, low_precision, low_false = score(labelled, low)
    if bands is not None:
        label = f"before: {b}x{r} bands, Jaccard only"
        return [
            IndexResult(
                label, len(back), insert, query, used / len(signatures), rebuild, recall, precision, false
            ),
            IndexResult(
                f"  same, query threshold {LOW_THRESHOLD}",
                len(back),
                insert,
                query,
                used / len(signatures),
                rebuild,
                low_recall,
                low_precision,
                low_false,
            ),
        ]

    def text_of(doc: int) -> tuple[str | None, str]:
        if doc < n_lab:
            return labelled.titles[doc], labelled.texts[doc]
        return None, back_texts[doc - n_lab]

    start = time.process_time()
    contained = {}
    for q in queries:
        title, text = text_of(q)
        contained[q] = with_containment(
            index, q, signatures[q], ShingledText(title, shingle_set(text)), text_of
        )
    contained_query = len(queries) / (time.process_time() - start)
    c_recall, c_precision, c_false = score(labelled, {q: contained[q] for q in range(n_lab)})
    return [
        IndexResult(
            f"countywatch NearDupIndex {b}x{r}",
            len(back),
            insert,
            query,
            used / len(signatures),
            rebuild,
            recall,
            precision,
            false,
        ),
        IndexResult(
            f"  same, query threshold {LOW_THRESHOLD}",
            len(back),
            insert,
            query,
            used / len(signatures),
            rebuild,
            low_recall,
            low_precision,
            low_false,
        ),
        IndexResult(
            f"  + containment (candidates from {CANDIDATE_THRESHOLD})",
            len(back),
            insert,
            contained_query,
            used / len(signatures),
            rebuild,
            c_recall,
            c_precision,
            c_false,
        ),
    ]


def _stored_articles(session: Session, signatures: list[MinHashSignature]) -> None:
    """One article row per signature, ids 1..n in order (what the stored index reads back)."""
    now = utcnow()
    source = Source(name="bench", kind="government", created_at=now)
    story = Story(created_at=now)
    session.add_all([source, story])
    session.flush()
    template = {
        "source_id": source.id,
        "story_id": story.id,
        "text": "",
        "authors": [],
        "topics": [],
        "categories": [],
        "flags": [],
        "language": "zh",
        "extra": {},
        "alertable": False,
        "status": "active",
        "gone_count": 0,
        "version": 1,
        "first_seen": now,
        "last_seen": now,
        "last_checked": now,
        "last_changed": now,
    }
    for start in range(0, len(signatures), 5000):
        session.execute(
            insert(Article),
            [
                {
                    **template,
                    "id": doc + 1,
                    "url": f"http://bench.example/{doc}",
                    "fetched_url": f"http://bench.example/{doc}",
                    "content_hash": f"{doc:064x}",
                    "signature": sig.to_bytes(),
                }
                for doc, sig in enumerate(signatures[start : start + 5000], start)
            ],
        )
    session.commit()


def bench_stored(
    labelled: Labelled, own: list[MinHashSignature], back: list[MinHashSignature], back_texts: list[str]
) -> list[IndexResult]:
    """The index as ingest uses it now: neardup_bands rows in SQLite, the same three queries.

    bytes/doc is what the process holds for the index (nothing between queries: tracemalloc's peak
    over a query, per document); the disk the table takes is printed beside the table.
    """
    n_lab = len(own)
    signatures = own + back
    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as folder:
        path = Path(folder) / "dedup.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                _stored_articles(session, signatures)
                size = _file_bytes(path)
                index = StoredNearDupIndex(session, threshold=THRESHOLD)
                start = time.process_time()
                for doc, sig in enumerate(signatures):
                    index.add(doc + 1, sig)
                session.commit()
                insert_rate = len(signatures) / (time.process_time() - start)
                DISK[len(back)] = (_file_bytes(path) - size) / len(signatures)

                def answer(q: int, threshold: float | None = None) -> list[int]:
                    return [doc - 1 for doc, _ in index.query(signatures[q], threshold)]

                queries = list(range(n_lab)) + list(range(n_lab, min(len(signatures), n_lab + 2000)))
                _, peak = measure_memory(lambda: answer(0))
                start = time.process_time()
                answers = {q: answer(q) for q in queries}
                query_rate = len(queries) / (time.process_time() - start)
                low = {q: answer(q, LOW_THRESHOLD) for q in range(n_lab)}

                def text_of(doc: int) -> tuple[str | None, str]:
                    if doc < n_lab:
                        return labelled.titles[doc], labelled.texts[doc]
                    return None, back_texts[doc - n_lab]

                shifted = _Shifted(index)
                start = time.process_time()
                contained = {}
                for q in queries:
                    title, body = text_of(q)
                    contained[q] = with_containment(
                        shifted, q, signatures[q], ShingledText(title, shingle_set(body)), text_of
                    )
                contained_rate = len(queries) / (time.process_time() - start)
        finally:
            engine.dispose()
    per_doc = peak / len(signatures)
    rows = []
    for label, results, rate_ in (
        (f"countywatch StoredNearDupIndex {DEFAULT_BANDS}x{DEFAULT_ROWS} (SQLite)", answers, query_rate),
        (f"  same, query threshold {LOW_THRESHOLD}", low, query_rate),
        (f"  + containment (candidates from {CANDIDATE_THRESHOLD})", contained, contained_rate),
    ):
        recall, precision, false = score(labelled, {q: results[q] for q in range(n_lab)})
        rows.append(
            IndexResult(label, len(back), insert_rate, rate_, per_doc, None, recall, precision, false)
        )
    return rows


def _file_bytes(path: Path) -> int:
    """The SQLite file's size once its write-ahead log is checkpointed into it."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


class _Shifted:
    """A StoredNearDupIndex answering with the benchmark's 0-based document numbers."""

    def __init__(self, index: StoredNearDupIndex) -> None:
        self.index = index
        self.threshold = index.threshold

    def add(self, doc_id: int, sig: MinHashSignature) -> None:
        self.index.add(doc_id + 1, sig)

    def remove(self, doc_id: int) -> None:
        self.index.remove(doc_id + 1)

    def query(self, sig: MinHashSignature, threshold: float | None = None) -> list[tuple[int, float]]:
        return [(doc - 1, score) for doc, score in self.index.query(sig, threshold)]


# Disk bytes per document of the neardup_bands table, by N (the stored rows' file growth).
DISK: dict[int, float] = {}


def bench_datasketch(labelled: Labelled, own: list[MinHash], back: list[MinHashSignature]) -> IndexResult:
    n_lab = len(own)
    sketches = own + [
        MinHash(num_perm=128, hashvalues=s.values.astype(np.uint64), scheme="affine32") for s in back
    ]
    holder: dict[str, Any] = {}

    def build() -> MinHashLSH:
        lsh = MinHashLSH(threshold=THRESHOLD, num_perm=128)
        start = time.process_time()
        for doc_id, sketch in enumerate(sketches):
            lsh.insert(doc_id, sketch, check_duplication=False)
        holder["insert"] = len(sketches) / (time.process_time() - start)
        return lsh

    lsh, used = measure_memory(build)
    queries = list(range(n_lab)) + list(range(n_lab, min(len(sketches), n_lab + 2000)))
    start = time.process_time()
    answers = {
        q: [c for c in lsh.query(sketches[q]) if sketches[q].jaccard(sketches[c]) >= THRESHOLD]
        for q in queries
    }
    query = len(queries) / (time.process_time() - start)
    recall, precision, false = score(labelled, {q: answers[q] for q in range(n_lab)})
    return IndexResult(
        f"datasketch MinHashLSH (b={lsh.b}, r={lsh.r})",
        len(back),
        holder["insert"],
        query,
        used / len(sketches),
        None,
        recall,
        precision,
        false,
    )


def bench_simhash(labelled: Labelled, name: str, own: list[int], back: list[int]) -> IndexResult:
    n_lab = len(own)
    values = own + back
    objects = [Simhash(value) for value in values]
    holder: dict[str, Any] = {}

    def build() -> SimhashIndex:
        index = SimhashIndex([], k=HAMMING)
        start = time.process_time()
        for doc_id, obj in enumerate(objects):
            index.add(str(doc_id), obj)
        holder["insert"] = len(objects) / (time.process_time() - start)
        return index

    index, used = measure_memory(build)
    queries = list(range(n_lab)) + list(range(n_lab, min(len(objects), n_lab + 2000)))
    start = time.process_time()
    answers = {q: [int(c) for c in index.get_near_dups(objects[q])] for q in queries}
    query = len(queries) / (time.process_time() - start)
    recall, precision, false = score(labelled, {q: answers[q] for q in range(n_lab)})
    return IndexResult(
        name, len(back), holder["insert"], query, used / len(objects), None, recall, precision, false
    )


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k documents only")
    args = parser.parse_args(argv)
    sizes = [10_000] if args.quick else [10_000, 100_000]
    started = time.perf_counter()
    labelled = load_labelled()
    texts = background(labelled, max(sizes))
    sample = texts[:1500]
    kb = statistics.mean(len(t.encode("utf-8")) for t in sample) / 1024

    print(
        f"# Near-duplicate benchmark ({len(labelled.ids)} labelled documents, {len(labelled.pairs)} pairs)\n"
    )
    print(
        f"## Fingerprinting, one core, {len(sample)} generated articles of {kb:.1f} KB on average "
        "(median of 3 runs)\n"
    )
    fingerprint_rows = [
        ["countywatch minhash_signature (128 perm, 3-grams)", f"{rate(minhash_signature, sample):.0f}"],
        ["countywatch simhash_hex", f"{rate(simhash_hex, sample):.0f}"],
        ["datasketch MinHash(128).update_batch", f"{rate(datasketch_minhash, sample[:300], 1):.0f}"],
        ["simhash package Simhash(shingles)", f"{rate(package_simhash, sample[:300], 1):.0f}"],
    ]
    print_table(["method (normalisation included)", "docs/s"], fingerprint_rows)

    own_minhash = [minhash_signature(t) for t in labelled.texts]
    own_datasketch = [datasketch_minhash(t) for t in labelled.texts]
    own_simhash_pkg = [package_simhash(t).value for t in labelled.texts]
    own_simhash = [simhash_of_hashes(shingle_hashes(normalized_codes(t))) for t in labelled.texts]

    results: list[IndexResult] = []
    for size in sizes:
        start = time.process_time()
        back = [minhash_signature(t) for t in texts[:size]]
        sig_rate = size / (time.process_time() - start)
        back_simhash = [int(simhash_hex(t), 16) for t in texts[:size]]
        print(f"(signed {size} background documents at {sig_rate:.0f} docs/s)")
        results.extend(bench_countywatch(labelled, own_minhash, back, texts[:size], bands=(32, 4)))
        results.extend(bench_countywatch(labelled, own_minhash, back, texts[:size]))
        results.extend(bench_stored(labelled, own_minhash, back, texts[:size]))
        results.append(bench_datasketch(labelled, own_datasketch, back))
        results.append(
            bench_simhash(labelled, f"simhash package, Hamming<={HAMMING}", own_simhash_pkg, back_simhash)
        )
        results.append(
            bench_simhash(labelled, f"countywatch simhash, Hamming<={HAMMING}", own_simhash, back_simhash)
        )
    print()
    print(f"## Index: N background documents + the labelled set; threshold {THRESHOLD}\n")
    headers = [
        "method",
        "N",
        "insert/s",
        "query/s",
        "bytes/doc",
        "rebuild s",
        *(f"R {k}" for k in POSITIVE_KINDS),
        "precision",
        "FP",
        *(f"hit {k}" for k in NEGATIVE_KINDS),
    ]
    rows = []
    for r in results:
        rows.append(
            [
                r.method,
                f"{r.n:,}",
                f"{r.insert_per_s:,.0f}",
                f"{r.query_per_s:,.0f}",
                f"{r.bytes_per_doc:,.0f}",
                "-" if r.rebuild_s is None else f"{r.rebuild_s:.2f}",
                *(f"{r.recall.get(k, 0):.3f}" for k in POSITIVE_KINDS),
                f"{r.precision:.4f}",
                str(r.false_positives),
                *(f"{r.recall.get(k, 0):.3f}" for k in NEGATIVE_KINDS),
            ]
        )
    print_table(headers, rows)
    for n, disk in sorted(DISK.items()):
        print(f"neardup_bands on disk at N={n:,}: {disk:,.0f} bytes per document (SQLite file growth)")
    print()

    largest = max(sizes)
    print(f"## Extrapolation to 1,000,000 documents (linear from N={largest:,})\n")
    ext_rows = []
    for r in results:
        if r.n != largest or r.method.startswith(" "):
            continue
        ext_rows.append(
            [
                r.method,
                f"{r.bytes_per_doc * 1e6 / 2**20:,.0f} MiB",
                f"{1e6 / r.insert_per_s:,.0f} s",
                "-" if r.rebuild_s is None else f"{r.rebuild_s * 1e6 / (largest + len(labelled.ids)):,.0f} s",
            ]
        )
    print_table(["method", "index memory", "insert 1M one by one", "rebuild from rows"], ext_rows)
    mh = float(fingerprint_rows[0][1])
    print(f"Signing 1M articles at {mh:.0f} docs/s takes {1e6 / mh / 60:.1f} min on one core.")
    print(f"\nTotal benchmark time {time.perf_counter() - started:.0f} s (wall clock).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
