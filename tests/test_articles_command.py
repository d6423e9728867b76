"""`countywatch articles` and `countywatch db`: stored articles printed as JSON lines, CSV or a table."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from countywatch.cli import cli
from countywatch.config import load_config
from crawler.article import Article
from storage.db import make_engine, make_session_factory, upgrade
from storage.repository import DELETED_NOTICE, ingest_article, record_gone
from tests.storage_builders import SOURCES, T0, make_article, paragraphs

GOV_URL = "http://www.zhenping.gov.cn/a/1.html"
MIRROR_URL = "http://mirror.example.com/1.html"
DONGQU_URL = "http://www.dongqu.gov.cn/a/2.html"
FARM_URL = "http://www.zhenping.gov.cn/a/3.html"


def _run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--config", str(config)])


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text("database: sqlite:///data/countywatch.db\n", encoding="utf-8")
    return path


@pytest.fixture
def stored(config_file: Path) -> Path:
    """A configuration whose database holds four articles: two copies of one story, two others."""
    result = _run(config_file, "db", "upgrade")
    assert result.exit_code == 0, result.output
    engine = make_engine(load_config(config_file).database_url)
    with make_session_factory(engine)() as session:
        ingest_article(session, make_article(), source=SOURCES["government"], fetched_url=GOV_URL, now=T0)
        ingest_article(
            session,
            make_article(),
            source=SOURCES["mirror"],
            fetched_url=MIRROR_URL,
            now=T0 + timedelta(hours=1),
        )
        dongqu = make_article("dongqu", categories=["招生入学", "政策文件"])
        ingest_article(
            session, dongqu, source=SOURCES["other"], fetched_url=DONGQU_URL, now=T0 + timedelta(hours=2)
        )
        farming = make_article("farming", categories=[])
        ingest_article(session, farming, source=SOURCES["government"], fetched_url=FARM_URL, now=T0)
        edited = make_article("farming", categories=[], paras=paragraphs("farming")[:2])
        ingest_article(
            session, edited, source=SOURCES["government"], fetched_url=FARM_URL, now=T0 + timedelta(days=1)
        )
        record_gone(session, FARM_URL, status=DELETED_NOTICE, now=T0 + timedelta(days=2))
        session.commit()
    engine.dispose()
    return config_file


def _jsonl(config: Path, *args: str) -> list[dict[str, object]]:
    result = _run(config, "articles", "--format", "jsonl", *args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_jsonl_has_the_extract_keys_and_the_story(stored: Path) -> None:
    records = _jsonl(stored)
    assert len(records) == 4
    expected_keys = set(Article().to_json()) | {
        "story_id",
        "status",
        "first_seen",
        "last_changed",
        "versions",
    }
    assert all(set(r) == expected_keys for r in records)
    by_url = {r["url"]: r for r in records}
    gov, mirror = by_url[GOV_URL], by_url[MIRROR_URL]
    assert gov["story_id"] == mirror["story_id"] != by_url[DONGQU_URL]["story_id"]
    assert gov["title"] == "镇坪县召开教育高质量发展大会"
    assert gov["text"] == "\n".join(paragraphs("zhenping"))
    assert gov["authors"] == ["王贤忠"] and gov["section"] == "新闻动态 > 县区传真"
    assert gov["published_at"] == "2023-09-08T11:11:00+08:00" and gov["status"] == "active"
    assert gov["first_seen"] == T0.isoformat() and gov["versions"] == 1
    farm = by_url[FARM_URL]
    assert farm["status"] == "withdrawn" and farm["versions"] == 2
    assert farm["last_changed"] == (T0 + timedelta(days=1)).isoformat()


def test_csv_has_a_header_and_one_row_per_article(stored: Path) -> None:
    result = _run(stored, "articles", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 4
    dongqu = next(r for r in rows if r["url"] == DONGQU_URL)
    assert dongqu["categories"] == "招生入学;政策文件"
    assert dongqu["title"] == "东区召开中小学教师“区管校聘”管理体制改革动员会"
    assert dongqu["status"] == "active" and dongqu["versions"] == "1"
    assert dongqu["region"] == "四川省攀枝花市东区"


def test_table_lists_titles_newest_first(stored: Path) -> None:
    result = _run(stored, "articles", "--limit", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "story", "status", "published", "source", "title"]
    assert "东区召开中小学教师" in lines[1] and "mirror-farm" in lines[2]
    assert len(lines) == 3


@pytest.mark.parametrize(
    ("args", "urls"),
    [
        (["--search", "区管校聘"], {DONGQU_URL}),
        (["--source", "zhenping-gov"], {GOV_URL, FARM_URL}),
        (["--region", "镇坪县"], {GOV_URL, MIRROR_URL}),
        (["--category", "招生入学"], {DONGQU_URL}),
        (["--status", "withdrawn"], {FARM_URL}),
        (["--since", "2023-09-01"], {GOV_URL, MIRROR_URL}),
        (["--source", "zhenping-gov", "--status", "active"], {GOV_URL}),
        (["--search", "100%_"], set()),
    ],
    ids=[
        "search",
        "source",
        "region",
        "category",
        "status",
        "since",
        "combined",
        "like_wildcards_are_literal",
    ],
)
def test_filters(stored: Path, args: list[str], urls: set[str]) -> None:
    assert {r["url"] for r in _jsonl(stored, *args)} == urls


def test_missing_database_is_a_one_line_error(config_file: Path) -> None:
    result = _run(config_file, "articles")
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("does not exist: run `countywatch db upgrade`")
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


def test_unmigrated_database_is_a_one_line_error(config_file: Path) -> None:
    (config_file.parent / "data").mkdir()
    (config_file.parent / "data" / "countywatch.db").write_bytes(b"")
    result = _run(config_file, "articles", "--format", "jsonl")
    assert result.exit_code == 1
    assert "has no countywatch tables: run `countywatch db upgrade`" in result.stderr
    assert result.stdout == ""


def test_bad_option_values_are_rejected(stored: Path) -> None:
    assert _run(stored, "articles", "--since", "yesterday").exit_code == 2
    assert _run(stored, "articles", "--limit", "0").exit_code == 2
    assert _run(stored, "articles", "--format", "xml").exit_code == 2


def test_db_upgrade_and_current(config_file: Path) -> None:
    before = _run(config_file, "db", "current")
    assert before.exit_code == 0 and "does not exist" in before.stdout
    upgraded = _run(config_file, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert (config_file.parent / "data" / "countywatch.db").is_file()
    again = _run(config_file, "db", "upgrade")
    assert again.exit_code == 0 and "(newest)" in again.stdout
    current = _run(config_file, "db", "current")
    assert current.exit_code == 0 and current.stdout.strip().endswith("(newest)")


def test_db_current_on_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/empty.db"
    engine = make_engine(url)
    engine.connect().close()
    engine.dispose()
    config = tmp_path / "c.yaml"
    config.write_text(f"database: {url}\n", encoding="utf-8")
    result = _run(config, "db", "current")
    assert result.exit_code == 0 and "is empty: run `countywatch db upgrade`" in result.stdout
    upgrade(url)
    assert "(newest)" in _run(config, "db", "current").stdout


def test_unreachable_database_is_a_one_line_error(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("database: postgresql+psycopg://cw:secret@127.0.0.1:1/countywatch\n", encoding="utf-8")
    for args in (["db", "upgrade"], ["articles"], ["db", "current"]):
        result = _run(config, *args)
        assert result.exit_code == 1, result.output
        assert len(result.stderr.strip().splitlines()) == 1
        assert "127.0.0.1:1" in result.stderr and "secret" not in result.stderr
