"""Configuration validation: every bad file gives one line naming the file, the key path and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from countywatch.config import ConfigError, load_config

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
