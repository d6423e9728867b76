"""Pre-rendered responses, and the bodies of the hostile pages that are not built from templates."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from functools import cached_property

HTML_UTF8 = "text/html; charset=utf-8"


@dataclass(eq=False)
class Page:
    """One response, rendered once and served many times.

    `conditional` pages carry ETag and Last-Modified and answer 304 to conditional requests;
    `slow` pages are delayed by the network's `slow_seconds` before they are answered.
    """

    status: int
    body: bytes
    content_type: str = HTML_UTF8
    headers: tuple[tuple[str, str], ...] = ()
    slow: bool = False
    conditional: bool = True

    @cached_property
    def etag(self) -> str:
        """A strong validator: the hash of the body."""
        return '"' + hashlib.blake2b(self.body, digest_size=10).hexdigest() + '"'


def redirect(location: str, status: int = 302) -> Page:
    """A redirect with a short HTML body, as nginx sends it."""
    body = (
        f"<html><head><title>{status} Found</title></head><body><center><h1>{status} Found</h1>"
        "</center><hr><center>nginx</center></body></html>"
    ).encode()
    return Page(status, body, headers=(("Location", location),), conditional=False)


def binary_blob(seed: str, size: int = 256 * 1024) -> bytes:
    """Deterministic binary bytes that start like a PNG (served, wrongly, as text/html)."""
    rng = random.Random(seed)
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(size)


def minimal_pdf(title: str) -> bytes:
    """A small valid one-page PDF whose page shows `title` (ASCII)."""
    text = title.encode("ascii", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 14 Tf 60 760 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def huge_table(head: bytes, *, encoding: str, target_bytes: int) -> bytes:
    """A statistics page padded with table rows up to about `target_bytes` (the ~20 MB page)."""
    counties = [
        "汉滨区",
        "汉阴县",
        "石泉县",
        "宁陕县",
        "紫阳县",
        "岚皋县",
        "平利县",
        "镇坪县",
        "旬阳市",
        "白河县",
    ]
    stages = ["小学", "初中", "高中", "幼儿园"]
    rows = []
    for n in range(1, 2001):
        county, stage = counties[n % len(counties)], stages[n % len(stages)]
        rows.append(
            f"<tr><td>{n}</td><td>{county}</td><td>{county}第{n % 97 + 1}{stage}</td><td>{stage}</td>"
            f"<td>{(n * 37) % 2400 + 60}</td><td>{(n * 13) % 160 + 8}</td></tr>\n"
        )
    # A block of distinct rows repeated: building 20 MB row by row would cost a second per network.
    block = "".join(rows).encode(encoding)
    repeats = max(1, -(-(target_bytes - len(head)) // len(block)))
    return head + block * repeats + b"</table></div></body></html>\n"
