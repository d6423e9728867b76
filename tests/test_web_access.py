"""Who may use `countywatch serve`: loopback by default, the token everywhere, and nothing written."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from countywatch.cli import cli
from countywatch.commands import serve
from countywatch.web.access import AccessError, check_bind, is_loopback
from countywatch.web.app import create_app
from storage.db import open_read_only, upgrade
from tests.web_support import Site, build_site

TOKEN = "s3cret-token-for-tests"
ROUTES = [
    "/",
    "/?q=暑假",
    "/sources",
    "/subscriptions",
    "/api/articles",
    "/api/sources",
    "/static/countywatch.css",
]


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path) -> Site:
    upgrade(sqlite_url)
    return build_site(sqlite_url, tmp_path)


@pytest.fixture
def guarded(site: Site) -> Iterator[TestClient]:
    with TestClient(create_app(site.config, open_read_only(site.url), token=TOKEN)) as client:
        yield client


def _config_file(site: Site, tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(f"database: {site.url}\ndata_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    return path


def test_every_request_needs_the_token(guarded: TestClient, site: Site) -> None:
    for path in [*ROUTES, f"/articles/{site.official}", "/feeds/parents.atom"]:
        response = guarded.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "token" in response.text
        assert guarded.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        for scheme in ("Bearer", "bearer", "BEARER"):
            assert guarded.get(path, headers={"Authorization": f"{scheme} {TOKEN}"}).status_code == 200, path
        assert guarded.get(path, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401


def test_feeds_take_the_token_in_the_query_and_browsers_keep_it_in_a_cookie(guarded: TestClient) -> None:
    assert guarded.get(f"/feeds/parents.atom?token={TOKEN}").status_code == 200
    assert guarded.get("/feeds/parents.atom?token=wrong").status_code == 401
    # A page opened once with ?token= sets an HttpOnly cookie and drops the token from the URL.
    first = guarded.get(f"/?region=镇坪县&token={TOKEN}", follow_redirects=False)
    assert first.status_code == 303
    assert TOKEN not in first.headers["location"] and "region=" in first.headers["location"]
    assert "httponly" in first.headers["set-cookie"].lower()
    assert guarded.get("/sources").status_code == 200  # the client kept the cookie
    guarded.cookies.clear()
    assert guarded.get("/sources").status_code == 401


def test_loopback_needs_no_token_and_other_addresses_do() -> None:
    for host in ["127.0.0.1", "127.0.0.2", "::1", "localhost"]:
        assert is_loopback(host)
        check_bind(host, None, "COUNTYWATCH_SERVE_TOKEN")
    for host in ["0.0.0.0", "::", "192.168.1.10", "example.org"]:
        assert not is_loopback(host)
        with pytest.raises(AccessError, match="COUNTYWATCH_SERVE_TOKEN"):
            check_bind(host, None, "COUNTYWATCH_SERVE_TOKEN")
        check_bind(host, TOKEN, "COUNTYWATCH_SERVE_TOKEN")


def test_serve_refuses_0_0_0_0_without_a_token(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COUNTYWATCH_SERVE_TOKEN", raising=False)
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, **kw: started.append(kw))
    result = CliRunner().invoke(
        cli, ["serve", "--config", str(_config_file(site, tmp_path)), "--host", "0.0.0.0"]
    )
    assert result.exit_code == 1 and started == []
    assert result.output.count("\n") == 1 and "refusing to serve on 0.0.0.0" in result.output
    assert "Traceback" not in result.output


def test_serve_binds_127_0_0_1_by_default_and_other_hosts_with_a_token(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, **kw: started.append(kw))
    config = str(_config_file(site, tmp_path))
    monkeypatch.delenv("COUNTYWATCH_SERVE_TOKEN", raising=False)
    assert CliRunner().invoke(cli, ["serve", "--config", config]).exit_code == 0
    monkeypatch.setenv("COUNTYWATCH_SERVE_TOKEN", TOKEN)
    assert (
        CliRunner()
        .invoke(cli, ["serve", "--config", config, "--host", "0.0.0.0", "--port", "9999"])
        .exit_code
        == 0
    )
    assert [(s["host"], s["port"]) for s in started] == [("127.0.0.1", 8730), ("0.0.0.0", 9999)]


def _database_state(path: Path) -> tuple[str, str]:
    """The file's bytes hash and a dump of every row (checkpointed WAL included)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        dump = "\n".join(connection.iterdump())
    finally:
        connection.close()
    return hashlib.sha256(path.read_bytes()).hexdigest(), hashlib.sha256(dump.encode()).hexdigest()


def test_serving_changes_nothing_in_the_database(site: Site) -> None:
    path = Path(site.url.removeprefix("sqlite:///"))
    before = _database_state(path)
    engine = open_read_only(site.url)
    with TestClient(create_app(site.config, engine)) as client:
        for route in [*ROUTES, f"/articles/{site.official}", f"/stories/{site.story}", "/feeds/parents.atom"]:
            assert client.get(route).status_code == 200, route
        for method in (client.post, client.put, client.delete):
            assert method("/api/articles").status_code == 405
    with pytest.raises(OperationalError, match="readonly"), open_read_only(site.url).begin() as connection:
        connection.execute(text("DELETE FROM articles"))
    assert _database_state(path) == before
