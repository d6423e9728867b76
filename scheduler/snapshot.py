"""The configuration the daemon accepted, as a private file its crawl children read.

A child started with the operator's path would read whatever the file holds now, including an edit
the daemon rejected on SIGHUP: every crawl would then fail on a broken file while the daemon runs on
the good one. The daemon instead writes the configuration it holds to a file of its own (mode 0600,
replaced atomically) and gives children that path. Paths in it are absolute, so the snapshot means
the same wherever it is kept.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from core.config import Config

SNAPSHOT_DIR = "run"


def snapshot_data(config: Config) -> dict[str, Any]:
    """The configuration as plain data with every path absolute (its own folder no longer matters)."""
    data = config.model_dump(mode="json", by_alias=True)
    data["database"] = config.database_url
    data["data_dir"] = str(config.data_path.resolve())
    if config.crawl.cache_dir:
        data["crawl"]["cache_dir"] = str(config.path(config.crawl.cache_dir).resolve())
    if config.notify.digest_dir:
        data["notify"]["digest_dir"] = str(config.path(config.notify.digest_dir).resolve())
    if config.logging.file:
        data["logging"]["file"] = str(config.path(config.logging.file).resolve())
    return data


def write_snapshot(config: Config) -> Path:
    """Write the accepted configuration under <data_dir>/run/ and return the file's path."""
    text = yaml.safe_dump(snapshot_data(config), allow_unicode=True, sort_keys=False)
    folder = config.data_path / SNAPSHOT_DIR
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Named by content: a child that started on the previous configuration keeps its own file.
    path = folder / f"config-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml"
    if not path.exists():
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".config-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    _drop_old(folder, keep=path)
    return path


def _drop_old(folder: Path, keep: Path) -> None:
    # Children read their file when they start; an hour leaves any that just started ample time.
    limit = time.time() - 3600
    for old in folder.glob("config-*.yaml"):
        try:
            if old != keep and old.stat().st_mtime < limit:
                old.unlink()
        except FileNotFoundError:
            continue
