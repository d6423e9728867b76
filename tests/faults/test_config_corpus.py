"""The configuration corpus: malformed files, each refused with its one-line message, never a traceback.

Every file in config_corpus/ goes through the loader (as `run`, `crawl` and the daemon's reload
read it, data folders checked) and through `countywatch sources validate`; both must give the
message config_corpus/expected.yaml holds for it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from core.config import ConfigError
from countywatch.cli import cli
from countywatch.config import load_config

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "config_corpus"
EXPECTED: dict[str, str] = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
FILES = sorted(p for p in CORPUS.glob("*.yaml") if p.name != "expected.yaml")


def _expected(path: Path) -> str:
    # str.replace, not format: messages quote YAML braces.
    return EXPECTED[path.name].replace("{file}", str(path))


def test_the_corpus_is_complete():
    assert len(FILES) >= 50
    assert {p.name for p in FILES} == set(EXPECTED)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_loader_refuses_the_file_with_its_one_line_message(path):
    with pytest.raises(ConfigError) as info:
        load_config(path, writable=True)
    assert str(info.value) == _expected(path)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_sources_validate_exits_2_with_the_message(path):
    result = CliRunner().invoke(cli, ["sources", "validate", "--config", str(path)])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2
    assert result.output == f"countywatch: configuration error:\n{_expected(path)}\n"


@pytest.mark.parametrize("name", ["yaml_deep_list", "yaml_huge_integer", "schedule_99999999999w"])
def test_the_command_in_its_own_process_prints_no_traceback(name):
    # The three files of the issue, with the interpreter's real recursion and integer limits.
    path = CORPUS / f"{name}.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "countywatch", "sources", "validate", "--config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == f"countywatch: configuration error:\n{_expected(path)}\n"


def test_one_pass_reports_every_error_of_a_file(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "data_dir: /proc/countywatch\n"
        "surprise: 1\n"
        "sources:\n"
        "  - name: zhenping\n"
        "    start_urls: [http://www.zhenping.gov.cn/]\n"
        "    link_selector: 'ul a['\n"
        "    encoding: gbk2312\n"
        "    schedule: {interval: 6h, timezone: Mars/Olympus}\n"
        "  - name: zhenping\n"
        "    start_urls: [http://jyj.zhenping.gov.cn/]\n"
        "notify:\n"
        "  channels: {hook: {type: webhook, url: 'http://127.0.0.1:9/h'}}\n"
        "  subscriptions:\n"
        "    - {name: parents, channels: [mail], topics: [sports]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, writable=True)
    where = [line.removeprefix(f"{path}: ").split(":")[0] for line in str(info.value).splitlines()]
    assert sorted(where) == sorted(
        [
            "surprise",
            "sources[0] (zhenping).link_selector",
            "sources[0] (zhenping).encoding",
            "sources[0] (zhenping).schedule.timezone",
            "sources[1] (zhenping).name",
            "notify.subscriptions[0] (parents).channels",
            "notify.subscriptions[0] (parents).topics",
            "data_dir",
        ]
    )
