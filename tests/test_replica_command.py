"""`countywatch replica serve` prints the sites, serves them, writes a config, stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from click.testing import CliRunner

from countywatch.cli import cli
from countywatch.config import config_from_dict
from tests.replica_http import fetch

COUNTYWATCH = str(Path(sys.executable).parent / "countywatch")


def _read_until(process: subprocess.Popen[str], marker: str, deadline: float) -> list[str]:
    lines: list[str] = []
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"no {marker!r} in output: {lines}")


def test_serve_prints_urls_writes_config_and_stops_on_sigterm(tmp_path: Path) -> None:
    config_path = tmp_path / "replica.yaml"
    process = subprocess.Popen(
        [COUNTYWATCH, "replica", "serve", "--slow-seconds", "0", "--write-config", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _read_until(process, "press Ctrl-C", time.monotonic() + 30)
        sites = {
            line.split()[0]: line.split()[2] for line in lines if line.split()[0] in {"zhenping", "wentop"}
        }
        assert set(sites) == {"zhenping", "wentop"}
        assert fetch(sites["wentop"]).status == 200
        config = config_from_dict(yaml.safe_load(config_path.read_text(encoding="utf-8")))
        assert len(config.sources) == 7
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out.strip().endswith("stopped")


def test_serve_rejects_a_bad_cycle_in_one_line() -> None:
    result = CliRunner().invoke(cli, ["replica", "serve", "--cycle", "0"])
    assert result.exit_code == 2
    assert "Invalid value for '--cycle'" in result.output
    assert "Traceback" not in result.output
