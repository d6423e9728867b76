"""SIGKILL of `countywatch crawl` at moments taken from a clean run, then a recrawl: the database
ends up exactly as after a clean crawl (same URLs, stories and alerts), on SQLite and PostgreSQL.

The moments, each found by polling (the HTTP cache, the replica's request log, the database):
- the first list page written to the HTTP cache;
- every page the clean run reached by following pagination served (its articles not yet stored:
  a list page must not count as "seen" by the next crawl before what it links to is stored);
- a third of the clean run's responses served;
- half of the clean run's articles stored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.dedupe.fingerprint import MinHashSignature
from replica.network import ReplicaNetwork
from storage.db import make_engine, make_session_factory
from storage.models import Article, ArticleVersion, NearDupBand
from storage.neardup_stored import band_keys
from tests.faults.crawl_harness import (
    CleanRun,
    cached_pages,
    crawl,
    kill_at,
    served,
    snapshot,
    start_crawl,
    stored_articles,
    write_config,
)

pytestmark = pytest.mark.e2e

MOMENTS = ("first-list-page-cached", "next-pages-served", "third-of-responses", "half-of-articles-stored")


def _moment(name: str, folder: Path, url: str, net: ReplicaNetwork, clean: CleanRun) -> Callable[[], bool]:
    if name == "first-list-page-cached":
        return lambda: cached_pages(folder) >= 1
    if name == "next-pages-served":
        pages = clean.next_pages(net)
        assert pages, "the clean run followed no pagination"
        return lambda: pages <= set(served(net))
    if name == "third-of-responses":
        return lambda: len(net.requests) >= len(clean.requested) // 3
    return lambda: stored_articles(url) >= len(clean.stored.urls) // 2


@pytest.mark.parametrize("moment", MOMENTS)
def test_killed_crawl_then_recrawl_equals_a_clean_crawl(
    moment: str,
    backend: str,
    replica: ReplicaNetwork,
    new_database: Callable[[str, Path], str],
    clean_runs: Callable[[str], CleanRun],
    tmp_path: Path,
) -> None:
    clean = clean_runs(backend).stored
    assert clean.urls and clean.alerts  # the clean crawl stored and alerted something to compare with
    url = new_database(backend, tmp_path)
    config = write_config(replica, tmp_path, url)
    replica.requests.clear()
    proc = start_crawl(config, tmp_path / "killed.log")
    killed = kill_at(proc, _moment(moment, tmp_path, url, replica, clean_runs(backend)), moment)
    assert killed, f"the crawl ended before the moment {moment!r}"

    crawl(config)
    after = snapshot(url)
    lost = after.lost_urls(clean)
    assert not lost, f"{len(lost)} articles lost: {sorted(lost)}"
    assert after.urls == clean.urls
    assert after.stories == clean.stories
    assert after.alert_counts() == clean.alert_counts()


def _batches_handed(log: Path) -> int:
    """Batches the crawl's store writer has taken from its queue (its debug line, before it writes)."""
    try:
        return log.read_text(encoding="utf-8", errors="replace").count("storing a batch of")
    except FileNotFoundError:
        return 0


def _stored_once(url: str) -> tuple[int, int, int]:
    """Article rows, article versions, and articles whose neardup bands are not their signature's."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.execute(select(Article.id, Article.signature)).all()
            versions = session.scalar(select(func.count()).select_from(ArticleVersion)) or 0
            bands: dict[int, set[int]] = {}
            for band, article_id in session.execute(select(NearDupBand.band, NearDupBand.article_id)):
                bands.setdefault(article_id, set()).add(band)
    finally:
        engine.dispose()
    wrong = sum(
        bands.pop(article_id, set()) != (set(band_keys(MinHashSignature.from_bytes(sig))) if sig else set())
        for article_id, sig in rows
    )
    return len(rows), int(versions), wrong + len(bands)


def test_killed_while_the_store_writer_holds_a_batch_then_recrawl_stores_each_article_once(
    backend: str,
    replica: ReplicaNetwork,
    new_database: Callable[[str, Path], str],
    clean_runs: Callable[[str], CleanRun],
    tmp_path: Path,
) -> None:
    clean = clean_runs(backend).stored
    url = new_database(backend, tmp_path)
    # DEBUG: the writer says when it takes a batch
    config = write_config(replica, tmp_path, url, log_level="DEBUG")
    log = tmp_path / "killed.log"
    proc = start_crawl(config, log)
    # Killed as the writer takes its second batch: the first committed, this one in hand. (The
    # writer process starts with the first batch, so the pages that come meanwhile make the
    # second batch a large one: the replica's articles fill two or three.)
    killed = kill_at(proc, lambda: _batches_handed(log) >= 2, "the store writer's second batch")
    assert killed, "the crawl ended before its store writer took two batches"
    before = stored_articles(url)
    assert before < len(clean.urls)  # the kill came before the crawl had stored everything

    crawl(config)
    after = snapshot(url)
    assert after.urls == clean.urls and after.stories == clean.stories
    assert after.alert_counts() == clean.alert_counts()
    articles, versions, inconsistent = _stored_once(url)
    assert articles == versions == len(clean.urls)  # each article stored once, in one version
    assert inconsistent == 0  # the index holds exactly the stored articles' bands
