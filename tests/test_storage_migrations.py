"""Migrations: `alembic upgrade head` on an empty database gives exactly the models' schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from storage.db import (
    HEAD_REVISION,
    current_revision,
    downgrade,
    ensure_current,
    head_revision,
    make_engine,
    require_current,
    stored_revision,
    upgrade,
)
from storage.models import Base
from storage.search import include_name


def test_upgrade_creates_every_table_at_head(migrated_url: str) -> None:
    engine = make_engine(migrated_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert "alembic_version" in tables
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(migrated_url: str) -> None:
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": include_name}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless(migrated_url: str) -> None:
    upgrade(migrated_url)
    engine = make_engine(migrated_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_empty_database_has_no_revision(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def test_constraints_have_explicit_names(migrated_url: str) -> None:
    engine = make_engine(migrated_url)
    try:
        inspector = inspect(engine)
        assert inspector.get_unique_constraints("alerts")[0]["name"] == "uq_alerts_key"
        fks = {fk["name"] for fk in inspector.get_foreign_keys("stories")}
        assert fks == {"fk_stories_canonical_article_id_articles", "fk_stories_first_article_id_articles"}
        assert inspector.get_pk_constraint("articles")["name"] == "pk_articles"
    finally:
        engine.dispose()


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    finally:
        engine.dispose()


def test_downgrade_to_base_and_back(migrated_url: str) -> None:
    downgrade(migrated_url, "base")
    engine = make_engine(migrated_url)
    try:
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) & set(Base.metadata.tables) == set()
    finally:
        engine.dispose()
    upgrade(migrated_url)


def test_head_revision_constant_is_the_newest_migration() -> None:
    # A new migration must move HEAD_REVISION with it, or crawls would skip migrating.
    assert head_revision() == HEAD_REVISION


def test_stored_revision_reads_what_alembic_reads(migrated_url: str, db_url: str) -> None:
    for url in (migrated_url, db_url):
        engine = make_engine(url)
        try:
            assert stored_revision(engine) == current_revision(engine)
        finally:
            engine.dispose()


def test_ensure_current_migrates_a_database_that_is_behind(migrated_url: str) -> None:
    downgrade(migrated_url, "0005")
    ensure_current(migrated_url)
    engine = make_engine(migrated_url)
    try:
        assert current_revision(engine) == HEAD_REVISION
        require_current(engine)
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
    finally:
        engine.dispose()


def test_ensure_current_creates_the_schema_of_an_empty_database(db_url: str) -> None:
    ensure_current(db_url)
    engine = make_engine(db_url)
    try:
        assert stored_revision(engine) == HEAD_REVISION
    finally:
        engine.dispose()
