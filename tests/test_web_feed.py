"""Atom feeds: valid per RFC 4287, stable entry ids, the same document from the route and `feed`."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from click.testing import CliRunner
from lxml import etree
from starlette.testclient import TestClient

from alerts.atom import ATOM_NS, entry_id
from countywatch.cli import cli
from countywatch.web.app import create_app
from storage.db import open_read_only, upgrade
from tests.digest_support import HOSTILE
from tests.web_support import GONE, HIRING, HOLIDAY, OFFICIAL, Site, build_site

A = f"{{{ATOM_NS}}}"
# RFC 3339 date-time (RFC 4287 section 3.3): full date, time, and "Z" or a numeric offset.
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path) -> Site:
    upgrade(sqlite_url)
    return build_site(sqlite_url, tmp_path)


def _feed(site: Site, name: str) -> bytes:
    with TestClient(create_app(site.config, open_read_only(site.url))) as client:
        response = client.get(f"/feeds/{name}.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    return response.content


def _one(parent: etree._Element, tag: str) -> etree._Element:
    found = parent.findall(A + tag)
    assert len(found) == 1, f"{parent.tag} must have exactly one atom:{tag}, has {len(found)}"
    return found[0]


def _check_text_construct(element: etree._Element) -> None:
    assert element.get("type", "text") in ("text", "html", "xhtml")
    assert (element.text or "").strip()


def _check_date(element: etree._Element) -> None:
    assert RFC3339.match(element.text or ""), element.text
    datetime.fromisoformat((element.text or "").replace("Z", "+00:00"))


def _check_iri(value: str) -> None:
    assert urlsplit(value).scheme, f"{value!r} is not an absolute IRI"


def validate_atom(document: bytes) -> etree._Element:
    """The checks of RFC 4287 section 4 that apply to what countywatch writes."""
    root = etree.fromstring(document)
    assert root.tag == A + "feed"
    _check_iri(_one(root, "id").text or "")
    _check_text_construct(_one(root, "title"))
    _check_date(_one(root, "updated"))
    feed_has_author = bool(root.findall(A + "author"))
    for author in root.findall(A + "author"):
        assert (_one(author, "name").text or "").strip()
    alternates = {
        (link.get("type"), link.get("hreflang")) for link in root.findall(A + "link[@rel='alternate']")
    }
    assert len(alternates) == len(root.findall(A + "link[@rel='alternate']"))
    ids = []
    for entry in root.findall(A + "entry"):
        ids.append(_one(entry, "id").text)
        _check_iri(ids[-1] or "")
        _check_text_construct(_one(entry, "title"))
        _check_date(_one(entry, "updated"))
        for published in entry.findall(A + "published"):
            _check_date(published)
        assert feed_has_author or entry.findall(A + "author")
        content = entry.findall(A + "content")
        assert len(content) <= 1
        if not content or content[0].get("src"):
            assert entry.findall(A + "link[@rel='alternate']") and entry.findall(A + "summary")
        for link in entry.findall(A + "link"):
            _check_iri(link.get("href") or "")
        for category in entry.findall(A + "category"):
            assert category.get("term")
    assert len(ids) == len(set(ids)), "entry ids must be unique"
    return root


def test_feed_is_valid_atom_with_new_changed_and_withdrawn_entries(site: Site) -> None:
    root = validate_atom(_feed(site, "parents"))
    entries = {e.findtext(A + "id"): e for e in root.findall(A + "entry")}
    keys = set(entries)
    assert entry_id(f"new:story:{site.story}") in keys
    assert entry_id(f"changed:article:{site.holiday}:v2") in keys
    assert entry_id(f"withdrawn:article:{site.gone}") in keys
    changed = entries[entry_id(f"changed:article:{site.holiday}:v2")]
    html = changed.findtext(A + "content") or ""
    # The diff is in the entry, its hostile text escaped inside the HTML content.
    assert "+ 7月10日起放假&lt;script&gt;" in html and HOSTILE not in html
    assert changed.find(A + "link[@rel='alternate']").get("href") == HOLIDAY
    gone = entries[entry_id(f"withdrawn:article:{site.gone}")]
    assert gone.findtext(A + "title").startswith("已撤回：") and GONE in etree.tostring(gone, encoding=str)
    assert root.find(A + "link[@rel='self']").get("href").endswith("/feeds/parents.atom")


def test_a_feed_reader_parses_it(site: Site) -> None:
    parsed = feedparser.parse(_feed(site, "parents"))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert {e.link for e in parsed.entries} >= {OFFICIAL, HOLIDAY, GONE}
    assert all(e.id.startswith("tag:countywatch,2026:alert/") for e in parsed.entries)


def test_feed_follows_the_subscription_and_ids_are_stable(site: Site) -> None:
    hiring = validate_atom(_feed(site, "hiring"))
    links = [e.find(A + "link[@rel='alternate']").get("href") for e in hiring.findall(A + "entry")]
    assert links == [HIRING]
    first = [e.findtext(A + "id") for e in validate_atom(_feed(site, "parents")).findall(A + "entry")]
    again = [e.findtext(A + "id") for e in validate_atom(_feed(site, "parents")).findall(A + "entry")]
    # Four stories (the reprint joins the first), one change, one withdrawal.
    assert first == again and len(first) == 6


def _entries(root: etree._Element) -> list[tuple[str | None, ...]]:
    return [
        (e.findtext(A + "id"), e.findtext(A + "title"), e.findtext(A + "updated"))
        for e in root.findall(A + "entry")
    ]


def test_feed_command_writes_the_same_entries(site: Site, tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"database: {site.url}\nnotify:\n  channels: {{hook: {{type: webhook, url: 'http://127.0.0.1:9/'}}}}\n"
        "  subscriptions: [{name: parents, channels: [hook], schedule: immediate}]\n",
        encoding="utf-8",
    )
    out = tmp_path / "parents.atom"
    result = CliRunner().invoke(cli, ["feed", "parents", "--config", str(config), "--output", str(out)])
    assert result.exit_code == 0, result.output
    from_file = validate_atom(out.read_bytes())
    from_route = validate_atom(_feed(site, "parents"))
    assert _entries(from_file) == _entries(from_route)
    unknown = CliRunner().invoke(cli, ["feed", "nobody", "--config", str(config)])
    assert unknown.exit_code == 1 and "no subscription named 'nobody'" in unknown.output
