"""Structured logs: JSON lines with context, and secrets never written."""

from __future__ import annotations

import io
import json
import logging

import pytest

from countywatch.config import config_from_dict
from countywatch.logging_setup import configure_logging, log_context, redact, secret_values


@pytest.fixture
def config():
    return config_from_dict(
        {
            "notify": {
                "channels": {
                    "ding": {
                        "type": "dingtalk",
                        "url_env": "CW_TEST_DING_URL",
                        "secret_env": "CW_TEST_DING_SECRET",
                    },
                    "mail": {
                        "type": "email",
                        "host": "127.0.0.1",
                        "sender": "cw@example.org",
                        "to": ["a@example.org"],
                        "password_env": "CW_TEST_SMTP_PASSWORD",
                    },
                }
            },
            "logging": {"json": True},
        }
    )


@pytest.fixture
def stream(config, monkeypatch):
    monkeypatch.setenv("CW_TEST_SMTP_PASSWORD", "hunter2-smtp")
    monkeypatch.setenv("CW_TEST_DING_SECRET", "SECdeadbeefcafe")
    monkeypatch.setenv("CW_TEST_DING_URL", "https://oapi.dingtalk.com/robot/send?access_token=abc123tok")
    out = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging(config, stream=out)
    yield out
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def _lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_lines_carry_ts_level_logger_message_source_and_run_id(stream):
    log = logging.getLogger("countywatch.test")
    with log_context(source="镇坪县", run_id=42):
        log.info("crawl finished: %d new", 3)
    log.warning("outside")
    first, second = _lines(stream)
    assert set(first) == {"ts", "level", "logger", "message", "source", "run_id"}
    assert first["level"] == "INFO"
    assert first["logger"] == "countywatch.test"
    assert first["message"] == "crawl finished: 3 new"
    assert (first["source"], first["run_id"]) == ("镇坪县", "42")
    assert (second["source"], second["run_id"]) == ("", "")
    assert first["ts"].endswith("+00:00")


def test_known_secret_values_are_redacted_in_messages_and_tracebacks(stream):
    log = logging.getLogger("countywatch.test")
    try:
        raise RuntimeError("login failed with password hunter2-smtp")
    except RuntimeError:
        log.exception("smtp error (secret %s)", "SECdeadbeefcafe")
    text = stream.getvalue()
    assert "hunter2-smtp" not in text
    assert "SECdeadbeefcafe" not in text
    (entry,) = _lines(stream)
    assert entry["message"] == "smtp error (secret ***)"
    assert "password ***" in entry["exc"]


def test_url_tokens_are_redacted_even_when_not_configured(stream):
    logging.getLogger("x").error(
        "POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693axxx6-7aoc&debug=1 failed; "
        "db postgresql://cw:pa55word@db/cw; feishu https://open.feishu.cn/open-apis/bot/v2/hook/0a1b2c3d-e4f5"
    )
    (entry,) = _lines(stream)
    assert entry["message"] == (
        "POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***&debug=1 failed; "
        "db postgresql://cw:***@db/cw; feishu https://open.feishu.cn/open-apis/bot/v2/hook/***"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1",
            "…?access_token=***&timestamp=1",
        ),
        ("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX", "https://hooks.slack.com/services/***"),
        ("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("nothing secret here: 教育局 2024", "nothing secret here: 教育局 2024"),
    ],
)
def test_redact(text, expected):
    assert redact(text).endswith(expected.removeprefix("…"))


def test_secret_values_are_read_from_the_named_variables(config):
    env = {"CW_TEST_SMTP_PASSWORD": "pw1", "CW_TEST_DING_URL": "u", "OTHER": "not a secret"}
    assert sorted(secret_values(config, env)) == ["pw1", "u"]


def test_text_format_shows_the_context(config, monkeypatch):
    out = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging(config, json_lines=False, stream=out)
        with log_context(source="ankang", run_id="r1"):
            logging.getLogger("countywatch.t").info("hello")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    assert out.getvalue().rstrip().endswith("INFO countywatch.t [ankang#r1] hello")
