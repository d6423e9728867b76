"""End to end with early re-checks on: an edit or a replaced attachment is found in the next cycle.

`countywatch crawl` against the replica, with early re-checks reaching back to the replica's dates,
on one fresh SQLite database:
1. first crawl: the paper's reprint of ak-stipend (its own lead, no salutation, last paragraph
   dropped) joins the bureau's story; dq-recruitment's 岗位表 PDF is read, its words are found by
   `countywatch articles --search` although the page does not contain them;
2. after `advance()`, the very next crawl, with nothing due on the decaying schedule: every recent
   article is asked with If-None-Match/If-Modified-Since; unchanged ones answer 304, the edited
   enrolment notice is stored as version 2, and the replaced 岗位表 (same link, new bytes) makes
   version 2 of dq-recruitment with its own diff line, which the digest shows;
3. a third crawl with nothing changed: every stored article and attachment answers 304.
These cycles run seconds apart, so early re-checks are asked every cycle (`recheck_recent_every: 0s`).

With the default interval (`recheck_recent_every: 1h`) a cycle run right after another asks no
article at all; once the interval has passed (the last checks moved back in the database), the
next cycle finds the edit, and records its 304s so the cycle after asks nothing again.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from core.urls import canonicalize_url
from countywatch.cli import cli
from replica.network import ReplicaNetwork
from storage.db import make_engine, make_session_factory
from storage.models import Article, ArticleVersion
from tests.test_crawl_e2e import SLOW, article_requests, check_store, crawl, database

pytestmark = pytest.mark.e2e


def write_config(net: ReplicaNetwork, folder: Path, every: str = "0s") -> Path:
    config = net.config_dict(f"sqlite:///{folder / 'countywatch.db'}", data_dir=str(folder / "data"))
    # The replica's notices are dated April 2024: "recent" must reach back that far for them to be
    # treated as a bureau's fresh notices (the rule also asks for a recent publication date).
    config["crawl"].update(
        {
            "http_cache": True,
            "timeout": SLOW + 3,
            "extract_workers": 1,
            "recheck_recent": "3650d",
            "recheck_recent_every": every,
        }
    )
    config["notify"] = {
        "channels": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/never"}},
        "subscriptions": [{"name": "家长", "channels": ["hook"]}],
    }
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def cli_out(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def records(config: Path, *args: str) -> list[dict[str, Any]]:
    out = cli_out("articles", "--config", str(config), "--format", "jsonl", *args)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def diffs(folder: Path, article_id: int) -> list[str]:
    engine = make_engine(f"sqlite:///{folder / 'countywatch.db'}")
    try:
        with make_session_factory(engine)() as session:
            stmt = select(ArticleVersion.diff).where(ArticleVersion.article_id == article_id)
            return list(session.scalars(stmt.order_by(ArticleVersion.version)))
    finally:
        engine.dispose()


def test_edits_and_replaced_attachments_are_found_in_the_next_cycle(tmp_path: Path) -> None:
    with ReplicaNetwork(slow_seconds=SLOW) as net:
        expected = net.expected
        config = write_config(net, tmp_path)
        recruitment = canonicalize_url(expected.by_key("dq-recruitment").url)
        enrolment = canonicalize_url(expected.by_key("zp-enrolment").url)

        # 1. first crawl: the reprint joins its story; the attachment is read and searchable
        crawl(config)
        by_url = check_store(database(tmp_path), expected, 1)
        reprint = by_url[canonicalize_url(expected.by_key("xt-stipend").url)]
        assert reprint.story_id == by_url[canonicalize_url(expected.by_key("ak-stipend").url)].story_id
        found = records(config, "--search", "笔试科目")
        assert [r["url"] for r in found] == [recruitment]
        assert "笔试科目" not in found[0]["text"]
        (posts,) = found[0]["attachments"]
        assert posts["url"].endswith("/P020240419512345678901.pdf") and len(posts["sha256"]) == 64
        assert posts["bytes"] > 0 and posts["text_chars"] > 50
        first_hash = posts["sha256"]

        # 2. the next crawl, nothing due by the schedule: conditional GETs find both changes
        net.requests.clear()
        net.advance()
        report = crawl(config)
        db = database(tmp_path)
        by_url = {row.url: row for row in db["articles"]}
        assert db["versions"][by_url[enrolment].id] == 2
        assert db["versions"][by_url[recruitment].id] == 2
        replaced = diffs(tmp_path, by_url[recruitment].id)[1]
        assert replaced.startswith("~ 附件已更换: 攀枝花市东区2024年公开招聘中小学教师岗位表")
        (posts,) = records(config, "--search", "社会体育指导与管理")[0]["attachments"]
        assert posts["sha256"] != first_hash
        statuses = article_requests(net, expected)
        unchanged = [a for a in expected.served(2) if a.since == 1 and a.changed_in != 2]
        assert unchanged
        for article in unchanged:
            assert statuses[article.url] == [304], article.url
        assert sum(s["not_modified"] for s in report["sources"]) >= len(unchanged)
        digest = cli_out("digest", "--config", str(config), "--dry-run", "--since", "7d")
        changed_part = digest.split("== 已变更的公告", 1)[1]
        assert replaced in changed_part and expected.by_key("zp-enrolment").title in changed_part

        # 3. nothing changed: every stored page and attachment answers 304, nothing is extracted
        net.requests.clear()
        report = crawl(config)
        statuses = article_requests(net, expected)
        for article in expected.served(2):
            assert statuses[article.url] == [304], article.url
        assert sum(s["attachments_unchanged"] for s in report["sources"]) == 1
        assert database(tmp_path)["versions"][by_url[recruitment].id] == 2


def hours_pass(folder: Path, hours: float) -> None:
    """Move every article's last check `hours` into the past, as if that time had gone by."""
    engine = make_engine(f"sqlite:///{folder / 'countywatch.db'}")
    try:
        with make_session_factory(engine)() as session, session.begin():
            for row in session.scalars(select(Article)):
                row.last_checked -= timedelta(hours=hours)
    finally:
        engine.dispose()


def test_recent_articles_are_asked_once_per_interval_and_an_edit_is_found_when_due(tmp_path: Path) -> None:
    with ReplicaNetwork(slow_seconds=SLOW) as net:
        expected = net.expected
        config = write_config(net, tmp_path, every="1h")
        enrolment = canonicalize_url(expected.by_key("zp-enrolment").url)
        crawl(config)
        check_store(database(tmp_path), expected, 1)

        # right after the first cycle: no stored article is asked again (the replica's broken
        # pages, never stored, are tried again as every cycle does)
        stored = {a.url for a in expected.stored(1)}
        net.requests.clear()
        report = crawl(config)
        assert stored.isdisjoint(article_requests(net, expected))
        assert sum(s["not_modified"] for s in report["sources"]) == 0

        # an hour and more later the site has edited a notice: the next cycle asks and finds it
        hours_pass(tmp_path, 2)
        net.requests.clear()
        net.advance()
        crawl(config)
        db = database(tmp_path)
        assert db["versions"][{row.url: row for row in db["articles"]}[enrolment].id] == 2
        statuses = article_requests(net, expected)
        unchanged = [a for a in expected.served(2) if a.since == 1 and a.changed_in != 2]
        assert unchanged
        for article in unchanged:
            assert statuses[article.url] == [304], article.url

        # their 304s were recorded: the cycle right after asks none of them again
        net.requests.clear()
        crawl(config)
        assert {a.url for a in expected.stored(2)}.isdisjoint(article_requests(net, expected))
