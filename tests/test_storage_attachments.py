"""Attachments in storage: stored once by hash, searchable, in the record; a replaced file is a change."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.article import Article, Attachment
from storage.models import Alert, ArticleAttachment, ArticleVersion, AttachmentFile
from storage.repository import ArticleFilter, ingest_article, iter_articles, known_pages, recheck_attachment
from tests.storage_builders import SOURCES, T0, make_article

GOV = SOURCES["government"]
URL = "http://www.zhenping.gov.cn/a/1.html"
PDF = "http://www.zhenping.gov.cn/a/P020240301.pdf"
POSTS_V1 = "岗位代码 24001 初中语文 2人 笔试科目 教育公共基础与语文学科知识"
POSTS_V2 = "岗位代码 24001 初中语文 3人 笔试科目 教育公共基础与语文学科知识"


def fetched(text: str, *, title: str = "岗位表", url: str = PDF) -> tuple[Attachment, dict[str, str]]:
    """An attachment as the crawler hands it over after reading it, and its text by hash."""
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    attachment = Attachment(title=title, url=url, sha256=digest, bytes=len(data), text_chars=len(text))
    return attachment, {digest: text}


def notice(*attachments: Attachment, paras: list[str] | None = None) -> Article:
    article = make_article(categories=("教师招聘",), paras=paras)
    article.attachments = list(attachments)
    return article


def test_attachment_text_is_stored_once_and_found_by_search(session: Session) -> None:
    attachment, texts = fetched(POSTS_V1)
    ingest_article(session, notice(attachment), source=GOV, fetched_url=URL, attachment_texts=texts, now=T0)
    # The same file linked from the county portal's copy: one stored text.
    copy, _ = fetched(POSTS_V1, url="http://www.zhenping.gov.cn/b/P020240301.pdf")
    ingest_article(
        session,
        notice(copy),
        source=SOURCES["other"],
        fetched_url="http://portal.example.com/1",
        attachment_texts=texts,
    )
    assert session.scalar(select(func.count()).select_from(AttachmentFile)) == 1
    assert session.scalar(select(func.count()).select_from(ArticleAttachment)) == 2
    found = list(iter_articles(session, ArticleFilter(search="教育公共基础")))
    assert {a.record["url"] for a in found} == {URL, "http://portal.example.com/1"}
    assert "教育公共基础" not in found[0].record["text"]  # only in the attachment
    assert list(iter_articles(session, ArticleFilter(search="不存在的词语"))) == []


def test_record_lists_attachments_with_hash_size_and_text_chars(session: Session) -> None:
    attachment, texts = fetched(POSTS_V1)
    unread = Attachment(title="报名表", url="http://www.zhenping.gov.cn/a/form.rar", flags=["unreadable"])
    ingest_article(session, notice(attachment, unread), source=GOV, fetched_url=URL, attachment_texts=texts)
    (stored,) = list(iter_articles(session, ArticleFilter()))
    assert stored.to_json()["attachments"] == [
        {
            "title": "岗位表",
            "url": PDF,
            "sha256": attachment.sha256,
            "bytes": attachment.bytes,
            "text_chars": len(POSTS_V1),
            "flags": [],
            "error": None,
        },
        {
            "title": "报名表",
            "url": "http://www.zhenping.gov.cn/a/form.rar",
            "sha256": None,
            "bytes": None,
            "text_chars": None,
            "flags": ["unreadable"],
            "error": None,
        },
    ]


def test_replaced_attachment_is_a_new_version_with_its_own_diff_line(session: Session) -> None:
    first, texts = fetched(POSTS_V1)
    ingest_article(session, notice(first), source=GOV, fetched_url=URL, attachment_texts=texts, now=T0)
    second, texts2 = fetched(POSTS_V2)
    result = ingest_article(
        session,
        notice(second),
        source=GOV,
        fetched_url=URL,
        attachment_texts=texts2,
        now=T0 + timedelta(hours=2),
    )
    assert (result.outcome, result.version) == ("changed", 2)
    version = session.scalars(select(ArticleVersion).where(ArticleVersion.version == 2)).one()
    assert first.sha256 and second.sha256
    assert version.diff == (
        f"~ 附件已更换: 岗位表 ({first.bytes} → {second.bytes} 字节, "
        f"sha256 {first.sha256[:12]} → {second.sha256[:12]})"
    )
    (alert,) = session.scalars(select(Alert).where(Alert.kind == "changed"))
    assert alert.payload["diff"] == [version.diff]
    assert list(iter_articles(session, ArticleFilter(search="3人")))  # the new file's text is searchable


def test_attachment_not_fetched_this_time_keeps_what_was_stored(session: Session) -> None:
    first, texts = fetched(POSTS_V1)
    ingest_article(session, notice(first), source=GOV, fetched_url=URL, attachment_texts=texts, now=T0)
    timed_out = Attachment(title="岗位表", url=PDF, flags=["timeout"], error="reading took more than 20 s")
    result = ingest_article(
        session, notice(timed_out), source=GOV, fetched_url=URL, now=T0 + timedelta(hours=1)
    )
    assert result.outcome == "unchanged"
    (stored,) = list(iter_articles(session, ArticleFilter()))
    assert stored.to_json()["attachments"][0]["sha256"] == first.sha256


def test_attachment_rechecked_on_its_own(session: Session) -> None:
    first, texts = fetched(POSTS_V1)
    ingest_article(
        session,
        notice(first),
        source=GOV,
        fetched_url=URL,
        attachment_texts=texts,
        attachment_validators={PDF: ('"pdf-1"', None)},
        now=T0,
    )
    (known,) = known_pages(session, GOV.name)[URL].attachments
    assert (known.url, known.etag) == (PDF, '"pdf-1"')
    same, _ = fetched(POSTS_V1)
    unchanged = recheck_attachment(session, URL, same, POSTS_V1, now=T0 + timedelta(hours=1))
    assert unchanged is not None and unchanged.outcome == "unchanged"
    second, _ = fetched(POSTS_V2)
    changed = recheck_attachment(
        session, URL, second, POSTS_V2, validators=('"pdf-2"', None), now=T0 + timedelta(hours=2)
    )
    assert changed is not None and (changed.outcome, changed.version) == ("changed", 2)
    assert known_pages(session, GOV.name)[URL].attachments[0].etag == '"pdf-2"'
    assert recheck_attachment(session, "http://www.zhenping.gov.cn/unknown.html", second, "") is None
