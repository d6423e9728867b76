"""Workers starting together on a fresh PostgreSQL database: one migrates, the others wait."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import inspect

from storage.db import current_revision, head_revision, make_engine

# Each worker imports everything, says it is ready, then waits for the go on stdin: the three
# migrations really start together instead of one process finishing before the next has loaded.
UPGRADE = (
    "import sys; from crawler.distributed.database import upgrade_shared; "
    "print('ready', flush=True); sys.stdin.readline(); upgrade_shared(sys.argv[1])"
)


def test_workers_starting_together_migrate_once(postgres_url: str) -> None:
    # Separate processes, as workers are (alembic is not meant to run in parallel threads).
    children = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADE, postgres_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    for child in children:
        assert child.stdin is not None
        child.stdin.write(b"go\n")
        child.stdin.flush()
    results = [child.communicate(timeout=120) for child in children]
    for child, (_, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err.decode()[-2000:]
    engine = make_engine(postgres_url)
    try:
        assert current_revision(engine) == head_revision()
        assert "articles" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
