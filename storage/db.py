"""Engines, sessions and migrations: the one place that knows how to open the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Insert, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
SQLITE_BUSY_TIMEOUT_MS = 30_000
# The newest migration under migrations/versions. Every crawl, tick and digest checks the database
# against it with one query, where asking alembic costs a quarter of a second of imports and script
# loading; tests/test_storage_migrations.py fails when a new migration is added and this is not updated.
HEAD_REVISION = "0007"


class StorageError(Exception):
    """A database that cannot be used as asked; the message is one line for the user."""


def insert_row(connection: Connection, statement: Insert, values: dict[str, Any]) -> int:
    """Run a one-row INSERT; the new row's id (RETURNING on PostgreSQL, the last rowid on SQLite)."""
    key = connection.execute(statement, values).inserted_primary_key
    assert key is not None
    return int(key[0])


def _json_dumps(value: Any) -> str:
    # Chinese stays readable in the database instead of \\u escapes.
    return json.dumps(value, ensure_ascii=False)


def _sqlite_on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin: savepoints need it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # Writers take the write lock when they begin, so a busy database makes them wait (busy
    # timeout) instead of failing when a read-then-write transaction finds its snapshot stale.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def make_engine(url: str, *, read_only: bool = False, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys on every connection.

    On SQLite every transaction takes the write lock at its start unless `read_only` is set; use
    `read_only=True` for long reads (exports) so they never hold writers up.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, json_serializer=_json_dumps, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin_deferred if read_only else _sqlite_begin_immediate)
        return engine
    return create_engine(parsed, json_serializer=_json_dumps, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (they are plain records to callers)."""
    return sessionmaker(engine, expire_on_commit=False)


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def _alembic_config() -> AlembicConfig:
    # alembic (with mako and pygments) is imported only when migrating or asked about revisions.
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return cfg


def head_revision() -> str:
    """The newest migration this code knows, as alembic finds it in the migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (alembic upgrade)."""
    from alembic import command

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cfg = _alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def ensure_current(url: str) -> None:
    """Migrate the database to the head revision unless it is there already.

    The check is one query; only a database that is behind (or new) pays for alembic.
    """
    engine = make_engine(url)
    try:
        current = stored_revision(engine)
    finally:
        engine.dispose()
    if current != HEAD_REVISION:
        upgrade(url)


def downgrade(url: str, revision: str) -> None:
    """Undo migrations down to `revision` ("base" empties the database of countywatch tables)."""
    from alembic import command

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cfg = _alembic_config()
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, revision)
    finally:
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty database), as alembic reads it."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def stored_revision(engine: Engine) -> str | None:
    """The revision in alembic's version table, read with plain SQL (None: no table or no row).

    More than one row (a branched history) reads as None, so the caller falls back to alembic.
    """
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def require_current(engine: Engine) -> None:
    """Raise StorageError unless the database is migrated to the head revision."""
    current = stored_revision(engine)
    if current is None:
        current = current_revision(engine)
    if current is None:
        raise StorageError(
            f"database {display_url(str(engine.url))} has no countywatch tables: run `countywatch db upgrade`"
        )
    if current != HEAD_REVISION:
        raise StorageError(
            f"database {display_url(str(engine.url))} is at revision {current}, not {HEAD_REVISION}: "
            "run `countywatch db upgrade`"
        )


def error_reason(exc: SQLAlchemyError) -> str:
    """The first line of the driver's message: what a user needs, without SQL or a traceback."""
    original = getattr(exc, "orig", None) or exc
    return (str(original).strip().splitlines() or [type(original).__name__])[0]


def missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database file that does not exist yet (None otherwise)."""
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:" or Path(path).is_file():
        return None
    return path


def _sqlite_read_only_on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # Belt and braces over mode=ro: even a statement that slipped through could not write.
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def make_read_only_engine(url: str, **kwargs: Any) -> Engine:
    """An engine that cannot write: SQLite opened with mode=ro, PostgreSQL read-only transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "").resolve()
        # The sqlite3 module takes a URI only with uri=true; mode=ro makes the file itself read-only.
        ro_url = parsed.set(database=f"file:{path}?mode=ro", query={"uri": "true"})
        engine = create_engine(ro_url, json_serializer=_json_dumps, **kwargs)
        event.listen(engine, "connect", _sqlite_read_only_on_connect)
        event.listen(engine, "begin", _sqlite_begin_deferred)
        return engine
    given = parsed.query.get("options")
    # No JIT: the web's queries are short, and compiling them costs more than it saves (tens of ms).
    ours = ["-c default_transaction_read_only=on", "-c jit=off"]
    options = " ".join([*([given] if isinstance(given, str) else given or ()), *ours])
    ro = parsed.update_query_dict({"options": options})
    return create_engine(ro, json_serializer=_json_dumps, pool_pre_ping=True, **kwargs)


def open_read_only(url: str) -> Engine:
    """A read-only engine on a database that exists and is migrated; StorageError otherwise."""
    missing = missing_sqlite_file(url)
    if missing is not None:
        raise StorageError(f"database file {missing} does not exist: run `countywatch db upgrade`")
    engine = make_read_only_engine(url)
    try:
        require_current(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StorageError(f"cannot read database {display_url(url)}: {error_reason(exc)}") from None
    except StorageError:
        engine.dispose()
        raise
    return engine


def open_existing(url: str, *, read_only: bool = False) -> Engine:
    """An engine on a database that exists and is migrated; StorageError (one line) otherwise."""
    missing = missing_sqlite_file(url)
    if missing is not None:
        raise StorageError(f"database file {missing} does not exist: run `countywatch db upgrade`")
    engine = make_engine(url, read_only=read_only)
    try:
        require_current(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StorageError(f"cannot read database {display_url(url)}: {error_reason(exc)}") from None
    except StorageError:
        engine.dispose()
        raise
    return engine
