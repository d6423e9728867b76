"""The demo's folder: what it holds, making it ready for a run, and the configuration written into it.

A folder is only emptied when an earlier demo made it (it holds the marker file): pointing
`--workdir` at a folder of one's own must never delete anything there.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MARKER = ".countywatch-demo"
CONFIG_NAME = "sources.yaml"
DATABASE_NAME = "countywatch.db"
DATA_DIR = "data"
SUBSCRIPTION = "demo"
WEBHOOK_ENV = "COUNTYWATCH_DEMO_WEBHOOK_URL"

CONFIG_HEADER = f"""\
# Written by `countywatch demo` for the replica site network it served on 127.0.0.x.
# The network is gone when the demo ends, but the database stays: try
#   countywatch articles --config {{config}}
#   countywatch status --config {{config}}
#   countywatch digest --config {{config}} --dry-run --since 1d
# recheck_after is 1s so that the demo's next crawls re-check known articles within seconds
# (real sources use a day or more; the wait doubles with an article's age).
# To send the digest to a webhook, set {WEBHOOK_ENV}.
"""


class DemoError(Exception):
    """Something that stops the demo; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Workdir:
    """The files of one demo folder."""

    root: Path

    @property
    def config_path(self) -> Path:
        """The configuration the crawl children read."""
        return self.root / CONFIG_NAME

    @property
    def database_path(self) -> Path:
        """The SQLite database."""
        return self.root / DATABASE_NAME

    @property
    def data_path(self) -> Path:
        """The data folder: HTTP cache and archived digests."""
        return self.root / DATA_DIR

    @property
    def digest_html(self) -> Path:
        """The HTML digest (as an email would show it)."""
        return self.root / "digest.html"

    @property
    def digest_text(self) -> Path:
        """The plain-text digest (the text part of the email)."""
        return self.root / "digest.txt"

    def crawl_log(self, number: int) -> Path:
        """The log (stderr) of crawl child `number`."""
        return self.root / f"crawl-{number}.log"

    def display(self, path: Path) -> str:
        """A path as the user typed its folder: relative when the folder was given relative."""
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def previous_outputs(self) -> list[Path]:
        """What an earlier demo run left here besides the database (logs, digests, cache)."""
        found = [self.data_path, self.digest_html, self.digest_text]
        found += sorted(self.root.glob("crawl-*.log"))
        return [p for p in found if p.exists()]

    def database_files(self) -> list[Path]:
        """The database file and SQLite's WAL companions, where they exist."""
        names = [DATABASE_NAME, f"{DATABASE_NAME}-wal", f"{DATABASE_NAME}-shm"]
        return [self.root / n for n in names if (self.root / n).exists()]


def prepare_workdir(path: Path, *, keep: bool) -> Workdir:
    """Create the folder, or clear what an earlier demo left in it (its database too unless `keep`)."""
    root = path.expanduser().absolute()
    workdir = Workdir(root)
    if root.exists() and not root.is_dir():
        raise DemoError(f"--workdir {path}: exists and is not a folder")
    if root.is_dir() and any(root.iterdir()) and not (root / MARKER).exists():
        raise DemoError(
            f"--workdir {path}: the folder is not empty and was not made by `countywatch demo`; "
            "choose a new or empty folder"
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / MARKER).write_text("made by countywatch demo; the demo may empty this folder\n")
        stale = workdir.previous_outputs() + ([] if keep else workdir.database_files())
        for item in stale:
            if item.is_dir():
                shutil.rmtree(item)
            else:
                item.unlink()
    except OSError as exc:
        raise DemoError(f"--workdir {path}: {exc.strerror or exc}") from None
    return workdir


def demo_config(network_config: dict[str, Any]) -> dict[str, Any]:
    """The replica network's configuration, made for the demo: relative paths, a subscription.

    The database and data folder are given relative to the file, so the folder can be moved.
    The HTTP cache is on so later crawls revalidate with conditional GETs (304s), and a short
    re-check interval lets crawl 2 find the edited and vanished articles without waiting a day.
    Extraction runs in the crawl process: a few dozen pages do not repay starting workers.
    """
    config = dict(network_config)
    config["database"] = f"sqlite:///{DATABASE_NAME}"
    config["data_dir"] = DATA_DIR
    config["crawl"] = {
        **config.get("crawl", {}),
        "http_cache": True,
        "recheck_after": "1s",
        "extract_workers": 0,
    }
    config["notify"] = {
        "channels": {"demo-webhook": {"type": "webhook", "url_env": WEBHOOK_ENV}},
        "subscriptions": [
            {
                "name": SUBSCRIPTION,
                "channels": ["demo-webhook"],
                "schedule": "immediate",
                "topics": ["education"],
            }
        ],
    }
    return config


def write_config(workdir: Workdir, config: dict[str, Any]) -> Path:
    """Write the configuration as YAML, with a header saying what it is for."""
    body = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    header = CONFIG_HEADER.format(config=workdir.display(workdir.config_path))
    try:
        workdir.config_path.write_text(header + body, encoding="utf-8")
    except OSError as exc:
        raise DemoError(f"cannot write {workdir.config_path}: {exc.strerror or exc}") from None
    return workdir.config_path
