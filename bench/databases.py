"""Throwaway databases for the benchmarks: a SQLite file in a temporary folder, a fresh PostgreSQL schema."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from storage.db import make_engine


@contextmanager
def sqlite_url(prefix: str = "bench-") -> Iterator[str]:
    """The URL of a SQLite file that is deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        yield f"sqlite:///{folder}/bench.db"


@contextmanager
def postgres_schema_url(base: str, prefix: str = "bench") -> Iterator[str]:
    """The URL of a new schema on the server `base` names; the schema is dropped afterwards."""
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield admin.url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
