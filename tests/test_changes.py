"""Change detection: versions with paragraph diffs, withdrawals, and idempotent alerts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.changes import text_change
from storage.models import Alert, Article, ArticleVersion
from storage.neardup import NearDupIndex
from storage.repository import (
    DELETED_NOTICE,
    NotAnArticle,
    ingest_article,
    mark_checked,
    record_gone,
)
from tests.storage_builders import SOURCES, T0, make_article, paragraphs

GOV = SOURCES["government"]
URL = "http://www.zhenping.gov.cn/jyj/2023/0908/1234.html"
DIFF_CASES = yaml.safe_load((Path(__file__).parent / "fixtures/storage/diff_cases.yaml").read_text("utf-8"))


@pytest.mark.parametrize("case", DIFF_CASES, ids=[c["name"] for c in DIFF_CASES])
def test_paragraph_diff(case: dict[str, Any]) -> None:
    change = text_change("标题", case["old"], "标题", case["new"])
    if case["expected"] is None:
        assert change is None
    else:
        assert change is not None
        assert list(change.lines) == case["expected"]


def test_title_change_leads_the_diff() -> None:
    change = text_change("旧标题", "正文。", "新标题", "正文。")
    assert change is not None
    assert change.as_text() == "标题: 旧标题 → 新标题"


def test_short_diff_is_capped() -> None:
    old = "\n".join(f"第{i}段原文。" for i in range(10))
    new = "\n".join(f"第{i}段新文。" for i in range(10))
    change = text_change(None, old, None, new)
    assert change is not None
    short = change.short(max_lines=4)
    assert short[:4] == ["- 第0段原文。", "- 第1段原文。", "- 第2段原文。", "- 第3段原文。"]
    assert short[4] == "… (16 more changed lines)"


def _alerts(session: Session, kind: str) -> list[Alert]:
    return list(session.scalars(select(Alert).where(Alert.kind == kind).order_by(Alert.id)))


def _count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_same_page_three_times_is_one_article_and_one_alert(session: Session) -> None:
    outcomes = []
    for i in range(3):
        result = ingest_article(
            session, make_article(), source=GOV, fetched_url=URL, now=T0 + timedelta(hours=i)
        )
        outcomes.append(result.outcome)
        session.commit()
    assert outcomes == ["new", "unchanged", "unchanged"]
    assert _count(session, Article) == 1
    assert _count(session, ArticleVersion) == 1
    assert len(_alerts(session, "new")) == 1
    article = session.scalars(select(Article)).one()
    assert article.last_seen == T0 + timedelta(hours=2)
    assert article.first_seen == T0
    assert article.last_changed == T0


def test_layout_only_differences_are_not_changes(session: Session) -> None:
    ingest_article(session, make_article(), source=GOV, fetched_url=URL, now=T0)
    respaced = [" " + p.replace(",", ",") + " " for p in paragraphs("zhenping")]
    again = make_article(paras=["", *respaced, ""], title=" 镇坪县召开教育高质量发展大会 ")
    result = ingest_article(session, again, source=GOV, fetched_url=URL, now=T0 + timedelta(days=1))
    assert result.outcome == "unchanged"
    assert result.alert_ids == ()


def test_edited_paragraph_makes_a_version_with_a_diff_and_one_changed_alert(session: Session) -> None:
    first = ingest_article(session, make_article(), source=GOV, fetched_url=URL, now=T0)
    paras = paragraphs("zhenping")
    paras[-1] = "会上还表彰了2022—2023学年度先进单位,并部署了秋季学期开学工作。"
    edited = make_article(paras=paras)
    results = [
        ingest_article(session, edited, source=GOV, fetched_url=URL, now=T0 + timedelta(days=d))
        for d in (1, 2, 3)
    ]
    session.commit()
    assert [r.outcome for r in results] == ["changed", "unchanged", "unchanged"]
    assert results[0].version == 2 and results[0].article_id == first.article_id
    changed = _alerts(session, "changed")
    assert len(changed) == 1
    assert changed[0].key == f"changed:article:{first.article_id}:v2"
    assert (
        changed[0].payload["diff"][-1] == "+ 会上还表彰了2022—2023学年度先进单位,并部署了秋季学期开学工作。"
    )
    assert changed[0].payload["diff"][0].startswith("- 会上还表彰了2022—2023学年度教育工作目标责任考核")
    versions = session.scalars(select(ArticleVersion).order_by(ArticleVersion.version)).all()
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].diff == "" and versions[1].diff.count("\n") == 1
    article = session.get(Article, first.article_id)
    assert article is not None and article.version == 2 and article.last_changed == T0 + timedelta(days=1)
    assert len(_alerts(session, "new")) == 1


def test_title_change_is_material(session: Session) -> None:
    ingest_article(session, make_article(), source=GOV, fetched_url=URL, now=T0)
    result = ingest_article(
        session, make_article(title="镇坪县召开2023年教育高质量发展大会"), source=GOV, fetched_url=URL, now=T0
    )
    assert result.outcome == "changed"
    assert _alerts(session, "changed")[0].payload["diff"] == [
        "标题: 镇坪县召开教育高质量发展大会 → 镇坪县召开2023年教育高质量发展大会"
    ]


def test_change_of_a_mirror_copy_raises_no_alert(session: Session) -> None:
    mirror_url = "http://mirror.example.com/zp/1.html"
    ingest_article(session, make_article(), source=SOURCES["mirror"], fetched_url=mirror_url, now=T0)
    result = ingest_article(
        session,
        make_article(paras=paragraphs("zhenping")[:2]),
        source=SOURCES["mirror"],
        fetched_url=mirror_url,
    )
    assert result.outcome == "changed"
    assert result.alert_ids == ()
    assert _count(session, Alert) == 0


def test_change_updates_the_near_duplicate_index(session: Session) -> None:
    index = NearDupIndex()
    first = ingest_article(session, make_article(), source=GOV, fetched_url=URL, index=index, now=T0)
    ingest_article(session, make_article("dongqu"), source=GOV, fetched_url=URL, index=index, now=T0)
    paper = SOURCES["newspaper"]
    near_new = make_article("dongqu", paras=paragraphs("dongqu")[:-1])
    copy = ingest_article(
        session, near_new, source=paper, fetched_url="http://news.example.com/1.html", index=index
    )
    assert copy.outcome == "duplicate" and copy.story_id == first.story_id
    near_old = make_article(paras=paragraphs("zhenping")[:-1])
    other = ingest_article(
        session, near_old, source=paper, fetched_url="http://news.example.com/2.html", index=index
    )
    assert other.outcome == "new" and other.story_id != first.story_id


def test_mobile_url_is_the_same_page(session: Session) -> None:
    ingest_article(session, make_article(), source=GOV, fetched_url=URL, now=T0)
    mobile = URL.replace("www.", "m.")
    result = ingest_article(
        session, make_article(), source=GOV, fetched_url=mobile, now=T0 + timedelta(days=1)
    )
    assert result.outcome == "unchanged"
    assert _count(session, Article) == 1


def test_list_page_is_not_stored(session: Session) -> None:
    page = make_article()
    page.page_kind = "list"
    with pytest.raises(NotAnArticle, match="not an article page"):
        ingest_article(session, page, source=GOV, fetched_url=URL)
    assert _count(session, Article) == 0


def test_two_consecutive_404s_withdraw_with_one_alert(session: Session) -> None:
    stored = ingest_article(session, make_article(), source=GOV, fetched_url=URL, now=T0)
    first = record_gone(session, URL, status=404, now=T0 + timedelta(days=1))
    assert first.found and not first.withdrawn and first.alert_id is None and not first.newly_withdrawn
    second = record_gone(session, URL, status=410, now=T0 + timedelta(days=2))
    third = record_gone(session, URL, status=404, now=T0 + timedelta(days=4))
    session.commit()
    assert second.withdrawn and second.alert_id is not None and second.newly_withdrawn
    assert third.withdrawn and third.alert_id is None and third.gone_count == 3 and not third.newly_withdrawn
    withdrawn = _alerts(session, "withdrawn")
    assert [a.key for a in withdrawn] == [f"withdrawn:article:{stored.article_id}"]
    article = session.get(Article, stored.article_id)
    assert (
        article is not None
        and article.status == "withdrawn"
        and article.withdrawn_at == T0 + timedelta(days=2)
    )


def test_a_successful_fetch_between_404s_resets_the_count(session: Session) -> None:
    ingest_article(session, make_article(), source=GOV, fetched_url=URL, now=T0)
    record_gone(session, URL, status=404, now=T0 + timedelta(days=1))
    assert mark_checked(session, URL, now=T0 + timedelta(days=2))
    result = record_gone(session, URL, status=404, now=T0 + timedelta(days=4))
    assert result.gone_count == 1 and not result.withdrawn
    record_gone(session, URL, status=404, now=T0 + timedelta(days=5))
    again = ingest_article(session, make_article(), source=GOV, fetched_url=URL, now=T0 + timedelta(days=6))
    assert again.outcome == "unchanged"
    assert record_gone(session, URL, status=404, now=T0 + timedelta(days=7)).gone_count == 1


def test_deleted_notice_withdraws_at_once(session: Session) -> None:
    ingest_article(session, make_article(), source=GOV, fetched_url=URL, now=T0)
    result = record_gone(session, URL, status=DELETED_NOTICE, now=T0 + timedelta(days=1))
    assert result.withdrawn and result.alert_id is not None


def test_withdrawn_page_that_returns_is_reactivated_without_a_second_alert(session: Session) -> None:
    stored = ingest_article(session, make_article(), source=GOV, fetched_url=URL, now=T0)
    record_gone(session, URL, status=DELETED_NOTICE, now=T0 + timedelta(days=1))
    back = ingest_article(session, make_article(), source=GOV, fetched_url=URL, now=T0 + timedelta(days=2))
    assert back.outcome == "unchanged" and back.alert_ids == ()
    article = session.get(Article, stored.article_id)
    assert article is not None and article.status == "active" and article.withdrawn_at is None
    again = record_gone(session, URL, status=DELETED_NOTICE, now=T0 + timedelta(days=3))
    assert again.withdrawn and again.alert_id is None
    assert len(_alerts(session, "withdrawn")) == 1


def test_withdrawn_mirror_raises_no_alert(session: Session) -> None:
    url = "http://mirror.example.com/zp/1.html"
    ingest_article(session, make_article(), source=SOURCES["mirror"], fetched_url=url, now=T0)
    result = record_gone(session, url, status=DELETED_NOTICE, now=T0)
    assert result.withdrawn and result.alert_id is None


def test_gone_for_unknown_url_and_bad_status(session: Session) -> None:
    assert not record_gone(session, "http://www.zhenping.gov.cn/none.html", status=404).found
    with pytest.raises(ValueError, match="status 500 does not mean gone"):
        record_gone(session, URL, status=500)
