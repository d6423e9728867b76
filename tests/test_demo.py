"""End to end: `countywatch demo` as a user runs it, checked against the replica's ground truth.

One run of two crawls (the smoke test of the whole product): it must exit 0; the digest it prints
must hold every new education announcement, the edited one under "changed" and the one replaced
by a "deleted" notice under "withdrawn" (the 404/410 pages are missed once and stay active); the
HTML digest must exist with those titles escaped; and the summary it prints must agree with what
the database holds, read back with the repository functions.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import pytest
from markupsafe import escape

from replica.expected import Expected, ExpectedArticle
from replica.network import ReplicaNetwork
from storage.db import make_session_factory, open_existing
from storage.models import ALERT_KINDS
from storage.repository import ArticleFilter, alerts_for_digest, iter_articles, known_pages

pytestmark = pytest.mark.e2e

DEMO = [sys.executable, "-m", "countywatch", "demo"]
CHANGED_SECTION = "已变更的公告"  # headings of the text digest (alerts/templates/digest.txt.j2)
WITHDRAWN_SECTION = "已撤回的公告"
CRAWL_COLUMNS = (
    "crawl",
    "seconds",
    "requests",
    "304",
    "new",
    "changed",
    "dup",
    "gone",
    "withdrawn",
    "errors",
)
ALERT_COLUMNS = ("new", "changed", "withdrawn", "health")


def ground_truth() -> Expected:
    # Titles, stories and cycles do not depend on the ports a network happens to get.
    with ReplicaNetwork(slow_seconds=0) as net:
        return net.expected


def between(text: str, start: str, end: str) -> str:
    assert start in text, f"{start!r} not in the output"
    tail = text.split(start, 1)[1]
    assert end in tail, f"{end!r} not after {start!r}"
    return tail.split(end, 1)[0]


def summary_rows(output: str) -> list[dict[str, int]]:
    """The rows of the final summary table, keyed crawl.<column> and alerts.<column>."""
    table = between(output, "summary of the crawls:", "database:")
    keys = [f"crawl.{c}" for c in CRAWL_COLUMNS] + [f"alerts.{c}" for c in ALERT_COLUMNS]
    rows = []
    for line in table.splitlines():
        cells = line.split()
        if cells and cells[0].isdigit():
            assert len(cells) == len(keys), line
            rows.append({k: int(float(v)) for k, v in zip(keys, cells, strict=True)})
    return rows


def expected_sites(expected: Expected) -> set[str]:
    return {a.site for a in expected.articles}


def titles(articles: Iterable[ExpectedArticle]) -> set[str]:
    return {a.title for a in articles}


DemoRun = tuple[subprocess.CompletedProcess[str], Path]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    folder = tmp_path_factory.mktemp("demo") / "countywatch-demo"
    done = subprocess.run(
        [*DEMO, "--workdir", str(folder), "--slow-seconds", "0.5"],
        capture_output=True,
        text=True,
        timeout=150,
    )
    return done, folder


def test_demo_runs_and_shows_the_digest_and_a_summary_that_matches_the_database(demo: DemoRun) -> None:
    done, folder = demo
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    expected = ground_truth()

    # The digest on the terminal: every new education story, the edit and the withdrawals.
    digest = between(out, "as its email's text part reads:", "HTML digest written to").rsplit("\n[", 1)[0]
    assert digest.strip() == (folder / "digest.txt").read_text(encoding="utf-8").strip()
    new_part, rest = digest.split(CHANGED_SECTION, 1)
    changed_part, withdrawn_part = rest.split(WITHDRAWN_SECTION, 1)
    stories = expected.alert_stories(1) | expected.alert_stories(2)
    assert stories
    for story in stories:
        copies = titles([a for a in expected.stored(2) if a.story == story and a.must_alert])
        assert any(title in new_part for title in copies), f"new story {story} ({copies}) not in the digest"
    changed = titles([a for a in expected.changed(2) if a.must_alert])
    withdrawn = titles([a for a in expected.withdrawn(2) if a.must_alert])
    missed = [a for a in expected.gone(2) if a.withdrawn_in is not None and a.withdrawn_in > 2]
    assert changed and withdrawn and missed
    assert all(a.deleted_notice for a in expected.withdrawn(2))
    for title in changed:
        assert title in changed_part
    for title in withdrawn:
        assert title in withdrawn_part
    for title in titles(missed):
        assert title not in withdrawn_part
    unchanged = titles([a for a in expected.stored(2) if a.changed_in is None]) - changed
    assert not [t for t in unchanged if t in changed_part]

    # The HTML digest: where the demo says, a whole document, every title escaped.
    written = re.search(r"HTML digest written to (\S+)", out)
    assert written, out[-2000:]
    html_path = Path(written.group(1))
    if not html_path.is_absolute():
        html_path = Path.cwd() / html_path
    assert html_path == folder / "digest.html"
    html = html_path.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    document = lxml.html.document_fromstring(html)
    assert document.find("head/title") is not None and document.find("body") is not None
    page_text = document.text_content()
    shown = {title for title in titles(expected.stored(2)) if title in digest}
    assert changed | withdrawn <= shown
    for title in shown:
        assert str(escape(title)) in html
        assert title in page_text

    # The summary against the database, read with the repository functions.
    rows = summary_rows(out)
    assert [r["crawl.crawl"] for r in rows] == [1, 2]
    engine = open_existing(f"sqlite:///{folder / 'countywatch.db'}")
    try:
        with make_session_factory(engine)() as session:
            articles = list(iter_articles(session, ArticleFilter()))
            alerts = alerts_for_digest(
                session, since=datetime(2000, 1, 1, tzinfo=UTC), until=datetime.now(UTC), kinds=ALERT_KINDS
            )
            # By path: the ground truth comes from another network, on other ports.
            known = {
                urlsplit(url).path: page
                for site in expected_sites(expected)
                for url, page in known_pages(session, site).items()
            }
    finally:
        engine.dispose()
    withdrawn_rows = [a for a in articles if a.status == "withdrawn"]
    story_ids = {a.story_id for a in articles}
    match = re.search(r"database: (\d+) articles in (\d+) stories \((\d+) withdrawn\)\s*\n\s*next:", out)
    assert match, out[-2000:]
    assert tuple(map(int, match.groups())) == (len(articles), len(story_ids), len(withdrawn_rows))
    assert len(articles) == len(expected.stored(2))
    assert len(story_ids) == len(expected.stories(2))
    assert len(withdrawn_rows) == len(expected.withdrawn(2))
    assert len(articles) == sum(r["crawl.new"] + r["crawl.dup"] for r in rows)
    assert len(withdrawn_rows) == sum(r["crawl.withdrawn"] for r in rows)
    # Crawl 2 re-checked everything: the deleted notice withdrew at once, each 404/410 missed once.
    assert rows[1]["crawl.gone"] == len(expected.gone(2))
    for article in missed:
        page = known[urlsplit(article.url).path]
        assert (page.status, page.gone_count) == ("active", 1), article.key
    assert f"{len(missed)} pages answering 404/410 were missed once and stay active" in out
    by_kind = Counter(a.kind for a in alerts)
    for kind in ALERT_COLUMNS:
        assert sum(r[f"alerts.{kind}"] for r in rows) == by_kind[kind], kind
    assert by_kind["new"] == len(stories)
    assert by_kind["changed"] == len(changed) and by_kind["withdrawn"] == len(withdrawn)
    # Crawl 2 revalidated the unchanged list pages and feeds: they answered 304.
    assert rows[1]["crawl.304"] > 0


def test_the_demo_folder_keeps_a_configuration_the_other_commands_accept(demo: DemoRun) -> None:
    done, folder = demo
    assert done.returncode == 0, done.stderr[-3000:]
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "countywatch",
            "articles",
            "--config",
            str(folder / "sources.yaml"),
            "--format",
            "jsonl",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == len(ground_truth().stored(2))
