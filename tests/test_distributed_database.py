"""Workers starting together on a fresh PostgreSQL database: one migrates, the others wait."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import inspect

from storage.db import current_revision, head_revision, make_engine

UPGRADE = "import sys; from crawler.distributed.database import upgrade_shared; upgrade_shared(sys.argv[1])"


def test_workers_starting_together_migrate_once(postgres_url: str) -> None:
    # Separate processes, as workers are (alembic is not meant to run in parallel threads).
    children = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADE, postgres_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    results = [child.communicate(timeout=120) for child in children]
    for child, (_, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err.decode()[-2000:]
    engine = make_engine(postgres_url)
    try:
        assert current_revision(engine) == head_revision()
        assert "articles" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
