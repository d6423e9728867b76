"""`countywatch digest`: dry runs in each format, sending through the outbox, one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from countywatch.cli import cli
from storage.db import make_engine, make_session_factory, upgrade
from tests.digest_servers import Receiver, http_receiver
from tests.digest_support import ingest, record

TITLE = "关于2024年秋季小学一年级招生入学工作的通知"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as running:
        yield running


@pytest.fixture
def config_file(tmp_path: Path, receiver: Receiver) -> Path:
    database = f"sqlite:///{tmp_path}/countywatch.db"
    upgrade(database)
    engine = make_engine(database)
    ingest(
        make_session_factory(engine),
        record(TITLE, "http://jyj.zhenping.gov.cn/tzgg/1.html"),
        now=datetime.now(UTC) - timedelta(hours=3),
    )
    engine.dispose()
    path = tmp_path / "sources.yaml"
    config = {
        "database": database,
        "data_dir": str(tmp_path / "data"),
        "notify": {
            "channels": {
                "hook": {"type": "webhook", "url": receiver.url + "/hook"},
                "down": {"type": "webhook", "url": "http://127.0.0.1:9/never"},
            },
            "subscriptions": [
                {"name": "家长", "channels": ["hook"]},
                {"name": "备用", "channels": ["down"]},
            ],
        },
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["digest", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [("text", "== 陕西省安康市镇坪县（1 条） =="), ("html", "<!DOCTYPE html>"), ("markdown", "### ")],
)
def test_dry_run_prints_the_digest(config_file: Path, receiver: Receiver, fmt: str, marker: str) -> None:
    status, out, _ = run("--config", str(config_file), "-s", "家长", "--dry-run", "--format", fmt)
    assert status == 0
    assert marker in out and TITLE in out
    assert receiver.requests == []


def test_since_limits_the_window(config_file: Path) -> None:
    status, out, _ = run("--config", str(config_file), "-s", "家长", "--dry-run", "--since", "2h")
    assert status == 0
    assert "此时段内没有符合订阅条件的新内容。" in out and TITLE not in out
    status, out, _ = run("--config", str(config_file), "-s", "家长", "--dry-run", "--since", "2024-01-01")
    assert status == 0 and TITLE in out


def test_send_goes_through_the_outbox_once(config_file: Path, receiver: Receiver) -> None:
    status, out, _ = run("--config", str(config_file), "-s", "家长")
    assert status == 0
    assert out == "家长 → hook (webhook): sent, 1 alert(s)\n"
    assert [r.json()["new"][0]["title"] for r in receiver.requests] == [TITLE]
    status, out, _ = run("--config", str(config_file), "-s", "家长")
    assert (status, out) == (0, "nothing to send\n")
    assert len(receiver.requests) == 1


def test_failed_channel_exits_1_with_a_one_line_reason(config_file: Path) -> None:
    status, out, err = run("--config", str(config_file), "-s", "备用")
    assert status == 1
    assert out.startswith(
        "备用 → down (webhook): retrying, 1 alert(s): webhook 'down' http://127.0.0.1:9/…: "
    )
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "countywatch: --since 'yesterday': expected a duration such as 24h"),
        (["-s", "nobody"], "countywatch: no subscription named 'nobody' (configured: 家长, 备用)"),
    ],
)
def test_bad_arguments_are_one_line_errors(config_file: Path, args: list[str], message: str) -> None:
    status, _, err = run("--config", str(config_file), *args)
    assert status == 2
    assert err.startswith(message) and err.count("\n") == 1


def test_database_without_tables_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    config = {
        "database": f"sqlite:///{tmp_path}/empty.db",
        "notify": {
            "channels": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/h"}},
            "subscriptions": [{"name": "家长", "channels": ["hook"]}],
        },
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    status, _, err = run("--config", str(path))
    assert status == 1
    assert "has no countywatch tables: run `countywatch db upgrade`" in err and err.count("\n") == 1


def test_no_subscriptions_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(f"database: sqlite:///{tmp_path}/x.db\n", encoding="utf-8")
    status, _, err = run("--config", str(path))
    assert (status, err) == (2, "countywatch: no subscriptions are configured under notify.subscriptions\n")


def test_nothing_due_while_deliveries_are_failing_exits_1_and_says_so(config_file: Path) -> None:
    status, _, _ = run("--config", str(config_file), "-s", "备用")
    assert status == 1
    # The failed delivery now waits out its backoff: nothing is due, but that is no success.
    status, out, err = run("--config", str(config_file), "-s", "备用")
    assert status == 1
    lines = out.splitlines()
    assert lines[0] == "nothing due to send now, but deliveries are failing:"
    assert lines[1].startswith("  备用 → down: retrying, 1 alert(s) after 1 attempt(s), next attempt ")
    assert "webhook 'down' http://127.0.0.1:9/" in lines[1]
    assert "Traceback" not in out + err
    # Another subscription's failures do not fail this one's run.
    status, out, _ = run("--config", str(config_file), "-s", "家长")
    assert status == 0
