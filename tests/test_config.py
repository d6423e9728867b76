"""Configuration validation: every bad file gives one line naming the file, the key path and the problem."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from core.config import ConfigError
from countywatch.config import config_from_dict, load_config

CASES = yaml.safe_load(
    (Path(__file__).parent / "fixtures" / "config" / "bad_files.yaml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_file_is_rejected_with_file_key_path_and_problem(case, tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_bytes(case["text"].encode(case.get("encoding", "utf-8")))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message == case["error"].format(file=path)
    assert "\n" not in message


def test_a_file_with_several_problems_gives_one_line_each(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("databse: x\ncrawl: {time_limit: never, retries: -1}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert f"{path}: databse: unknown key" in lines


def test_missing_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read the configuration file: No such file"):
        load_config(path)


def test_empty_file_means_defaults(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("", encoding="utf-8")
    config = load_config(path)
    assert config.sources == []
    assert config.database_url == f"sqlite:///{tmp_path / 'countywatch.db'}"


def test_relative_paths_are_taken_from_the_files_folder(tmp_path):
    (tmp_path / "etc").mkdir()
    path = tmp_path / "etc" / "sources.yaml"
    path.write_text("database: sqlite:///data/cw.db\ndata_dir: state\n", encoding="utf-8")
    config = load_config(path)
    assert config.database_url == f"sqlite:///{tmp_path / 'etc' / 'data' / 'cw.db'}"
    assert config.data_path == tmp_path / "etc" / "state"


def test_config_from_the_environment_variable(tmp_path, monkeypatch):
    path = tmp_path / "elsewhere.yaml"
    path.write_text("sources: [{name: a, start_urls: ['http://127.0.0.1/']}]\n", encoding="utf-8")
    monkeypatch.setenv("COUNTYWATCH_CONFIG", str(path))
    assert [s.name for s in load_config().sources] == ["a"]


def test_durations_are_read_once_into_timedeltas_and_written_back_as_the_file_writes_them(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "crawl: {time_limit: 90m, recheck_after: 2d, dedupe_window: 26w, extract_time_limit: 1.5s}\n"
        "notify: {claim_lease: 3600, retry: {backoff: 45s}}\n"
        "sources: [{name: a, start_urls: ['http://127.0.0.1/'], schedule: {interval: 6h, jitter: 5m}}]\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.crawl.time_limit == timedelta(minutes=90)
    assert config.crawl.recheck_after == timedelta(days=2)
    assert config.crawl.dedupe_window == timedelta(weeks=26)
    assert config.crawl.extract_time_limit == timedelta(seconds=1.5)
    assert config.notify.claim_lease == timedelta(hours=1)  # a bare number is seconds
    assert config.notify.retry.backoff == timedelta(seconds=45)
    assert config.sources[0].schedule.interval == timedelta(hours=6)
    assert config.sources[0].schedule.describe() == "6h ±5m"
    dumped = config.model_dump(mode="json", by_alias=True)
    assert dumped["crawl"]["time_limit"] == "90m"
    assert dumped["crawl"]["dedupe_window"] == "26w"
    assert dumped["crawl"]["extract_time_limit"] == "1.5s"
    assert dumped["notify"]["claim_lease"] == "1h"
    assert dumped["crawl"]["tick"] == "1m"  # a default, written as the docs show it
    # What is written back reads back the same.
    assert config_from_dict(dumped).crawl == config.crawl


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("crawl: {tick: soon}", "crawl.tick: invalid duration 'soon' (use e.g. 45s, 30m, 6h, 1d, 1w)"),
        ("crawl: {recheck_max: 20000d}", "crawl.recheck_max: duration '20000d' is longer than 3650 days"),
        ("notify: {retry: {every: 0s}}", "notify.retry.every: every '0s' is shorter than one second"),
        (
            "distributed: {seen_ttl: -5}",
            "distributed.seen_ttl: duration must be between 0 and 3650 days, got -5",
        ),
    ],
)
def test_a_bad_duration_names_the_key_and_the_value(tmp_path, text, error):
    path = tmp_path / "sources.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: {error}"
