"""Attachments in storage: each file's text once by SHA-256, each article's links, and replacements.

A notice's real content is often only in its attachment (the 招生方案, the 岗位表), and a bureau
corrects it by uploading a new file under the same link: that is a change of the article, reported
as one diff line per replaced file. An attachment that could not be fetched this time (out of
scope, too large, a timeout) keeps what was stored before; it is not a change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crawler.article import Attachment
from storage.models import Article, ArticleAttachment, AttachmentFile

REPLACED = "附件已更换"


def _store_file(session: Session, sha256: str, size: int, text: str, now: datetime) -> None:
    """Keep the text of a file once per content hash (a concurrent writer may have stored it first)."""
    if session.scalar(select(AttachmentFile.id).where(AttachmentFile.sha256 == sha256)) is not None:
        return
    try:
        with session.begin_nested():
            session.add(AttachmentFile(sha256=sha256, bytes=size, text=text, created_at=now))
    except IntegrityError:
        pass


def replaced_line(title: str, old: ArticleAttachment, new: Attachment) -> str:
    """The diff line of a file replaced under the same link."""
    assert old.sha256 is not None and new.sha256 is not None
    return (
        f"~ {REPLACED}: {title} ({old.bytes} → {new.bytes} 字节, "
        f"sha256 {old.sha256[:12]} → {new.sha256[:12]})"
    )


def store_attachments(
    session: Session,
    row: Article,
    attachments: Sequence[Attachment],
    texts: Mapping[str, str],
    now: datetime,
    *,
    validators: Mapping[str, tuple[str | None, str | None]] | None = None,
) -> list[str]:
    """Record an article's attachments (`texts`: SHA-256 -> text); one diff line per replaced file.

    The article row must have an id (be flushed). Its record's `attachments` list is rewritten
    from what is stored, so a file not fetched this time still shows its last hash and size.
    """
    stored = {
        link.url: link
        for link in session.scalars(select(ArticleAttachment).where(ArticleAttachment.article_id == row.id))
    }
    lines: list[str] = []
    for attachment in attachments:
        if attachment.sha256 is not None:
            _store_file(
                session, attachment.sha256, attachment.bytes or 0, texts.get(attachment.sha256, ""), now
            )
        etag, last_modified = (validators or {}).get(attachment.url, (None, None))
        link = stored.get(attachment.url)
        if link is None:
            link = ArticleAttachment(article_id=row.id, url=attachment.url, flags=[], fetched_at=now)
            session.add(link)
            stored[attachment.url] = link
        elif attachment.sha256 is None:
            # Not fetched this time: what was read before still stands.
            link.title = attachment.title
            continue
        elif link.sha256 is not None and link.sha256 != attachment.sha256:
            lines.append(replaced_line(attachment.title, link, attachment))
        link.title = attachment.title
        link.sha256 = attachment.sha256
        link.bytes = attachment.bytes
        link.text_chars = attachment.text_chars
        link.flags = list(attachment.flags)
        link.error = attachment.error
        link.etag = etag
        link.last_modified = last_modified
        link.fetched_at = now
    session.flush()
    _rewrite_record(row, [stored[a.url] for a in attachments])
    return lines


def _rewrite_record(row: Article, links: Sequence[ArticleAttachment]) -> None:
    records: list[dict[str, Any]] = [
        asdict(
            Attachment(
                title=link.title or "",
                url=link.url,
                sha256=link.sha256,
                bytes=link.bytes,
                text_chars=link.text_chars,
                flags=list(link.flags),
                error=link.error,
            )
        )
        for link in links
    ]
    # A new dict: the JSON column only notices assignment, not mutation.
    row.extra = {**row.extra, "attachments": records}
