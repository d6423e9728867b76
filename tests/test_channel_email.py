"""The email channel against a real SMTP server (aiosmtpd) on loopback: STARTTLS, SSL, login, MIME."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.channels import DeliveryError, make_channel
from core.config import EmailChannel
from tests.digest_servers import self_signed_cert, smtp_server
from tests.digest_support import HOSTILE, rendered, sample_digest

PASSWORD_ENV = "COUNTYWATCH_TEST_SMTP_PASSWORD"
PASSWORD = "s3cret-pass"


def email_config(port: int, security: str = "starttls", **extra: object) -> EmailChannel:
    data: dict[str, object] = {
        "type": "email",
        "host": "127.0.0.1",
        "port": port,
        "security": security,
        "sender": "watch@jyj.example.org",
        "sender_name": "镇坪县教育观察",
        "to": ["家长 <parent@example.org>", "office@example.org"],
        "timeout": 10,
    }
    data.update(extra)
    return EmailChannel.model_validate(data)


@pytest.fixture
def cert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 that the client trusts (through $SSL_CERT_FILE)."""
    pair = self_signed_cert(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(pair[0]))
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return pair


def test_starttls_login_delivers_a_multipart_digest(cert: tuple[Path, Path]) -> None:
    message = rendered(sample_digest(hostile=True))
    with smtp_server(security="starttls", cert=cert, login=("watch", PASSWORD)) as server:
        config = email_config(server.port, username="watch", password_env=PASSWORD_ENV)
        make_channel("mail", config).send(message)
    assert len(server.mails) == 1
    mail = server.mails[0]
    assert mail.mail_from == "watch@jyj.example.org"
    assert mail.rcpt_tos == ["parent@example.org", "office@example.org"]
    msg = mail.message
    assert msg["Subject"] == message.subject
    assert msg["From"].addresses[0].display_name == "镇坪县教育观察"
    assert msg["From"].addresses[0].addr_spec == "watch@jyj.example.org"
    assert msg["Message-ID"] == f"<{message.idempotency_key}@jyj.example.org>"
    assert msg["X-Countywatch-Idempotency-Key"] == message.idempotency_key
    assert msg.get_content_type() == "multipart/alternative"
    text_part, html_part = msg.iter_parts()
    assert text_part.get_content_type() == "text/plain"
    assert html_part.get_content_type() == "text/html"
    assert text_part.get_content() == message.text
    html = html_part.get_content()
    assert html == message.html
    assert "镇坪县召开教育高质量发展大会" in html and "<script" not in html


def test_chinese_headers_are_encoded_on_the_wire(cert: tuple[Path, Path]) -> None:
    message = rendered()
    with smtp_server(security="starttls", cert=cert) as server:
        make_channel("mail", email_config(server.port)).send(message)
    raw = server.mails[0].message.as_bytes()
    headers = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    assert headers.isascii(), "headers must be RFC 2047 encoded"
    assert b"=?utf-8?" in headers.lower()


def test_implicit_ssl(cert: tuple[Path, Path]) -> None:
    with smtp_server(security="ssl", cert=cert, login=("watch", PASSWORD)) as server:
        config = email_config(server.port, "ssl", username="watch", password_env=PASSWORD_ENV)
        make_channel("mail", config).send(rendered())
    assert len(server.mails) == 1


def test_plain_smtp_without_login() -> None:
    with smtp_server() as server:
        make_channel("mail", email_config(server.port, "none")).send(rendered())
    assert [m.message["Subject"] for m in server.mails] == [rendered().subject]


def test_wrong_password_is_a_delivery_error_without_the_password(
    cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "wrong-password")
    with smtp_server(security="starttls", cert=cert, login=("watch", PASSWORD)) as server:
        config = email_config(server.port, username="watch", password_env=PASSWORD_ENV)
        with pytest.raises(DeliveryError, match=r"login as 'watch' refused") as caught:
            make_channel("mail", config).send(rendered())
    assert "wrong-password" not in str(caught.value)
    assert server.mails == []


def test_non_ascii_password_is_a_clear_error(
    cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "口令")
    with smtp_server(security="starttls", cert=cert, login=("watch", PASSWORD)) as server:
        config = email_config(server.port, username="watch", password_env=PASSWORD_ENV)
        with pytest.raises(DeliveryError, match=r"user name and password must be ASCII") as caught:
            make_channel("mail", config).send(rendered())
    assert "口令" not in str(caught.value)


def test_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    pair = self_signed_cert(tmp_path)  # not added to the client's trust store
    with (
        smtp_server(security="starttls", cert=pair) as server,
        pytest.raises(DeliveryError, match=r"TLS failed"),
    ):
        make_channel("mail", email_config(server.port)).send(rendered())
    assert server.mails == []


def test_server_down_is_a_delivery_error() -> None:
    with smtp_server() as server:
        port = server.port
    with pytest.raises(DeliveryError, match=rf"email 127\.0\.0\.1:{port}: .*refused"):
        make_channel("mail", email_config(port, "none")).send(rendered())


def test_hostile_title_reaches_the_text_part_verbatim_and_html_escaped(cert: tuple[Path, Path]) -> None:
    message = rendered(sample_digest(hostile=True))
    with smtp_server(security="starttls", cert=cert) as server:
        make_channel("mail", email_config(server.port)).send(message)
    text_part, html_part = server.mails[0].message.iter_parts()
    assert HOSTILE in text_part.get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_part.get_content()
