"""The accepted configuration the daemon hands its crawl children: the same settings, from anywhere."""

from __future__ import annotations

import stat
from datetime import timedelta

from countywatch.config import load_config
from scheduler.snapshot import write_snapshot

CONFIG = """\
database: sqlite:///data/cw.db
data_dir: state
crawl: {cache_dir: cache, time_limit: 20m}
logging: {json: true, file: logs/cw.log}
sources:
  - name: 镇坪县教体局
    start_urls: [http://127.0.0.1:8001/]
    schedule: {interval: 2h, timezone: UTC}
    encoding: gbk
notify:
  digest_dir: digests
  channels:
    hook: {type: webhook, url: "http://127.0.0.1:9/h", headers_env: {Authorization: HOOK_AUTH}}
  subscriptions:
    - {name: 家长, channels: [hook], schedule: "daily 08:00"}
"""


def test_the_snapshot_reads_back_as_the_same_configuration_with_absolute_paths(tmp_path):
    (tmp_path / "etc").mkdir()
    original = tmp_path / "etc" / "sources.yaml"
    original.write_text(CONFIG, encoding="utf-8")
    config = load_config(original)
    path = write_snapshot(config)
    assert path.parent == tmp_path / "etc" / "state" / "run"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    copy = load_config(path)
    assert copy.model_dump(
        exclude={"database", "data_dir", "crawl", "logging", "notify"}
    ) == config.model_dump(exclude={"database", "data_dir", "crawl", "logging", "notify"})
    assert copy.database_url == config.database_url == f"sqlite:///{tmp_path / 'etc' / 'data' / 'cw.db'}"
    assert copy.data_path == config.data_path
    assert copy.path(copy.crawl.cache_dir or "") == tmp_path / "etc" / "cache"
    assert copy.path(copy.notify.digest_dir or "") == tmp_path / "etc" / "digests"
    assert copy.path(copy.logging.file or "") == tmp_path / "etc" / "logs" / "cw.log"
    assert copy.logging.json_format is True and copy.crawl.time_limit == timedelta(minutes=20)
    assert copy.notify == config.notify.model_copy(update={"digest_dir": str(tmp_path / "etc" / "digests")})
    # The same configuration gives the same file; a changed one a new file beside it.
    assert write_snapshot(config) == path
    other = load_config(original).model_copy(update={"database": "sqlite:///other.db"})
    assert write_snapshot(other) != path and path.exists()
