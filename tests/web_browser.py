"""Driving `countywatch serve` in headless Chromium (Playwright on Debian's /usr/bin/chromium).

`python -m tests.web_browser CONFIG OUT_DIR` serves CONFIG's database and writes the screenshots of
the main pages at desktop and phone widths to OUT_DIR (how docs/screenshots/ is made, from the
demo's database).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, sync_playwright

from tests.digest_screenshot import CHROMIUM
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@dataclass
class Visit:
    """What one page did in the browser."""

    path: str
    width: str
    screenshot: Path
    status: int
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    overflow: int = 0  # pixels the page is wider than the window (horizontal scrolling)
    text: str = ""


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


@contextmanager
def serving(config: Path, port: int, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """`countywatch serve --config CONFIG --port PORT` (default host) running until the block ends."""
    command = [sys.executable, "-m", "countywatch", "serve", "--config", str(config), "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_for(lambda: process.poll() is not None or _listening(port), timeout=60, what="countywatch serve")
        assert process.poll() is None, (process.stdout.read() if process.stdout else b"").decode()
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _guard(visit: Visit, page: Page) -> None:
    def route(r: Route) -> None:
        if urlsplit(r.request.url).hostname == "127.0.0.1":
            r.continue_()
        else:
            visit.outside_requests.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: visit.console_errors.append(str(e)))
    page.on("dialog", lambda d: (visit.dialogs.append(d.message), d.dismiss()))


def capture(base: str, paths: dict[str, str], out: Path) -> list[Visit]:
    """Open each page at each width; screenshot it (full page) to OUT/<name>-<width>.png."""
    out.mkdir(parents=True, exist_ok=True)
    visits = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            for width, (w, h) in WIDTHS.items():
                for name, path in paths.items():
                    page = browser.new_page(viewport={"width": w, "height": h})
                    visit = Visit(path, width, out / f"{name}-{width}.png", 0)
                    _guard(visit, page)
                    response = page.goto(base + path, wait_until="load")
                    visit.status = response.status if response else 0
                    visit.overflow = int(
                        page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    )
                    visit.text = page.inner_text("body")
                    page.screenshot(path=str(visit.screenshot), full_page=True)
                    page.close()
                    visits.append(visit)
        finally:
            browser.close()
    return visits


def main(argv: list[str]) -> int:
    """Serve CONFIG and write the main pages' screenshots to OUT_DIR."""
    config, out = Path(argv[0]).resolve(), Path(argv[1])
    port = free_port()
    paths = {
        "index": "/",
        "article-changed": argv[2] if len(argv) > 2 else "/articles/1",
        "story": argv[3] if len(argv) > 3 else "/stories/1",
        "sources": "/sources",
        "subscriptions": "/subscriptions",
    }
    with serving(config, port):
        for visit in capture(f"http://127.0.0.1:{port}", paths, out):
            print(visit.screenshot, visit.status, visit.console_errors or "", visit.outside_requests or "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
