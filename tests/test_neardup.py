"""NearDupIndex: behaviour of add/query/remove/from_rows, and recall/precision on the labelled set.

The labelled set (tests/fixtures/dedup/, built by its build.py) holds originals from the seeds and
corpus pages with reposts, mirrors, edits, truncated copies and template copies, plus hard negatives:
articles of one site in one template, and short notices of one bureau sharing boilerplate.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crawler.dedupe.fingerprint import NUM_PERM, MinHashSignature, minhash_signature, shingle_set
from storage.neardup import (
    CANDIDATE_THRESHOLD,
    MAX_CONTAINMENT_CANDIDATES,
    NearDupIndex,
    ShingledText,
    contained_copy,
)

DEDUP = Path(__file__).parent / "fixtures" / "dedup"


def read_jsonl(name: str) -> list[dict[str, Any]]:
    with (DEDUP / name).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def labelled() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[MinHashSignature]]:
    docs = read_jsonl("docs.jsonl")
    return docs, read_jsonl("pairs.jsonl"), [minhash_signature(doc["text"]) for doc in docs]


def found_pairs(
    index: NearDupIndex, sigs: list[MinHashSignature], threshold: float | None
) -> set[tuple[int, int]]:
    found = set()
    for number, sig in enumerate(sigs):
        for other, _ in index.query(sig, threshold):
            if other != number:
                found.add((min(number, other), max(number, other)))
    return found


def recall_by_kind(
    docs: list[dict[str, Any]], pairs: list[dict[str, Any]], found: set[tuple[int, int]]
) -> dict[str, float]:
    number = {doc["id"]: i for i, doc in enumerate(docs)}
    hits: dict[str, list[bool]] = defaultdict(list)
    for pair in pairs:
        a, b = number[pair["a"]], number[pair["b"]]
        hits[pair["kind"]].append((min(a, b), max(a, b)) in found)
    return {kind: sum(v) / len(v) for kind, v in hits.items()}


def random_sig(rng: np.random.Generator) -> MinHashSignature:
    return MinHashSignature(rng.integers(0, 2**32 - 1, size=NUM_PERM, dtype=np.uint32))


def near_copy(sig: MinHashSignature, changed: int, rng: np.random.Generator) -> MinHashSignature:
    values = sig.values.copy()
    values[rng.choice(NUM_PERM, size=changed, replace=False)] ^= np.uint32(0x5A5A5A5A)
    return MinHashSignature(values)


def test_labelled_set_is_what_the_tests_expect(labelled: Any) -> None:
    docs, pairs, _ = labelled
    kinds = {pair["kind"] for pair in pairs}
    assert {
        "repost",
        "mirror",
        "mirror_hk",
        "mirror_tw",
        "mirror_hand",
        "edit",
        "truncated",
        "template",
        "reprint",
        "shortened",
        "same_template",
        "same_bureau",
        "same_form",
    } <= kinds
    assert len(docs) > 300
    assert sum(not pair["duplicate"] for pair in pairs) > 100


def test_recall_and_precision_on_labelled_set(labelled: Any) -> None:
    docs, pairs, sigs = labelled
    index = NearDupIndex()
    for number, sig in enumerate(sigs):
        index.add(number, sig)
    found = found_pairs(index, sigs, None)
    recall = recall_by_kind(docs, pairs, found)
    # Mirrors by OpenCC s2t (undone by our t2s), by s2hk and s2twp, and by a hand-written table.
    for kind in ("repost", "mirror", "mirror_hk", "mirror_tw", "mirror_hand", "template"):
        assert recall[kind] >= 0.95, (kind, recall)
    assert recall["edit"] >= 0.95, recall
    # Hard negatives: no two articles of one template and no two notices of one bureau match.
    assert recall["same_template"] == 0.0
    assert recall["same_bureau"] == 0.0
    same_story = sum(docs[a]["cluster"] == docs[b]["cluster"] for a, b in found)
    assert same_story / len(found) >= 0.99


def test_lower_threshold_finds_truncated_copies(labelled: Any) -> None:
    docs, pairs, sigs = labelled
    index = NearDupIndex.from_rows((number, sig.to_bytes()) for number, sig in enumerate(sigs))
    found = found_pairs(index, sigs, 0.5)
    recall = recall_by_kind(docs, pairs, found)
    assert recall["truncated"] >= 0.85, recall
    assert recall["same_bureau"] == 0.0


def test_containment_joins_reprints_and_shortened_copies_not_hard_negatives(labelled: Any) -> None:
    docs, pairs, sigs = labelled
    index = NearDupIndex.from_rows((number, sig.to_bytes()) for number, sig in enumerate(sigs))
    shingled = [ShingledText(doc["title"], shingle_set(doc["text"])) for doc in docs]
    found = set()
    for number, sig in enumerate(sigs):
        candidates = [doc for doc, _ in index.query(sig, CANDIDATE_THRESHOLD) if doc != number]
        for other in candidates[:MAX_CONTAINMENT_CANDIDATES]:
            if contained_copy(shingled[number], shingled[other]):
                found.add((min(number, other), max(number, other)))
    recall = recall_by_kind(docs, pairs, found)
    jaccard_only = recall_by_kind(docs, pairs, found_pairs(index, sigs, None))
    assert recall["reprint"] >= 0.95 > jaccard_only["reprint"], (recall, jaccard_only)
    assert recall["shortened"] >= 0.9 > jaccard_only["shortened"], (recall, jaccard_only)
    assert recall["truncated"] >= 0.9
    for kind in ("same_template", "same_bureau", "same_form"):
        assert recall[kind] == 0.0, (kind, recall)
    same_story = sum(docs[a]["cluster"] == docs[b]["cluster"] for a, b in found)
    assert same_story == len(found)


def test_contained_copy_needs_size_and_headlines_for_middling_containment() -> None:
    base = "镇坪县教育体育局召开全县秋季学期开学工作会议，安排部署校园安全、招生入学和教师培训等重点工作。"
    original = (
        base * 1 + "会议要求各校落实安全责任，做好开学准备，确保平稳有序。" + "各校校长参加会议并作交流发言。"
    )
    title = "镇坪县召开秋季学期开学工作会议"
    whole = ShingledText(title, shingle_set(original))
    short_copy = ShingledText(None, shingle_set(base[:20]))
    assert not contained_copy(whole, short_copy)  # a line is contained in many pages
    half = ShingledText(
        None, shingle_set(original[: len(original) * 2 // 3] + "本报记者 王敏 编辑 李想 审核 张华")
    )
    with_title = ShingledText(title, half.shingles)
    assert contained_copy(whole, with_title)
    round_up = ShingledText(None, shingle_set(original + seed_text(1) + seed_text(2)))
    assert not contained_copy(whole, round_up)  # a round-up quoting the notice is another page


def seed_text(number: int) -> str:
    return next((DEDUP / "seeds").glob(f"00{number}_*.txt")).read_text(encoding="utf-8")


def test_query_returns_best_first_with_estimates() -> None:
    rng = np.random.default_rng(1)
    base = random_sig(rng)
    index = NearDupIndex()
    index.add(1, near_copy(base, 10, rng))
    index.add(2, near_copy(base, 30, rng))
    index.add(3, random_sig(rng))
    result = index.query(base)
    assert [doc for doc, _ in result] == [1, 2]
    assert result[0][1] == pytest.approx(118 / 128, abs=0.02)
    assert result[1][1] == pytest.approx(98 / 128, abs=0.02)
    assert [doc for doc, _ in index.query(base, threshold=0.85)] == [1]


def test_remove_and_replace() -> None:
    rng = np.random.default_rng(2)
    first, second = random_sig(rng), random_sig(rng)
    index = NearDupIndex()
    index.add(7, first)
    assert 7 in index and len(index) == 1
    index.add(7, second)  # the article changed: its old signature no longer matches
    assert index.query(first) == []
    assert [doc for doc, _ in index.query(second)] == [7]
    index.remove(7)
    index.remove(7)  # unknown ids are ignored
    assert index.query(second) == [] and len(index) == 0 and 7 not in index


def test_merges_keep_every_document_findable() -> None:
    rng = np.random.default_rng(3)
    sigs = [random_sig(rng) for _ in range(5000)]  # several merges of pending additions
    index = NearDupIndex()
    for number, sig in enumerate(sigs):
        index.add(number, sig)
    for number in range(0, 5000, 2):
        index.remove(number)
    for number in (1, 2499, 4001, 4999):
        assert [doc for doc, _ in index.query(near_copy(sigs[number], 20, rng))] == [number]
    assert index.query(sigs[4000]) == []
    assert len(index) == 2500


def test_from_rows_matches_adding_one_by_one() -> None:
    rng = np.random.default_rng(4)
    sigs = [random_sig(rng) for _ in range(300)]
    rows = [(number * 10, sig.to_bytes()) for number, sig in enumerate(sigs)]
    rows.append((50, sigs[0].to_bytes()))  # a later row for id 50 replaces the earlier one
    built = NearDupIndex.from_rows(rows)
    assert len(built) == 300
    assert [doc for doc, _ in built.query(sigs[0])] == [0, 50]
    assert built.query(sigs[5]) == []
    probe = near_copy(sigs[123], 25, rng)
    assert built.query(probe) == [(1230, pytest.approx(103 / 128, abs=0.02))]


def test_empty_signatures_are_not_indexed() -> None:
    empty = minhash_signature("。。 ")
    index = NearDupIndex.from_rows([(1, empty.to_bytes())])
    index.add(2, empty)
    assert len(index) == 0
    assert index.query(empty) == []


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="signature of document 2 has 8 bytes"):
        NearDupIndex.from_rows([(1, b"\x01" * 512), (2, b"\x01" * 8)])
    index = NearDupIndex()
    index.add(1, random_sig(np.random.default_rng(5)))
    with pytest.raises(ValueError, match="signature has 64 values"):
        index.query(MinHashSignature(np.zeros(64, dtype=np.uint32)))
    with pytest.raises(ValueError, match="fewer than 42 bands"):
        NearDupIndex().add(1, MinHashSignature(np.zeros(64, dtype=np.uint32)))
    with pytest.raises(ValueError, match="threshold"):
        NearDupIndex(threshold=0)
