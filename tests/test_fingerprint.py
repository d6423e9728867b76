"""Fingerprints: normalisation, content hash, SimHash and MinHash on seeds and crafted texts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from opencc import OpenCC

from core.chinese import needs_simplification, strip_pinyin
from crawler.dedupe.fingerprint import (
    NUM_PERM,
    MinHashSignature,
    containment,
    content_hash,
    hamming,
    minhash_signature,
    normalize_text,
    shingle_hashes,
    shingle_set,
    simhash_hex,
    similarity,
    titles_agree,
)

SEEDS = Path(__file__).parent / "fixtures" / "dedup" / "seeds"


def seed(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def exact_jaccard(a: str, b: str, k: int = 3) -> float:
    na, nb = normalize_text(a), normalize_text(b)
    sa = {na[i : i + k] for i in range(len(na) - k + 1)}
    sb = {nb[i : i + k] for i in range(len(nb) - k + 1)}
    return len(sa & sb) / len(sa | sb)


def test_normalize_folds_width_case_punctuation_and_space() -> None:
    assert normalize_text("ＡＢＣ１２３，全角　Text！\n 第２页") == "abc123全角text第2页"


def test_normalize_converts_traditional_and_strips_pinyin() -> None:
    assert normalize_text("本網(wǎng)訊 為加快推進(jìn)我縣教育發(fā)展") == "本网讯为加快推进我县教育发展"


def test_pinyin_needs_a_tone_mark_so_bracketed_latin_stays() -> None:
    assert strip_pinyin("附件(pdf)和(a)项,網(wǎng)站") == "附件(pdf)和(a)项,網站"


def test_simplified_text_is_not_sent_through_opencc() -> None:
    assert not needs_simplification(seed("001"))
    assert needs_simplification(seed("000"))


def test_seed_000_normalised_has_no_pinyin_or_question_marks() -> None:
    text = normalize_text(seed("000"))
    assert "?" not in text
    assert "wǎng" not in text
    assert text.startswith("本网讯记者杜娟陆致吉为加快推进我县教育高质量发展")


def test_content_hash_ignores_layout_and_width() -> None:
    a = "镇坪县召开教育高质量发展大会。\n9月7日，第39个教师节来临之际"
    b = "镇坪县召开教育高质量发展大会 9月7日,第３９个教师节来临之际"
    assert content_hash(a) == content_hash(b)
    assert len(content_hash(a)) == 64
    assert content_hash(a) != content_hash(a + "变")


def test_mirror_of_seed_matches_original() -> None:
    original = seed("001")
    mirror = OpenCC("s2t").convert(original)
    assert similarity(minhash_signature(original), minhash_signature(mirror)) >= 0.95
    assert hamming(simhash_hex(original), simhash_hex(mirror)) <= 3


def test_minhash_estimates_jaccard() -> None:
    a = seed("001")
    b = a[: len(a) * 2 // 3]  # truncated copy: Jaccard about 2/3
    estimate = similarity(minhash_signature(a), minhash_signature(b))
    assert abs(estimate - exact_jaccard(a, b)) < 0.12


def test_different_articles_are_dissimilar() -> None:
    a, b = minhash_signature(seed("001")), minhash_signature(seed("002"))
    assert similarity(a, b) < 0.1
    assert hamming(simhash_hex(seed("001")), simhash_hex(seed("002"))) > 10


def test_signature_round_trips_through_bytes() -> None:
    sig = minhash_signature(seed("002"))
    data = sig.to_bytes()
    assert len(data) == 4 * NUM_PERM
    assert MinHashSignature.from_bytes(data) == sig
    assert similarity(MinHashSignature.from_bytes(data), sig) == 1.0


@pytest.mark.parametrize("data", [b"", b"abc", b"\x00" * 6])
def test_signature_from_bad_bytes_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="multiple of 4 bytes"):
        MinHashSignature.from_bytes(data)


def test_empty_text_is_similar_to_nothing() -> None:
    empty = minhash_signature(" ，。\n")
    assert empty.empty
    assert similarity(empty, empty) == 0.0
    assert simhash_hex("") == "0" * 16


def test_short_text_still_has_a_signature() -> None:
    assert shingle_hashes(np.array([0x4E2D], dtype=np.uint32)).size == 1
    assert not minhash_signature("中").empty
    assert similarity(minhash_signature("中国"), minhash_signature("中国")) == 1.0


def test_simhash_is_16_hex_digits_and_stable() -> None:
    value = simhash_hex(seed("004"))
    assert len(value) == 16
    int(value, 16)
    assert value == simhash_hex(seed("004"))


def test_signatures_of_different_lengths_are_refused() -> None:
    sig = minhash_signature("教育局通知")
    with pytest.raises(ValueError, match="different lengths"):
        similarity(sig, MinHashSignature(sig.values[:64]))


def exact_containment(a: str, b: str, k: int = 3) -> float:
    na, nb = normalize_text(a), normalize_text(b)
    sa = {na[i : i + k] for i in range(len(na) - k + 1)}
    sb = {nb[i : i + k] for i in range(len(nb) - k + 1)}
    return len(sa & sb) / min(len(sa), len(sb))


def test_containment_is_the_share_of_the_smaller_text_in_the_larger() -> None:
    original = seed("001")
    paragraphs = [p for p in original.splitlines() if len(p) > 30]
    reprint = "本报讯（通讯员 王敏）近日，记者从县教育体育局获悉，" + "\n".join(paragraphs[:-1])
    expected = exact_containment(original, reprint)
    assert containment(shingle_set(original), shingle_set(reprint)) == pytest.approx(expected, abs=1e-9)
    assert containment(shingle_set(reprint), shingle_set(original)) == pytest.approx(expected, abs=1e-9)
    assert expected > 0.95 and expected > exact_jaccard(original, reprint)


def test_containment_of_unrelated_or_empty_texts() -> None:
    assert containment(shingle_set(seed("001")), shingle_set(seed("002"))) < 0.2
    assert containment(shingle_set(""), shingle_set(seed("001"))) == 0.0


def test_shingle_set_is_sorted_and_distinct() -> None:
    shingles = shingle_set("教育教育教育教育")
    assert shingles.size == 2  # 教育教 and 育教育, each repeated three times
    assert np.all(np.diff(shingles.astype(np.float64)) > 0)


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("镇坪县召开教育高质量发展大会", "镇坪县召开教育高质量发展大会", True),
        ("镇坪县召开教育高质量发展大会", "【教育】镇坪县召开教育高质量发展大会（图）", True),
        ("镇坪县召开教育高质量发展大会", "鎮坪縣召開教育高質量發展大會", True),
        (
            "县城关小学2024年公开招聘教师拟聘用人员名单公示",
            "县第二中学2024年公开招聘教师拟聘用人员名单公示",
            False,
        ),
        ("通知", "关于做好招生工作的通知", False),
        (None, "镇坪县召开教育高质量发展大会", False),
    ],
)
def test_titles_agree_when_one_headline_holds_the_other(a: str | None, b: str, agree: bool) -> None:
    assert titles_agree(a, b) is agree
