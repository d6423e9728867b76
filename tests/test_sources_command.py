"""`countywatch sources list|validate|health`."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from core.config import ConfigError
from core.textable import display_width
from countywatch.cli import cli
from countywatch.config import load_config
from storage.db import make_engine, make_session_factory, upgrade
from storage.repository import finish_crawl_run, start_crawl_run

SOURCES: list[dict[str, Any]] = [
    {
        "name": "zhenping",
        "region": "陕西省安康市镇坪县",
        "start_urls": ["http://www.zhenping.gov.cn/list.html"],
        "feeds": ["http://rss.zhenping.gov.cn/feed.xml"],
        "mobile_hosts": {"m.zhenping.gov.cn": "www.zhenping.gov.cn"},
        "schedule": {"interval": "6h", "jitter": "5m"},
    },
    {
        "name": "ankang",
        "kind": "education_bureau",
        "start_urls": ["https://jyj.ankang.gov.cn/"],
        "schedule": "0 8 * * *",
    },
    {"name": "old", "start_urls": ["http://old.example.cn/"], "enabled": False},
]


def _write(tmp_path, sources: list[dict] | None = None, **extra) -> str:
    data = {"database": f"sqlite:///{tmp_path / 'cw.db'}", "sources": sources or SOURCES, **extra}
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def _run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def test_list_shows_name_kind_region_schedule_and_domains(tmp_path):
    result = _run("sources", "list", "--config", _write(tmp_path))
    assert result.exit_code == 0, result.output
    header, zhenping, ankang, old = result.output.splitlines()
    assert header.split() == ["name", "kind", "region", "schedule", "domains"]
    assert zhenping.split() == [
        "zhenping", "government", "陕西省安康市镇坪县", "6h", "±5m",
        "www.zhenping.gov.cn,rss.zhenping.gov.cn,m.zhenping.gov.cn",
    ]  # fmt: skip
    assert ankang.split()[:3] == ["ankang", "education_bureau", "-"]
    assert "0 8 * * *" in ankang
    assert old.startswith("old (disabled)")


def test_list_json(tmp_path):
    result = _run("sources", "list", "--config", _write(tmp_path), "--json")
    entries = [json.loads(line) for line in result.output.splitlines()]
    assert entries[1] == {
        "name": "ankang",
        "kind": "education_bureau",
        "region": None,
        "schedule": "0 8 * * *",
        "domains": ["jyj.ankang.gov.cn"],
        "enabled": True,
    }


def test_validate_a_good_file(tmp_path):
    result = _run("sources", "validate", "--config", _write(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "warning: sources[2] (old): disabled: it is never crawled",
        "configuration OK: 3 source(s), 0 channel(s), 0 subscription(s)",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"link_selector": "div.list a["},
            "sources[0] (zhenping).link_selector: invalid CSS selector 'div.list a[': ",
        ),
        ({"link_xpath": "//a[@href"}, "sources[0] (zhenping).link_xpath: invalid XPath '//a[@href': "),
        ({"encoding": "gbk2"}, "sources[0] (zhenping).encoding: unknown encoding 'gbk2'"),
        ({"deny": ["list"]}, "sources[0] (zhenping).deny: pattern 'list' excludes the start URL"),
        (
            {"allowed_domains": ["not a host"]},
            "sources[0] (zhenping).allowed_domains: 'not a host' is not a host name",
        ),
    ],
)
def test_validate_reports_source_problems_and_exits_2(tmp_path, change, expected):
    # The loader itself refuses these, so a crawl or the daemon never runs with them.
    sources = [{**SOURCES[0], **change}, *SOURCES[1:]]
    path = _write(tmp_path, sources)
    result = _run("sources", "validate", "--config", path)
    assert result.exit_code == 2
    assert result.output.startswith("countywatch: configuration error:\n")
    assert f"{path}: {expected}" in result.output
    with pytest.raises(ConfigError, match=re.escape(f"{path}: {expected}")):
        load_config(path)


def test_validate_a_schema_error_exits_2_with_the_key_path(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: a\n    start_urls: ['ftp://x/']\n", encoding="utf-8")
    result = _run("sources", "validate", "--config", str(path))
    assert result.exit_code == 2
    assert f"{path}: sources[0] (a).start_urls: 'ftp://x/' is not an http(s) URL" in result.output


def test_validate_warns_about_unset_secret_variables_and_fails_on_a_missing_metrics_token(tmp_path):
    notify = {"channels": {"ding": {"type": "dingtalk", "url_env": "CW_TEST_UNSET_DING"}}}
    metrics = {"enabled": True, "token_env": "CW_TEST_UNSET_TOKEN"}
    result = _run("sources", "validate", "--config", _write(tmp_path, notify=notify, metrics=metrics))
    assert result.exit_code == 2
    assert (
        "warning: notify.channels.ding.url_env: environment variable CW_TEST_UNSET_DING is not set"
        in result.output
    )
    assert "error: metrics.token_env: metrics are enabled but CW_TEST_UNSET_TOKEN is not set" in result.output
    ok = _run(
        "sources",
        "validate",
        "--config",
        _write(tmp_path, metrics=metrics),
        env={"CW_TEST_UNSET_TOKEN": "t0ken"},
    )
    assert ok.exit_code == 0, ok.output


def test_health_from_the_database(tmp_path):
    config = _write(tmp_path)
    upgrade(f"sqlite:///{tmp_path / 'cw.db'}")
    engine = make_engine(f"sqlite:///{tmp_path / 'cw.db'}")
    with make_session_factory(engine)() as session, session.begin():
        run = start_crawl_run(session, "ankang")
        finish_crawl_run(session, run, {}, "blocked", "blocked: 3 (WAF challenge)")
    engine.dispose()
    result = _run("sources", "health", "--config", config)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split()[:3] == ["zhenping", "never", "crawled"]
    assert lines[2].split()[:2] == ["ankang", "blocked"]
    assert lines[2].endswith("blocked: 3 (WAF challenge)")
    entries = [
        json.loads(x) for x in _run("sources", "health", "--config", config, "--json").output.splitlines()
    ]
    assert entries[1]["health"] == "blocked"
    assert entries[1]["configured"] is True


def test_health_without_tables_is_a_one_line_error(tmp_path):
    result = _run("sources", "health", "--config", _write(tmp_path))
    assert result.exit_code == 1
    assert result.output.strip().endswith("run `countywatch db upgrade`")


def test_list_columns_line_up_with_chinese_text(tmp_path):
    header, zhenping, *_ = _run("sources", "list", "--config", _write(tmp_path)).output.splitlines()
    # 陕西省安康市镇坪县 is nine characters but eighteen columns wide.
    assert display_width(zhenping[: zhenping.index("6h")]) == display_width(
        header[: header.index("schedule")]
    )
