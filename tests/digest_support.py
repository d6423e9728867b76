"""Test helpers for digests and channels: sample digests, a real SMTP server, a real HTTP receiver."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import struct
import subprocess
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session, sessionmaker

from alerts.model import (
    ChangedEntry,
    Digest,
    FailingDelivery,
    HealthEntry,
    NewEntry,
    RenderedDigest,
    WithdrawnEntry,
)
from alerts.render import render_html, render_text
from countywatch.config import Config, SourceKind, config_from_dict
from crawler.article import Article as Record
from storage.ingest import IngestResult, ingest_article, source_row
from storage.outbox import add_alert
from storage.rules import SourceRef

UTC = dt.UTC
SINCE = dt.datetime(2024, 4, 18, 0, 0, tzinfo=UTC)
UNTIL = dt.datetime(2024, 4, 19, 0, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"


def sample_digest(*, hostile: bool = False, extra_new: int = 0, operators: bool = True) -> Digest:
    """A digest with two regions, changed, withdrawn and (for operators) health and failures."""
    bad = HOSTILE if hostile else ""
    new = [
        NewEntry(
            1,
            f"{bad}镇坪县召开教育高质量发展大会",
            "http://www.zhenping.gov.cn/jyj/2023/0908/1.html",
            f"{bad}安康市教育体育局",
            "陕西省安康市镇坪县",
            "会议",
            "2023-09-08T11:11:00+08:00",
            f"9月7日、第39个教师节来临之际，镇坪县召开教育高质量发展大会。{bad}\n会议表彰了优秀教师和立德树人优秀学校。",
            "安康市教育体育局",
            2,
        ),
        NewEntry(
            2,
            "关于2024年秋季小学一年级招生入学工作的通知",
            "http://www.zhenping.gov.cn/jyj/2024/0419/2.html",
            "镇坪县教育体育局",
            "陕西省安康市镇坪县",
            "招生入学",
            "2024-04-19",
            "适龄儿童请于5月10日前完成网上报名。",
        ),
        NewEntry(
            3,
            "努力打造教育优质均衡发展示范窗口——访岳塘区教育局党委书记、局长徐进",
            "http://www.xtrb.cn/2024/0419/3.html",
            "湘潭日报",
            "湖南省湘潭市岳塘区",
            "访谈",
            "2024-04-19T08:53:55+08:00",
            "谋划2024·教育局长访谈④\n岳塘区将持续推进教育优质均衡发展。",
            "湘潭日报",
            5,
        ),
    ]
    for i in range(extra_new):
        new.append(
            NewEntry(
                100 + i,
                f"第{i + 1}号通知：关于做好中小学教师招聘工作的公告",
                f"http://jyj.example.gov.cn/notice/{i}.html",
                "某县教育局",
                f"某省某市{i % 4}县",
                "招聘",
                "2024-04-19",
                "报名时间为4月20日至4月30日，请考生按时报名。\n详见附件。",
            )
        )
    changed = [
        ChangedEntry(
            10,
            f"{bad}东区召开教师“区管校聘”管理改革推进会",
            "http://www.dongqu.gov.cn/2023/0620/10.html",
            "攀枝花市东区",
            "四川省攀枝花市东区",
            dt.datetime(2024, 4, 18, 9, 30, tzinfo=UTC),
            [f"- 会议时间为6月20日{bad}", "+ 会议时间改为6月21日"],
        )
    ]
    withdrawn = [
        WithdrawnEntry(
            11,
            "关于暂停校外培训机构审批的通知",
            "http://jyj.example.gov.cn/old/11.html",
            "某县教育局",
            None,
            dt.datetime(2024, 4, 18, 12, 0, tzinfo=UTC),
        )
    ]
    health = (
        [HealthEntry(12, "xiangtan-daily", "failing", f"HTTP 500 on list page{bad}", UNTIL)]
        if operators
        else []
    )
    failing = (
        [
            FailingDelivery(
                "家长群", "wecom-main", "retrying", 3, 2, "wecom http://127.0.0.1:1/…: HTTP 502", UNTIL
            )
        ]
        if operators
        else []
    )
    return Digest("教育局值班", SINCE, UNTIL, new, changed, withdrawn, health, failing)


def rendered(digest: Digest | None = None, key: str = "0123456789abcdef0123456789abcdef") -> RenderedDigest:
    """A digest rendered as the delivery engine would."""
    digest = digest or sample_digest()
    return RenderedDigest(digest, digest.subject, render_text(digest), render_html(digest), key)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (IP SAN) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "countywatch test smtp")])
    now = dt.datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    """A mail as the SMTP server got it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SmtpServer:
    """A running test SMTP server: its port and the mails it accepted."""

    port: int
    mails: list[Received]


class _Collector:
    def __init__(self) -> None:
        self.mails: list[Received] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(
    *,
    port: int | None = None,
    security: str = "none",
    cert: tuple[Path, Path] | None = None,
    login: tuple[str, str] | None = None,
) -> Iterator[SmtpServer]:
    """A real aiosmtpd server on 127.0.0.1 (STARTTLS, SSL or plain; optional login)."""
    collector = _Collector()
    kwargs: dict[str, Any] = {}
    context = None
    if cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*map(str, cert))
    if security == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    if login is not None:

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == login
            return AuthResult(success=ok, handled=False)

        kwargs.update(authenticator=authenticator, auth_require_tls=security == "starttls")
    controller = Controller(
        collector,
        hostname="127.0.0.1",
        port=port or free_port(),
        ssl_context=context if security == "ssl" else None,
        **kwargs,
    )
    controller.start()
    try:
        yield SmtpServer(controller.port, collector.mails)
    finally:
        controller.stop()


@dataclass
class Request:
    """A request the HTTP receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 recording POSTs and answering with queued replies."""

    url: str
    requests: list[Request] = field(default_factory=list)
    replies: list[tuple[int, bytes]] = field(default_factory=list)  # consumed in order
    default_reply: tuple[int, bytes] = (200, b'{"errcode":0,"errmsg":"ok","code":0}')


@contextmanager
def http_receiver() -> Iterator[Receiver]:
    """Start the receiver in a thread; yields it (its `url` is the base URL)."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            receiver.requests.append(Request(self.path, dict(self.headers.items()), body))
            status, reply = receiver.replies.pop(0) if receiver.replies else receiver.default_reply
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


CHROMIUM = "/usr/bin/chromium"


def screenshot(html_path: Path, png_path: Path, profile: Path, *, timeout: float = 90) -> None:
    """Render a page with headless Chromium (no network) into a 1000x1400 PNG."""
    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--screenshot={png_path}",
        "--window-size=1000,1400",
        html_path.resolve().as_uri(),
    ]
    subprocess.run(args, check=True, capture_output=True, timeout=timeout)


def _unfilter_sequential(line: bytes, previous: bytes, bpp: int, paeth: bool) -> bytearray:
    # Average and Paeth depend on the pixel just decoded to the left, so they run byte by byte.
    row = bytearray(len(line))
    for i, value in enumerate(line):
        left = row[i - bpp] if i >= bpp else 0
        up = previous[i]
        if not paeth:
            row[i] = (value + ((left + up) >> 1)) & 0xFF
            continue
        upleft = previous[i - bpp] if i >= bpp else 0
        p = left + up - upleft
        pa, pb, pc = abs(p - left), abs(p - up), abs(p - upleft)
        predicted = left if pa <= pb and pa <= pc else (up if pb <= pc else upleft)
        row[i] = (value + predicted) & 0xFF
    return row


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> np.ndarray:
    stride = width * bpp
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], raw[start + 1 : start + 1 + stride]
        values = np.frombuffer(line, dtype=np.uint8)
        if kind == 0:
            row = values
        elif kind == 1:
            row = (np.cumsum(values.reshape(width, bpp), axis=0, dtype=np.uint32) % 256).astype(np.uint8)
            row = row.reshape(-1)
        elif kind == 2:
            row = values + previous  # uint8 arithmetic wraps modulo 256, as PNG wants
        else:
            decoded = _unfilter_sequential(line, previous.tobytes(), bpp, paeth=kind == 4)
            row = np.frombuffer(bytes(decoded), dtype=np.uint8)
        out[y] = row
        previous = out[y]
    return out


def decode_png(data: bytes) -> np.ndarray:
    """An 8-bit RGB(A) PNG as a (height, width, channels) array (zlib + struct, no imaging library)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "only 8-bit RGB/RGBA PNGs"
    bpp = 3 if colour == 2 else 4
    pixels = _unfilter(zlib.decompress(idat), width, height, bpp)
    return pixels.reshape(height, width, bpp)


SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    """A moment in April 2024, China time, as an aware UTC datetime."""
    return dt.datetime(2024, 4, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def record(
    title: str,
    url: str,
    *,
    text: str | None = None,
    region: str = "陕西省安康市镇坪县",
    categories: tuple[str, ...] = ("招生入学",),
    published_at: str = "2024-04-19",
) -> Record:
    """An extracted education announcement as storage receives it."""
    body = text or f"{title}。\n适龄儿童请于5月10日前完成网上报名，逾期不再受理。\n联系电话：0915-1234567。"
    return Record(
        url=url,
        title=title,
        text=body,
        published_at=published_at,
        region=region,
        topics=["education"],
        categories=list(categories),
    )


def ingest(
    factory: sessionmaker[Session],
    item: Record,
    *,
    source: str = "zhenping-jyj",
    kind: SourceKind = "education_bureau",
    now: dt.datetime,
) -> IngestResult:
    """Store a record through storage's own ingest, committed."""
    with factory() as session, session.begin():
        return ingest_article(
            session, item, source=SourceRef(source, kind), fetched_url=item.url or "", now=now
        )


def health_alert(factory: sessionmaker[Session], source: str, status: str, *, now: dt.datetime) -> int:
    """A source-health alert, as storage raises when a source starts failing."""
    with factory() as session, session.begin():
        src = source_row(session, SourceRef(source, "newspaper"), now)
        payload = {"health": status, "previous": "ok", "message": f"list page answered HTTP 500 ({status})"}
        alert_id, _ = add_alert(
            session,
            kind="health",
            key=f"health:{source}:{now.isoformat()}",
            payload=payload,
            source_id=src.id,
            now=now,
        )
        return alert_id


def notify_config(
    tmp_path: Path,
    database: str,
    channels: dict[str, Any],
    subscriptions: list[dict[str, Any]],
    **notify: Any,
) -> Config:
    """A configuration with these channels and subscriptions, data kept under tmp_path."""
    data = {
        "database": database,
        "data_dir": str(tmp_path / "data"),
        "notify": {"channels": channels, "subscriptions": subscriptions, **notify},
    }
    return config_from_dict(data, base_dir=str(tmp_path))
