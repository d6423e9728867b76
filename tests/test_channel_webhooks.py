"""Webhook and chat-bot channels against a real HTTP receiver on loopback; signatures recomputed here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from alerts.channels import REGISTRY, DeliveryError, channel_help, channel_kinds, make_channel
from alerts.channels.bots import split_lines
from core.config import BotChannel, ConfigError, WebhookChannel
from countywatch.config import load_config
from tests.digest_servers import Receiver, http_receiver
from tests.digest_support import rendered, sample_digest

SECRET = "SEC0123456789abcdef"
TOKEN = "tok-9f8e7d6c5b4a"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as running:
        yield running


def bot(kind: str, monkeypatch: pytest.MonkeyPatch, url: str, *, secret: bool = True) -> BotChannel:
    monkeypatch.setenv("TEST_BOT_URL", url)
    monkeypatch.setenv("TEST_BOT_SECRET", SECRET)
    data = {"type": kind, "url_env": "TEST_BOT_URL", "timeout": 5}
    if secret:
        data["secret_env"] = "TEST_BOT_SECRET"
    return BotChannel.model_validate(data)


def test_registry_lists_every_kind_with_help() -> None:
    assert channel_kinds() == ["dingtalk", "email", "feishu", "slack", "webhook", "wecom"]
    for kind in channel_kinds():
        assert REGISTRY[kind].kind == kind
        assert "Keys:" in channel_help(kind)


def test_generic_webhook_is_signed_over_the_raw_body(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    config = WebhookChannel.model_validate(
        {
            "type": "webhook",
            "url": f"{receiver.url}/hooks/countywatch",
            "secret_env": "TEST_HOOK_SECRET",
            "headers": {"X-Team": "jyj"},
        }
    )
    message = rendered(sample_digest(hostile=True))
    before = int(time.time())
    make_channel("hook", config).send(message)
    (request,) = receiver.requests
    assert request.path == "/hooks/countywatch"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["X-Team"] == "jyj"
    assert request.headers["X-Countywatch-Idempotency-Key"] == message.idempotency_key
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Countywatch-Signature"], expected)
    payload = request.json()
    timestamp = int(request.headers["X-Countywatch-Timestamp"])
    assert before <= timestamp <= int(time.time())
    assert payload["sent_at"] == timestamp  # the timestamp is signed, so it cannot be swapped
    assert payload["schema"] == "countywatch.digest/1"
    assert payload["idempotency_key"] == message.idempotency_key
    assert payload["subscription"] == "教育局值班"
    assert payload["since"] == "2024-04-18T00:00:00+00:00"
    assert [e["title"] for e in payload["new"]][1] == "关于2024年秋季小学一年级招生入学工作的通知"
    assert payload["new"][0]["reposts"] == 2
    assert payload["changed"][0]["diff"] == [
        "- 会议时间为6月20日<script>alert(1)</script>",
        "+ 会议时间改为6月21日",
    ]
    assert payload["withdrawn"][0]["withdrawn_at"] == "2024-04-18T12:00:00+00:00"
    assert payload["health"][0]["status"] == "failing"
    assert payload["failing_deliveries"][0]["channel"] == "wecom-main"
    assert payload["text"] == message.text


def test_generic_webhook_without_secret_is_unsigned(receiver: Receiver) -> None:
    config = WebhookChannel.model_validate({"type": "webhook", "url": receiver.url + "/h"})
    make_channel("hook", config).send(rendered())
    (request,) = receiver.requests
    assert "X-Countywatch-Signature" not in request.headers
    assert "X-Countywatch-Timestamp" in request.headers


def test_dingtalk_signs_timestamp_and_sign_query(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    config = bot("dingtalk", monkeypatch, f"{receiver.url}/robot/send?access_token={TOKEN}")
    message = rendered(sample_digest(extra_new=400))
    make_channel("ding", config).send(message)
    (request,) = receiver.requests
    query = parse_qs(urlsplit(request.path).query)
    assert query["access_token"] == [TOKEN]
    timestamp = query["timestamp"][0]
    assert abs(int(timestamp) - time.time() * 1000) < 60_000
    mac = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert query["sign"] == [base64.b64encode(mac).decode()]
    payload = request.json()
    assert payload["msgtype"] == "markdown"
    assert payload["markdown"]["title"] == message.subject
    text = payload["markdown"]["text"]
    assert len(text.encode()) <= 20000
    assert "项未列出" in text


def test_wecom_markdown_stays_within_4096_bytes(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    config = bot("wecom", monkeypatch, f"{receiver.url}/cgi-bin/webhook/send?key={TOKEN}", secret=False)
    make_channel("wecom", config).send(rendered(sample_digest(extra_new=50)))
    payload = receiver.requests[0].json()
    assert payload["msgtype"] == "markdown"
    content = payload["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert content.startswith("### 【教育公告摘要】53 条新公告")
    assert "项未列出" in content


def test_feishu_signs_in_the_body(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    config = bot("feishu", monkeypatch, f"{receiver.url}/open-apis/bot/v2/hook/{TOKEN}")
    message = rendered()
    make_channel("feishu", config).send(message)
    payload = receiver.requests[0].json()
    timestamp = payload["timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    mac = hmac.new(f"{timestamp}\n{SECRET}".encode(), b"", hashlib.sha256).digest()
    assert payload["sign"] == base64.b64encode(mac).decode()
    assert payload["msg_type"] == "interactive"
    assert payload["card"]["header"]["title"]["content"] == message.subject
    assert "镇坪县召开教育高质量发展大会" in payload["card"]["elements"][0]["content"]


def test_slack_blocks_split_into_sections(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    config = bot("slack", monkeypatch, f"{receiver.url}/services/T000/B000/{TOKEN}", secret=False)
    receiver.default_reply = (200, b"ok")
    make_channel("slack", config).send(rendered(sample_digest(extra_new=60)))
    payload = receiver.requests[0].json()
    header, *sections = payload["blocks"]
    assert header["type"] == "header"
    assert len(sections) > 1
    assert all(len(s["text"]["text"]) <= 3000 and s["text"]["type"] == "mrkdwn" for s in sections)
    assert "<http://www.zhenping.gov.cn/jyj/2023/0908/1.html|" in sections[0]["text"]["text"]


def test_bot_error_code_is_a_delivery_error_without_the_token(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.replies.append((200, b'{"errcode":310000,"errmsg":"sign not match"}'))
    config = bot("dingtalk", monkeypatch, f"{receiver.url}/robot/send?access_token={TOKEN}")
    with pytest.raises(DeliveryError, match=r"error 310000 sign not match") as caught:
        make_channel("ding", config).send(rendered())
    assert TOKEN not in str(caught.value) and SECRET not in str(caught.value)
    assert f"{receiver.url}/…" in str(caught.value)


def test_feishu_error_code_is_a_delivery_error(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    receiver.replies.append(
        (200, b'{"code":19021,"msg":"sign match fail or timestamp is not within one hour"}')
    )
    config = bot("feishu", monkeypatch, f"{receiver.url}/open-apis/bot/v2/hook/{TOKEN}")
    with pytest.raises(DeliveryError, match=r"error 19021"):
        make_channel("feishu", config).send(rendered())


def test_http_error_is_a_delivery_error_without_the_token(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.replies.append((502, b"bad gateway"))
    config = bot("slack", monkeypatch, f"{receiver.url}/services/T000/B000/{TOKEN}", secret=False)
    with pytest.raises(DeliveryError, match=r"HTTP 502: bad gateway") as caught:
        make_channel("slack", config).send(rendered())
    assert TOKEN not in str(caught.value)


def test_unreachable_receiver_is_a_delivery_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with http_receiver() as gone:
        url = gone.url
    config = bot("wecom", monkeypatch, f"{url}/send?key={TOKEN}", secret=False)
    with pytest.raises(DeliveryError, match=r"refused") as caught:
        make_channel("wecom", config).send(rendered())
    assert TOKEN not in str(caught.value)


def test_documented_verification_accepts_a_real_request_and_rejects_tampering(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = (Path(__file__).parents[1] / "docs" / "webhook.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", doc, flags=re.DOTALL).group(1)  # type: ignore[union-attr]
    namespace: dict[str, object] = {}
    exec(compile(code, "docs/webhook.md", "exec"), namespace)
    verify = namespace["verify"]
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    config = WebhookChannel.model_validate(
        {"type": "webhook", "url": receiver.url, "secret_env": "TEST_HOOK_SECRET"}
    )
    make_channel("hook", config).send(rendered())
    (request,) = receiver.requests
    payload = verify(SECRET, request.body, request.headers)  # type: ignore[operator]
    assert payload["schema"] == "countywatch.digest/1"
    with pytest.raises(ValueError, match="bad signature"):
        verify(SECRET, request.body.replace(b"2024", b"2025"), request.headers)  # type: ignore[operator]
    with pytest.raises(ValueError, match="bad signature"):
        verify("other-secret", request.body, request.headers)  # type: ignore[operator]


def test_non_http_webhook_urls_are_refused(tmp_path: Path) -> None:
    config = WebhookChannel.model_validate({"type": "webhook", "url": (tmp_path / "x").as_uri()})
    with pytest.raises(DeliveryError, match="only http and https URLs"):
        make_channel("hook", config).send(rendered())


@pytest.mark.parametrize(
    ("text", "limit", "pieces"),
    [
        ("a\nbb\nccc\n", 4, ["a\n", "bb\n", "ccc\n"]),
        ("abcdefghij", 4, ["abcd", "efgh", "ij"]),
        ("\n\n\nab", 2, ["ab"]),  # Slack refuses empty sections: blank-only pieces are dropped
    ],
)
def test_split_lines_keeps_pieces_within_the_limit(text: str, limit: int, pieces: list[str]) -> None:
    assert split_lines(text, limit) == pieces


def test_credential_headers_come_from_the_environment(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TEST_HOOK_AUTH", f"Bearer {TOKEN}")
    config = WebhookChannel.model_validate(
        {"type": "webhook", "url": receiver.url + "/h", "headers_env": {"Authorization": "TEST_HOOK_AUTH"}}
    )
    make_channel("hook", config).send(rendered())
    (request,) = receiver.requests
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("header", ["Authorization", "authorization", "X-Api-Key", "X-Auth-Token", "Cookie"])
def test_an_inline_credential_header_is_refused(header: str, tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"notify:\n  channels:\n    hook:\n      type: webhook\n      url: http://127.0.0.1:9/h\n"
        f"      headers: {{{header}: 'Bearer {TOKEN}'}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: notify.channels.hook.headers.{header}: header {header!r} carries a secret, which is "
        "not kept in the file: put its value in an environment variable and name it under 'headers_env'"
    )
    assert TOKEN not in str(info.value)
