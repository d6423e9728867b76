"""The deployment files, checked by parsing them (Docker and systemd do not run on the test machines).

What these tests cannot show: that the image builds and the unit starts. They do show that every
file is well-formed, names commands that exist, runs as the unprivileged user with the required
hardening, and copies files that exist.
"""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from countywatch.cli import COMMANDS, cli
from countywatch.config import load_config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def _countywatch_argv(argv: list[str]) -> list[str]:
    """The arguments after the `countywatch` program in a command line."""
    for i, word in enumerate(argv):
        if Path(word).name == "countywatch":
            return argv[i + 1 :]
    raise AssertionError(f"not a countywatch command: {argv}")


def _assert_command_exists(args: list[str]) -> None:
    """The subcommand (and its sub-subcommand) exist and know every --option given."""
    assert args[0] in COMMANDS, f"countywatch {args[0]} is not a command"
    command = cli.get_command(click.Context(cli), args[0])
    assert command is not None
    known: set[str] = set()
    for c in [command, *([command.commands[args[1]]] if isinstance(command, click.Group) else [])]:
        for param in c.params:
            known.update(getattr(param, "opts", []), getattr(param, "secondary_opts", []))
    unknown = [a for a in args[1:] if a.startswith("--") and a.split("=")[0] not in known]
    assert unknown == [], f"unknown options {unknown} for countywatch {' '.join(args)}"


# --- systemd ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unit():
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "countywatch.service", encoding="utf-8")
    return parser


def test_unit_runs_the_daemon_as_its_own_user_and_restarts_on_failure(unit):
    service = unit["Service"]
    assert service["User"] == "countywatch"
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"] == "/etc/countywatch/env"
    assert _countywatch_argv(shlex.split(service["ExecStart"]))[0] == "run"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_unit_hardening(unit):
    service = unit["Service"]
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    assert "/var/lib/countywatch" in service["ReadWritePaths"].split()
    assert service["WorkingDirectory"] == "/var/lib/countywatch"


def test_unit_gives_the_crawl_its_grace_period_before_systemd_kills(unit):
    service = unit["Service"]
    # Only the daemon gets SIGTERM; it stops its crawl itself, within --stop-grace.
    assert service["KillMode"] == "mixed"
    argv = _countywatch_argv(shlex.split(service["ExecStart"]))
    grace = float(argv[argv.index("--stop-grace") + 1])
    assert int(service["TimeoutStopSec"]) > grace


def test_unit_commands_exist(unit):
    for key in ("ExecStart", "ExecStartPre"):
        _assert_command_exists(_countywatch_argv(shlex.split(unit["Service"][key])))


# --- Dockerfile ------------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def test_dockerfile_is_multi_stage_on_python_311_slim():
    froms = [rest for kw, rest in _instructions() if kw == "FROM"]
    assert froms == ["python:3.11-slim AS build", "python:3.11-slim"]
    copies_from_build = [
        rest for kw, rest in _instructions() if kw == "COPY" and rest.startswith("--from=build")
    ]
    assert copies_from_build == ["--from=build /opt/countywatch /opt/countywatch"]


def test_dockerfile_installs_with_the_constraints():
    runs = [rest for kw, rest in _instructions() if kw == "RUN"]
    assert any(re.search(r"pip install .*-c constraints\.txt \.", run) for run in runs)


def test_dockerfile_runs_as_countywatch_with_a_status_healthcheck():
    instructions = _instructions()
    final_stage = instructions[max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM") :]
    users = [rest for kw, rest in final_stage if kw == "USER"]
    assert users == ["countywatch"]
    # Nothing runs as root after USER.
    user_at = [kw for kw, _ in final_stage].index("USER")
    assert "RUN" not in [kw for kw, _ in final_stage[user_at:]]
    (health,) = [rest for kw, rest in final_stage if kw == "HEALTHCHECK"]
    argv = yaml.safe_load(health.split("CMD", 1)[1].strip())
    assert argv[:2] == ["countywatch", "status"]
    _assert_command_exists(argv[1:])
    (cmd,) = [rest for kw, rest in final_stage if kw == "CMD"]
    argv = yaml.safe_load(cmd)
    assert argv[:2] == ["countywatch", "run"]
    _assert_command_exists(argv[1:])


def test_dockerfile_copies_files_that_exist():
    for kw, rest in _instructions():
        if kw != "COPY" or rest.startswith("--from"):
            continue
        *sources, _ = rest.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"


# --- compose ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_has_the_services(compose):
    assert set(compose["services"]) == {"postgres", "redis", "migrate", "scheduler", "worker"}
    # More workers: `docker compose up --scale worker=N`; two by default.
    assert compose["services"]["worker"]["deploy"]["replicas"] == 2
    assert compose["services"]["postgres"]["image"].startswith("postgres:")
    assert compose["services"]["redis"]["image"].startswith("redis:")


@pytest.mark.parametrize(
    ("service", "command"),
    [("migrate", ["db", "upgrade"]), ("scheduler", ["run", "--log-json"]), ("worker", ["worker"])],
)  # fmt: skip
def test_compose_services_run_the_right_commands(compose, service, command):
    spec = compose["services"][service]
    assert spec["command"] == ["countywatch", *command]
    assert spec["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert (DEPLOY / spec["build"]["context"] / spec["build"]["dockerfile"]).exists()
    assert spec["environment"]["COUNTYWATCH_CONFIG"] == "/etc/countywatch/sources.yaml"
    assert "./sources.yaml:/etc/countywatch/sources.yaml:ro" in spec["volumes"]
    assert command[0] in COMMANDS


def test_compose_starts_the_daemon_after_migrations(compose):
    for name in ("scheduler", "worker"):
        assert compose["services"][name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert compose["services"]["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    # The daemon gets longer than its crawl grace period to stop.
    assert compose["services"]["scheduler"]["stop_grace_period"] == "90s"


def test_compose_publishes_no_database_ports_and_keeps_secrets_out(compose):
    for name, spec in compose["services"].items():
        assert "ports" not in spec, f"{name} publishes ports"
    for name, spec in compose["services"].items():
        for key, value in (spec.get("environment") or {}).items():
            if "PASSWORD" in key or "TOKEN" in key or "SECRET" in key:
                assert str(value).startswith("${"), f"{name}: {key} is written in compose.yaml"


def test_env_example_names_every_secret_variable_of_the_example_config():
    names = {line.split("=")[0] for line in (DEPLOY / "env.example").read_text().splitlines() if "=" in line}
    example = (DEPLOY / "sources.example.yaml").read_text(encoding="utf-8")
    wanted = set(re.findall(r"^\s*[a-z_]+_env:\s*([A-Z][A-Z0-9_]+)", example, re.M))
    assert wanted - names == set()


def test_readme_covers_the_steps():
    text = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for needle in (
        "countywatch db upgrade",
        "sources validate",
        "systemctl enable --now countywatch",
        "systemctl reload countywatch",
        "docker compose -f compose.yaml up -d --build",
        'sqlite3 /var/lib/countywatch/countywatch.db ".backup',
        "pg_dump",
        "pg_restore",
        "## Upgrades",
    ):
        assert needle in text, needle


def test_the_example_configuration_leaves_distributed_crawling_off():
    # Copied as documented onto one machine, the daemon must crawl by itself, not push to a Redis.
    config = load_config(DEPLOY / "sources.example.yaml")
    assert config.distributed.redis_url is None and config.distributed.redis_url_env is None
    text = (ROOT / "docs" / "distributed.md").read_text(encoding="utf-8")
    assert "redis_url_env" in text
