"""`countywatch crawl`: its table, and one-line errors for what the user got wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from countywatch.cli import cli
from countywatch.commands.crawl import format_table
from crawler.runtime.health import SourceStats
from crawler.runtime.runner import CycleReport, SourceReport

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def test_table_has_a_row_per_source_and_names_the_errors() -> None:
    report = CycleReport(T0, T0 + timedelta(seconds=12.5), "finished", 40, 9, 1, 3.5)
    report.sources.append(SourceReport("zhenping", SourceStats(list_pages=3, links_found=20, new=2), "ok"))
    failing = SourceStats(errors={"http_5xx": 3, "timeout": 1})
    report.sources.append(SourceReport("dongqu", failing, "failing", "http_5xx: 3, timeout: 1"))
    lines = format_table(report).splitlines()
    header = "source pages 304 links fetched new changed dup unchanged gone errors health"
    assert lines[0].split() == header.split()
    assert lines[1].split() == ["zhenping", "3", "0", "20", "0", "2", "0", "0", "0", "0", "0", "ok"]
    assert lines[2].split()[-2:] == ["4", "failing"]
    assert lines[3] == "40 requests (9 not modified) in 12.5s; finished: finished"
    assert lines[4] == "  dongqu: http_5xx: 3, timeout: 1"


# Through the group, as users run it: invoked on its own, click would cache the command's help
# option without the group's -h, and docs/commands.md would then render differently in this process.


def test_unknown_source_is_a_one_line_error(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(
        "sources:\n  - name: zhenping\n    start_urls: ['http://127.0.0.1:9/']\n", encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["crawl", "--config", str(config), "--source", "nope"])
    assert result.exit_code == 2
    assert "no source named 'nope' (configured: zhenping)" in result.output
    assert "Traceback" not in result.output


def test_nothing_to_crawl_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text("sources: []\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["crawl", "--config", str(config)])
    assert result.exit_code == 2
    assert "no sources to crawl" in result.output


def test_bad_configuration_is_rejected_before_anything_runs(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text("sources:\n  - name: x\n    start_urls: ['ftp://a']\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["crawl", "--config", str(config)])
    assert result.exit_code == 2
    assert "sources[0] (x).start_urls: 'ftp://a' is not an http(s) URL" in result.output
