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

from replica.network import ReplicaNetwork
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
