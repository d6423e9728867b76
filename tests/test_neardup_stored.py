"""StoredNearDupIndex: the near-duplicate index as rows of neardup_bands, on SQLite and PostgreSQL.

It must find what the in-memory NearDupIndex finds (same candidates, same estimates) on the
labelled set, follow the dedupe window, and commit or roll back with the articles it indexes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from crawler.article import Article as Record
from crawler.dedupe.fingerprint import MinHashSignature, minhash_signature
from storage.models import Article, NearDupBand
from storage.neardup import CANDIDATE_THRESHOLD, NearDupIndex
from storage.neardup_stored import StoredNearDupIndex, band_keys, index_stored_signatures, prune
from storage.repository import ingest_article
from tests.storage_builders import SOURCES, T0, make_article
from tests.test_neardup import read_jsonl

WINDOW = timedelta(days=180)
# The first documents of the labelled set (with near-duplicates among them): stored on both
# backends per test, so not all of it; bench/dedup.py measures the whole set.
LABELLED = 160


@pytest.fixture(scope="module")
def labelled() -> tuple[list[dict[str, Any]], list[MinHashSignature]]:
    docs = read_jsonl("docs.jsonl")[:LABELLED]
    return docs, [minhash_signature(doc["text"]) for doc in docs]


def store(session: Session, docs: list[dict[str, Any]]) -> list[int]:
    """Each labelled document as a stored article, indexed in the table; their ids, in order."""
    index = StoredNearDupIndex(session)
    ids = []
    for number, doc in enumerate(docs):
        record = Record(title=doc["title"], text=doc["text"], published_at="2024-03-01")
        result = ingest_article(
            session,
            record,
            source=SOURCES["government"],
            fetched_url=f"http://a.gov.cn/art/{number}.html",
            index=index,
            now=T0,
        )
        ids.append(result.article_id)
    session.commit()
    return ids


def test_finds_what_the_in_memory_index_finds_on_the_labelled_set(session: Session, labelled: Any) -> None:
    docs, sigs = labelled
    ids = store(session, docs)
    memory = NearDupIndex()
    for doc_id, sig in zip(ids, sigs, strict=True):
        memory.add(doc_id, sig)
    stored = StoredNearDupIndex(session, since=T0 - WINDOW)
    matched = 0
    for sig in sigs:
        for threshold in (None, 0.5, CANDIDATE_THRESHOLD):
            ours = stored.query(sig, threshold)
            theirs = memory.query(sig, threshold)
            assert [doc for doc, _ in ours] == [doc for doc, _ in theirs]
            assert [score for _, score in ours] == pytest.approx([score for _, score in theirs])
            matched += len(ours) > 1
    assert matched > 0  # the set has near-duplicates among its first documents


def test_queries_only_articles_within_the_window_and_prunes_the_rest(session: Session) -> None:
    def add(name: str, days: int, url: str) -> int:
        return ingest_article(
            session,
            make_article(name),
            source=SOURCES["government"],
            fetched_url=url,
            index=StoredNearDupIndex(session),
            now=T0 + timedelta(days=days),
        ).article_id

    old = add("zhenping", 0, "http://a.gov.cn/1.html")
    recent = add("dongqu", 200, "http://a.gov.cn/2.html")
    session.commit()
    since = T0 + timedelta(days=20)
    for article_id, name in ((old, "zhenping"), (recent, "dongqu")):
        sig = minhash_signature(make_article(name).text)
        everything = StoredNearDupIndex(session).query(sig)
        windowed = StoredNearDupIndex(session, since=since).query(sig)
        assert article_id in {doc for doc, _ in everything}
        assert (article_id in {doc for doc, _ in windowed}) == (article_id == recent)
    assert prune(session, since) > 0
    indexed = set(session.scalars(select(NearDupBand.article_id).distinct()))
    assert indexed == {recent}
    assert prune(session, since) == 0  # nothing left out of the window


def test_bands_roll_back_with_their_article(session: Session) -> None:
    index = StoredNearDupIndex(session)
    sig = minhash_signature(make_article("zhenping").text)
    with pytest.raises(RuntimeError), session.begin_nested():
        ingest_article(
            session,
            make_article("zhenping"),
            source=SOURCES["government"],
            fetched_url="http://a.gov.cn/1.html",
            index=index,
            now=T0,
        )
        assert index.query(sig)  # visible inside the transaction that wrote it
        raise RuntimeError("the store of this page failed after its bands were written")
    session.commit()
    assert session.scalar(select(func.count()).select_from(NearDupBand)) == 0
    assert index.query(sig) == []


def test_a_changed_article_is_indexed_by_its_new_text(session: Session) -> None:
    def put(name: str) -> int:
        return ingest_article(
            session,
            make_article(name),
            source=SOURCES["government"],
            fetched_url="http://a.gov.cn/1.html",
            index=StoredNearDupIndex(session),
            now=T0,
        ).article_id

    first = put("zhenping")
    assert put("dongqu") == first  # the same URL with another text: a new version
    session.commit()
    index = StoredNearDupIndex(session)
    assert index.query(minhash_signature(make_article("zhenping").text)) == []
    assert [doc for doc, _ in index.query(minhash_signature(make_article("dongqu").text))] == [first]
    stored = set(session.scalars(select(NearDupBand.band).where(NearDupBand.article_id == first)))
    assert stored == set(band_keys(minhash_signature(make_article("dongqu").text)))


def test_the_migration_indexes_signatures_stored_before_it(session: Session) -> None:
    ids = [
        ingest_article(
            session, make_article(name), source=SOURCES["government"], fetched_url=url, now=T0
        ).article_id
        for name, url in (("zhenping", "http://a.gov.cn/1.html"), ("dongqu", "http://a.gov.cn/2.html"))
    ]
    session.execute(delete(NearDupBand))  # as before the table existed
    assert index_stored_signatures(session.connection()) == 2
    session.commit()
    for article_id in ids:
        blob = session.scalar(select(Article.signature).where(Article.id == article_id))
        assert blob is not None
        found = StoredNearDupIndex(session).query(MinHashSignature.from_bytes(blob))
        assert [doc for doc, _ in found] == [article_id]
