"""The demo's parts without a crawl: its folder, the crawl child's log, the tables, its errors."""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from countywatch.cli import cli
from countywatch.config import config_from_dict, load_config
from countywatch.demo.crawls import LogTail, Progress, crawl_warning, outcome_error, run_demo_crawl
from countywatch.demo.summary import (
    AlertCounts,
    CrawlSummary,
    CrawlTotals,
    crawls_table,
    source_lines,
    source_table,
)
from countywatch.demo.workdir import MARKER, DemoError, demo_config, prepare_workdir, write_config
from replica.network import ReplicaNetwork
from scheduler.crawl_process import CrawlOutcome

REPORT = {
    "seconds": 5.6,
    "requests": 69,
    "responses_304": 0,
    "sources": [
        {
            "name": "zhenping",
            "health": "ok",
            "error": "http_5xx: 1, redirect_loop: 1",
            "list_pages": 5,
            "list_unchanged": 2,
            "articles_fetched": 4,
            "not_modified": 3,
            "new": 3,
            "changed": 1,
            "duplicate": 0,
            "gone": 1,
            "withdrawn": 0,
            "errors": {"http_5xx": 1, "redirect_loop": 1},
        },
        {"name": "wentop", "health": "blocked", "error": None, "list_pages": 1, "new": 12, "errors": {}},
    ],
}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            "2026-11-21 19:39:55 [crawler.runtime.spiders.lists] WARNING: "
            "dongqu: blocked http://a/1.html: HTTP 412",
            "dongqu: blocked http://a/1.html: HTTP 412",
            id="own-warning",
        ),
        pytest.param(
            "2026-11-21 19:39:55 [storage.ingest] ERROR: storing http://a/2.html failed: IntegrityError",
            "storing http://a/2.html failed: IntegrityError",
            id="own-error",
        ),
        pytest.param(
            "2026-11-21 19:39:52 [py.warnings] WARNING: ScrapyDeprecationWarning: RANDOMIZE_DOWNLOAD_DELAY",
            None,
            id="library-warning",
        ),
        pytest.param(
            "2026-11-21 19:39:52 [crawler.runtime.spiders.lists] INFO: crawling 7 sources", None, id="info"
        ),
        pytest.param(" 'Twisted': '26.10.0',", None, id="continuation"),
    ],
)
def test_crawl_warning_keeps_countywatch_warnings_only(line: str, expected: str | None) -> None:
    assert crawl_warning(line) == expected


def test_crawl_warning_cuts_long_messages_to_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    message = "zhenping: timeout " + "x" * 200
    shown = crawl_warning(f"2026-11-21 19:39:55 [crawler.runtime.spiders.lists] WARNING: {message}")
    assert shown is not None and shown.endswith("…") and len(shown) == 80 - 13
    assert message.startswith(shown[:-1])


def test_log_tail_returns_only_complete_new_lines(tmp_path: Path) -> None:
    log = tmp_path / "crawl.log"
    tail = LogTail(log)
    assert tail.new_lines() == []  # not written yet
    log.write_bytes("第一行\nsecond li".encode())
    assert tail.new_lines() == ["第一行"]
    with log.open("ab") as f:
        f.write(b"ne\nthird\n")
    assert tail.new_lines() == ["second line", "third"]
    assert tail.new_lines() == []


def test_a_foreign_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "countywatch.db").write_text("someone else's data")
    with pytest.raises(DemoError, match="not made by `countywatch demo`") as caught:
        prepare_workdir(tmp_path, keep=False)
    assert "\n" not in str(caught.value)
    assert (tmp_path / "countywatch.db").read_text() == "someone else's data"
    assert not (tmp_path / MARKER).exists()


def test_an_earlier_demo_folder_is_cleared_and_keep_spares_the_database(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    workdir = prepare_workdir(folder, keep=False)
    assert (folder / MARKER).exists()
    leftovers = [
        workdir.database_path,
        folder / "countywatch.db-wal",
        workdir.crawl_log(1),
        workdir.digest_html,
    ]
    for path in leftovers:
        path.write_text("old")
    (workdir.data_path / "httpcache").mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")

    prepare_workdir(folder, keep=True)
    assert workdir.database_path.exists() and (folder / "countywatch.db-wal").exists()
    assert not workdir.crawl_log(1).exists() and not workdir.digest_html.exists()
    assert not workdir.data_path.exists()

    prepare_workdir(folder, keep=False)
    assert not workdir.database_path.exists() and not (folder / "countywatch.db-wal").exists()
    assert (folder / "notes.txt").read_text() == "mine"  # only what the demo writes is removed


def test_a_file_in_place_of_the_folder_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(DemoError, match="exists and is not a folder"):
        prepare_workdir(tmp_path / "taken", keep=False)


def test_the_written_configuration_is_valid_and_relative_to_its_folder(tmp_path: Path) -> None:
    workdir = prepare_workdir(tmp_path / "demo", keep=False)
    network_config = {
        "database": "sqlite:////elsewhere/x.db",
        "sources": [{"name": "zhenping", "start_urls": ["http://127.0.0.11:8080/col/index.html"]}],
        "crawl": {"download_delay": 0},
    }
    path = write_config(workdir, demo_config(network_config))
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Written by `countywatch demo`")
    config = load_config(path)
    assert config.database_url == f"sqlite:///{workdir.database_path}"
    assert config.data_path.resolve() == workdir.data_path
    assert config.crawl.http_cache and config.crawl.download_delay == 0
    assert config.crawl.recheck_after == timedelta(seconds=1)
    assert [s.name for s in config.notify.subscriptions] == ["demo"]
    assert config_from_dict(demo_config(network_config)).notify.channels["demo-webhook"].type == "webhook"


def test_source_table_shows_each_source_with_aligned_counts() -> None:
    lines = source_lines(REPORT)
    assert [(x.name, x.health, x.stats.new, x.stats.error_count) for x in lines] == [
        ("zhenping", "ok", 3, 2),
        ("wentop", "blocked", 12, 0),
    ]
    table = source_table(lines, indent="")
    header, first, second = table.splitlines()
    assert header.split() == [
        "source", "lists", "304", "fetched", "new", "changed", "dup", "gone", "withdrawn", "errors", "health",
    ]  # fmt: skip
    assert first.split() == ["zhenping", "5", "5", "4", "3", "1", "0", "1", "0", "2", "ok"]
    assert second.split() == ["wentop", "1", "0", "0", "12", "0", "0", "0", "0", "0", "blocked"]
    # counts are right-aligned under their headings
    assert first.index(" 3 ") + 2 == header.index("new") + len("new")
    assert second.index("12") + 2 == header.index("new") + len("new")


def test_crawls_table_has_a_row_per_crawl_under_grouped_headings() -> None:
    totals = CrawlTotals(new=23, changed=0, duplicate=4, gone=0, withdrawn=0, errors=7)
    crawls = [
        CrawlSummary(1, 9.75, 69, 0, totals, AlertCounts({"new": 15})),
        CrawlSummary(
            3, 7.0, 71, 51, CrawlTotals(0, 0, 0, 2, 2, 7), AlertCounts({"withdrawn": 2, "health": 1})
        ),
    ]
    group, header, *rows = crawls_table(crawls, indent="").splitlines()
    assert group.split() == ["articles", "and", "pages", "alerts", "raised"]
    assert header.split()[-4:] == ["new", "changed", "withdrawn", "health"]
    assert rows[0].split() == ["1", "9.8", "69", "0", "23", "0", "4", "0", "0", "7", "15", "0", "0", "0"]
    assert rows[1].split() == ["3", "7.0", "71", "51", "0", "0", "0", "2", "2", "7", "0", "0", "2", "1"]
    assert group.index("alerts") == header.index("new", header.index("errors"))
    assert crawls[1].line().startswith("crawl 3 done in 7.0s: 71 requests (51 answered 304); 0 new")


def test_a_failing_crawl_child_is_reported_in_one_line(tmp_path: Path) -> None:
    log = tmp_path / "crawl-1.log"
    seen: list[float] = []
    outcome = run_demo_crawl(
        tmp_path / "missing.yaml", log, time_limit=60, on_progress=lambda p: seen.append(p.seconds)
    )
    assert outcome.status == "failed" and outcome.returncode == 2
    message = outcome_error(outcome, "crawl-1.log")
    assert message is not None and "\n" not in message
    assert "missing.yaml" in message and message.endswith("(log: crawl-1.log)")
    assert "cannot read the configuration file" in log.read_text(encoding="utf-8")


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains `text` (Linux /proc)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:  # the process ended while we looked
            continue
    return pids


def test_ctrl_c_stops_the_crawl_child_before_the_demo_ends(tmp_path: Path) -> None:
    workdir = prepare_workdir(tmp_path / "demo", keep=False)
    # The slow page keeps the crawl busy far longer than the first progress report.
    with ReplicaNetwork(slow_seconds=30) as net:
        write_config(workdir, demo_config(net.config_dict("sqlite:///countywatch.db", data_dir="data")))

        def interrupt(progress: Progress) -> None:
            # Ctrl-C as a signal, arriving while the demo waits for the child between reports.
            threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()

        # Python turns SIGINT into KeyboardInterrupt only if it was not ignored when the process
        # started, and a shell starts background jobs with SIGINT ignored: a suite run with `&`
        # would see no Ctrl-C at all. The user at a terminal has Python's default handler.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            with pytest.raises(KeyboardInterrupt):
                run_demo_crawl(
                    workdir.config_path, workdir.crawl_log(1), time_limit=60, on_progress=interrupt
                )
        finally:
            signal.signal(signal.SIGINT, previous)
        assert processes_mentioning(str(workdir.config_path)) == []


def test_a_crawl_child_without_a_report_is_an_error() -> None:
    outcome = CrawlOutcome("ok", 0, 1.0, None, None)
    assert (
        outcome_error(outcome, "crawl-2.log") == "the crawl child printed no JSON report (log: crawl-2.log)"
    )
    timed_out = CrawlOutcome("timed_out", -15, 90.0, None, "time limit of 90s reached")
    assert outcome_error(timed_out, "crawl-2.log") == (
        "the crawl child timed out: time limit of 90s reached (log: crawl-2.log)"
    )


def test_the_command_turns_a_refused_folder_into_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("precious")
    # Through the group, as users run it (a bare command would cache a help option without -h).
    result = CliRunner().invoke(cli, ["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("countywatch: --workdir ")
    assert isinstance(result.exception, SystemExit)
    assert (tmp_path / "thesis.tex").read_text() == "precious"
