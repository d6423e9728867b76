"""Attachments of a new or changed article: fetched, read, and counted into its classification.

ExtractPipeline hands each extracted article here. Every attachment link the page layer found is
fetched through Scrapy's downloader (so the scope, robots.txt, politeness and size limits of the
crawl apply) when it is on one of the source's hosts and of a kind a reader understands; its text
is read in the extraction pool under a deadline. Whatever goes wrong is recorded on that
attachment (flags, error) and the article goes on to storage: an attachment never stalls or drops
its article. The texts then join the article's text for classification, so a notice whose 岗位表
is only in the PDF is still classified as recruitment.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.internet import defer
from twisted.internet.error import TCPTimedOutError

from crawler.article import Article, Attachment
from crawler.files.attachment_text import AttachmentText, can_read
from crawler.runtime import settings as defaults
from crawler.runtime.items import AttachmentItem, PageItem
from crawler.runtime.middlewares import OffsiteRequest
from crawler.runtime.pool import ExtractionPool
from crawler.runtime.tally import META_KIND, META_SOURCE, count

logger = logging.getLogger(__name__)
# Attachment text counted into classification, per file: enough for its headings and tables.
CLASSIFY_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    """COUNTYWATCH_ATTACHMENT* settings: whether to fetch, and the size, time and count limits."""

    enabled: bool = defaults.COUNTYWATCH_ATTACHMENTS
    max_bytes: int = defaults.COUNTYWATCH_ATTACHMENT_MAX_BYTES
    seconds: float = defaults.COUNTYWATCH_ATTACHMENT_SECONDS
    per_article: int = defaults.COUNTYWATCH_ATTACHMENTS_PER_ARTICLE

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> AttachmentLimits:
        """The limits of a crawl's settings."""
        return cls(
            enabled=settings.getbool("COUNTYWATCH_ATTACHMENTS", defaults.COUNTYWATCH_ATTACHMENTS),
            max_bytes=settings.getint(
                "COUNTYWATCH_ATTACHMENT_MAX_BYTES", defaults.COUNTYWATCH_ATTACHMENT_MAX_BYTES
            ),
            seconds=settings.getfloat(
                "COUNTYWATCH_ATTACHMENT_SECONDS", defaults.COUNTYWATCH_ATTACHMENT_SECONDS
            ),
            per_article=settings.getint(
                "COUNTYWATCH_ATTACHMENTS_PER_ARTICLE", defaults.COUNTYWATCH_ATTACHMENTS_PER_ARTICLE
            ),
        )


def attachment_request(source: str, url: str, max_bytes: int) -> Request:
    """A request for an attachment file, tagged with its source, bounded by `max_bytes`."""
    return Request(
        url,
        dont_filter=True,
        meta={
            META_SOURCE: source,
            META_KIND: "attachment",
            "download_maxsize": max_bytes,
            "handle_httpstatus_all": True,
        },
    )


def failure_flag(exc: BaseException) -> str:
    """The attachment flag of a failed download."""
    text = str(exc).lower()
    if isinstance(exc, OffsiteRequest):
        return "offsite"
    if "larger than" in text:  # Scrapy cancels a download past download_maxsize with this message
        return "too_large"
    if isinstance(exc, IgnoreRequest) and "robots.txt" in text:
        return "robots"
    if isinstance(exc, TimeoutError | defer.TimeoutError | TCPTimedOutError) or "timed out" in text:
        return "timeout"
    return "failed"


async def read_within(pool: ExtractionPool, data: bytes, url: str, seconds: float) -> AttachmentText:
    """The text of a file, or a `timeout` result when the reader needs more than `seconds`."""
    try:
        return await asyncio.wait_for(pool.read_attachment(data, url), seconds)
    except TimeoutError:
        # The worker finishes the file in the background; the crawl does not wait for it.
        return AttachmentText("", "unknown", ["timeout"], f"reading took more than {seconds:g} s")
    except Exception as exc:  # a dead worker (BrokenProcessPool): this file is unread, the page is not lost
        return AttachmentText("", "unknown", ["failed"], f"{exc.__class__.__name__}: {exc}"[:300])


def apply_read(attachment: Attachment, body: bytes, result: AttachmentText) -> None:
    """Record on an attachment what its bytes and their reading gave."""
    attachment.sha256 = hashlib.sha256(body).hexdigest()
    attachment.bytes = len(body)
    attachment.text_chars = len(result.text)
    attachment.flags = [*attachment.flags, *(f for f in result.flags if f not in attachment.flags)]
    attachment.error = result.error


class AttachmentFetcher:
    """Fetches and reads the attachments of extracted articles (used by ExtractPipeline)."""

    def __init__(self, crawler: Crawler, limits: AttachmentLimits) -> None:
        self.crawler = crawler
        self.limits = limits

    def _in_scope(self, source: str, url: str) -> bool:
        scope = getattr(self.crawler.spider, "scope", None)
        return scope is None or bool(scope.allows_url(source, url))

    async def _download(self, source: str, url: str) -> Response:
        engine = self.crawler.engine
        assert engine is not None
        return await engine.download_async(attachment_request(source, url, self.limits.max_bytes))

    async def fetch(self, item: PageItem, pool: ExtractionPool) -> None:
        """Fetch and read the attachments of `item.article`; re-classify it with their text."""
        article = item.article
        if article is None or not self.limits.enabled or not article.attachments:
            return
        for attachment in article.attachments[: self.limits.per_article]:
            await self._fetch_one(item, attachment, pool)
        texts = [item.attachment_texts.get(a.sha256 or "", "") for a in article.attachments]
        if any(texts):
            await self._classify(article, texts, pool)

    async def _fetch_one(self, item: PageItem, attachment: Attachment, pool: ExtractionPool) -> None:
        if not self._in_scope(item.source, attachment.url):
            attachment.flags.append("offsite")
            return
        if not can_read(attachment.url):
            attachment.flags.append("unreadable")
            return
        try:
            response = await self._download(item.source, attachment.url)
        except Exception as exc:  # a failed download is this attachment's problem, not the article's
            attachment.flags.append(failure_flag(exc))
            attachment.error = f"{exc.__class__.__name__}: {exc}"[:300]
            return
        if response.status != 200:
            attachment.flags.append("failed")
            attachment.error = f"HTTP {response.status}"
            return
        if self.crawler.stats is not None:
            count(self.crawler.stats, item.source, "attachments_fetched")
        result = await read_within(pool, response.body, attachment.url, self.limits.seconds)
        apply_read(attachment, response.body, result)
        assert attachment.sha256 is not None
        item.attachment_texts[attachment.sha256] = result.text
        item.attachment_validators[attachment.url] = (
            _text(response.headers.get(b"ETag")),
            _text(response.headers.get(b"Last-Modified")),
        )

    async def _classify(self, article: Article, texts: list[str], pool: ExtractionPool) -> None:
        joined = "\n".join([article.text, *(t[:CLASSIFY_CHARS] for t in texts if t)])
        topics, categories = await pool.classify(article.title, joined)
        article.topics = [*article.topics, *(t for t in topics if t not in article.topics)]
        article.categories = [*article.categories, *(c for c in categories if c not in article.categories)]

    async def read(self, item: AttachmentItem, pool: ExtractionPool) -> None:
        """Read the text of an attachment the spider re-fetched on its own."""
        result = await read_within(pool, item.body, item.attachment.url, self.limits.seconds)
        apply_read(item.attachment, item.body, result)
        item.text = result.text
        item.body = b""


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1").strip()[:200] or None if value else None
