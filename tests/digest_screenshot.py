"""Screenshots with headless Chromium, and a PNG decoder (zlib + struct + numpy) to check them."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np

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
