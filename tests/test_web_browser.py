"""`countywatch serve` end to end in headless Chromium: main pages at desktop and phone widths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storage.db import upgrade
from tests.digest_screenshot import decode_png
from tests.digest_support import HOSTILE
from tests.web_browser import WIDTHS, capture, free_port, serving
from tests.web_support import build_site

pytestmark = pytest.mark.e2e


def test_main_pages_in_chromium_at_desktop_and_phone_widths(sqlite_url: str, tmp_path: Path) -> None:
    upgrade(sqlite_url)
    site = build_site(sqlite_url, tmp_path)
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"database: {sqlite_url}\ndata_dir: {tmp_path / 'data'}\n"
        "notify:\n  channels: {hook: {type: webhook, url: 'http://127.0.0.1:9/'}}\n"
        "  subscriptions: [{name: parents, channels: [hook], schedule: immediate}]\n",
        encoding="utf-8",
    )
    paths = {
        "index": "/",
        "search": "/?q=暑假",
        "article": f"/articles/{site.holiday}",
        "story": f"/stories/{site.story}",
        "sources": "/sources",
        "subscriptions": "/subscriptions",
    }
    port = free_port()
    with serving(config, port, env={"COUNTYWATCH_SERVE_TOKEN": ""}):
        visits = capture(f"http://127.0.0.1:{port}", paths, tmp_path / "shots")
    assert len(visits) == len(paths) * len(WIDTHS)
    for visit in visits:
        where = f"{visit.path} at {visit.width} width"
        assert visit.status == 200, where
        assert visit.console_errors == [], where
        assert visit.outside_requests == [], where
        assert visit.dialogs == [], f"a script ran on {where}"
        # Readable on a phone: nothing wider than the screen (tables and the chart scroll inside).
        assert visit.overflow <= 0, f"{where} is {visit.overflow}px wider than the window"
        pixels = decode_png(visit.screenshot.read_bytes())
        assert pixels.shape[1] == WIDTHS[visit.width][0]
        rgb = pixels[..., :3].reshape(-1, 3)
        assert len(np.unique(rgb, axis=0)) > 100, f"{where}: text and styles did not render"
        # The header band is the template's dark blue.
        assert abs(pixels[8, 4, :3].astype(int) - np.array([0x1F, 0x4E, 0x79])).max() < 12, where
    article = next(v for v in visits if v.path == paths["article"] and v.width == "phone")
    # The hostile title shows as text, and the diff of the edit is on the page.
    assert HOSTILE in article.text
    assert "+ 7月10日起放假" in article.text and "- 7月6日起放假" in article.text
