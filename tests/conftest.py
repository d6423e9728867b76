"""Shared fixtures: empty and migrated databases on SQLite and PostgreSQL.

`db_url` is parametrised over both backends. PostgreSQL comes from COUNTYWATCH_TEST_POSTGRES_URL
(`source scripts/services.sh; start_services`); each test gets its own fresh schema there, dropped
afterwards. Without the variable the PostgreSQL tests fail with a message saying how to start it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from storage.db import make_engine, make_session_factory, upgrade

POSTGRES_ENV = "COUNTYWATCH_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An engine on the test PostgreSQL server (fails the test when none is configured)."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.fail(
            f"{POSTGRES_ENV} is not set: run `source scripts/services.sh; start_services` first "
            "(scripts/test.sh does this)",
            pytrace=False,
        )
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL schema, dropped after the test."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with postgres_admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield postgres_admin.url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )
    with postgres_admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def sqlite_url(tmp_path: os.PathLike[str]) -> str:
    """The URL of a fresh SQLite file."""
    return f"sqlite:///{os.fspath(tmp_path)}/countywatch.db"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database, on each backend in turn."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url = request.getfixturevalue(name)
    assert isinstance(url, str)
    return url


@pytest.fixture
def migrated_url(db_url: str) -> str:
    """A database migrated to the newest revision."""
    upgrade(db_url)
    return db_url


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    """An engine on a migrated database, disposed after the test."""
    engine = make_engine(migrated_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on a migrated database; what the test does not commit is rolled back."""
    with make_session_factory(engine)() as session:
        yield session
        session.rollback()
