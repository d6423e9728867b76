"""`countywatch history URL|ID`: an article's versions and diffs in the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from countywatch.cli import cli
from storage.db import upgrade
from tests.digest_support import HOSTILE
from tests.web_support import HOLIDAY, OFFICIAL, Site, build_site


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path) -> Site:
    upgrade(sqlite_url)
    return build_site(sqlite_url, tmp_path)


def _run(site: Site, tmp_path: Path, *args: str) -> tuple[int, str]:
    config = tmp_path / "sources.yaml"
    config.write_text(f"database: {site.url}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["history", "--config", str(config), *args])
    return result.exit_code, result.output


def test_history_by_id_shows_each_version_and_its_diff(site: Site, tmp_path: Path) -> None:
    status, out = _run(site, tmp_path, str(site.holiday))
    assert status == 0, out
    assert "2 versions" in out
    assert out.index("version 2") < out.index("version 1")
    assert "- 7月6日起放假，9月1日开学。" in out
    assert f"+ 7月10日起放假{HOSTILE}，9月1日开学。" in out
    assert "first seen" in out


def test_history_by_url_finds_the_article_and_its_other_copies(site: Site, tmp_path: Path) -> None:
    status, out = _run(site, tmp_path, OFFICIAL + "?from=timeline")
    assert status == 0, out
    assert "1 version" in out and f"article {site.official}" in out
    assert "other copies of the story (first published by 镇坪县教育体育科技局)" in out
    assert f"{site.reprint}  ankang-news" in out
    status, text = _run(site, tmp_path, HOLIDAY, "--text")
    assert status == 0 and "请各校做好假期安全教育。" in text


def test_unknown_articles_are_one_line_errors(site: Site, tmp_path: Path) -> None:
    for arg in ["99999", "http://nowhere.example.cn/1.html", "ftp://x/y"]:
        status, out = _run(site, tmp_path, arg)
        assert status == 1 and out.count("\n") == 1 and "Traceback" not in out, out
