"""Fixtures of the fault-injection suite: fresh databases on both backends, the replica network,
and the clean crawl every killed-and-resumed crawl is compared with."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from replica.network import ReplicaNetwork
from tests.faults.crawl_harness import SLOW, CleanRun, crawl, snapshot, write_config

NewDatabase = Callable[[Path], str]


@pytest.fixture(scope="module")
def replica() -> Iterator[ReplicaNetwork]:
    """The replica site network, at cycle 1 for the whole module (crawls do not change it)."""
    with ReplicaNetwork(slow_seconds=SLOW) as net:
        yield net


@pytest.fixture(scope="module")
def new_database(request: pytest.FixtureRequest) -> Iterator[Callable[[str, Path], str]]:
    """A factory of fresh empty databases: `new_database(backend, folder)` -> URL.

    PostgreSQL databases are schemas of the test server, dropped at the end of the module.
    """
    schemas: list[str] = []
    admin: Engine | None = None

    def make(backend: str, folder: Path) -> str:
        nonlocal admin
        if backend == "sqlite":
            folder.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{folder / 'countywatch.db'}"
        if admin is None:
            admin = request.getfixturevalue("postgres_admin")
        schema = f"f_{uuid.uuid4().hex[:16]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    yield make
    if admin is not None:
        with admin.connect() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of the test."""
    return str(request.param)


@pytest.fixture(scope="module")
def clean_runs(
    replica: ReplicaNetwork,
    new_database: Callable[[str, Path], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], CleanRun]:
    """Per backend, a clean crawl (measured once): what it stored and the requests it made."""
    done: dict[str, CleanRun] = {}

    def clean(backend: str) -> CleanRun:
        if backend not in done:
            folder = tmp_path_factory.mktemp(f"clean-{backend}")
            url = new_database(backend, folder)
            replica.requests.clear()
            crawl(write_config(replica, folder, url))
            requested = tuple(replica.sites[r.site].base_url + r.path for r in replica.requests.records())
            done[backend] = CleanRun(snapshot(url), requested)
        return done[backend]

    return clean
