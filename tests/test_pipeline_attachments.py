"""AttachmentFetcher: an article's files fetched in scope and read; failures stay on the file."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.article import Article, Attachment
from crawler.runtime.items import AttachmentItem, PageItem
from crawler.runtime.pipelines.attachment_fetch import AttachmentFetcher, AttachmentLimits
from crawler.runtime.pool import ExtractionPool
from crawler.runtime.tally import read_source_stats
from replica.attachments import cjk_pdf
from tests.crawl_support import ZHENPING, make_crawler

BASE = "http://jyj.zhenping.gov.cn/art/2024/5/6/"
ENROLMENT = [
    "镇坪县2024年秋季学期义务教育招生入学报名须知",
    "一年级新生报名时间 8月20日至8月25日 招生划片范围见下表",
]


class Engine:
    """Stands in for Scrapy's engine: answers downloads from a dict, raising what a download raises."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.requests: list[Request] = []

    async def download_async(self, request: Request) -> Response:
        self.requests.append(request)
        answer = self.answers[request.url]
        if isinstance(answer, BaseException):
            raise answer
        status, body = answer
        return Response(request.url, status=status, body=body, headers={"ETag": '"f1"'}, request=request)


def fetch(attachments: list[Attachment], answers: dict[str, Any], **limits: Any) -> tuple[PageItem, Engine]:
    crawler = make_crawler([ZHENPING])
    engine = Engine(answers)
    crawler.engine = engine  # type: ignore[assignment]
    article = Article(
        url=BASE + "1.html", title="关于做好秋季学期工作的通知", text="请各校按附件要求做好准备。"
    )
    article.attachments = attachments
    item = PageItem(source="zhenping", url=article.url or "", requested_url=article.url or "", body=b"")
    item.article = article

    async def go() -> None:
        pool = ExtractionPool(0, {})
        try:
            await AttachmentFetcher(crawler, AttachmentLimits(**limits)).fetch(item, pool)
        finally:
            pool.close()

    asyncio.run(go())
    return item, engine


def test_pdf_is_fetched_read_stored_by_hash_and_counts_into_classification() -> None:
    pdf = cjk_pdf(ENROLMENT)
    url = BASE + "P020240506.pdf"
    item, engine = fetch([Attachment("报名须知", url)], {url: (200, pdf)})
    assert item.article is not None
    (attachment,) = item.article.attachments
    digest = hashlib.sha256(pdf).hexdigest()
    assert (attachment.sha256, attachment.bytes, attachment.flags) == (digest, len(pdf), [])
    assert item.attachment_texts[digest].startswith(ENROLMENT[0])
    assert attachment.text_chars == len(item.attachment_texts[digest])
    assert item.attachment_validators[url] == ('"f1"', None)
    # the page says nothing of enrolment; the file does
    assert "招生入学" in item.article.categories
    request = engine.requests[0]
    assert (
        request.meta["download_maxsize"] == AttachmentLimits().max_bytes
        and request.meta["cw_kind"] == "attachment"
    )


def test_failures_are_recorded_on_each_file_and_the_article_goes_on() -> None:
    offsite = Attachment("外站文件", "http://pan.example.com/a.pdf")
    archive = Attachment("材料包", BASE + "files.rar")
    missing = Attachment("已删除", BASE + "gone.pdf")
    large = Attachment("大文件", BASE + "big.pdf")
    blocked = Attachment("禁止", BASE + "robots.pdf")
    answers = {
        missing.url: (404, b"<html>404</html>"),
        large.url: IgnoreRequest(
            "Cancelling download of http://...: expected response size larger than download maxsize"
        ),
        blocked.url: IgnoreRequest("Forbidden by robots.txt"),
    }
    item, engine = fetch([offsite, archive, missing, large, blocked], answers)
    assert [a.flags for a in (offsite, archive, missing, large, blocked)] == [
        ["offsite"],
        ["unreadable"],
        ["failed"],
        ["too_large"],
        ["robots"],
    ]
    assert missing.error == "HTTP 404" and all(a.sha256 is None for a in (offsite, archive, missing))
    assert {r.url for r in engine.requests} == {missing.url, large.url, blocked.url}  # never off the source
    assert item.attachment_texts == {}


def test_per_article_limit_and_switch() -> None:
    urls = [BASE + f"{n}.pdf" for n in range(3)]
    pdf = cjk_pdf(ENROLMENT)
    _, engine = fetch(
        [Attachment(str(n), u) for n, u in enumerate(urls)], dict.fromkeys(urls, (200, pdf)), per_article=2
    )
    assert [r.url for r in engine.requests] == urls[:2]
    item, engine = fetch([Attachment("0", urls[0])], {urls[0]: (200, pdf)}, enabled=False)
    assert engine.requests == [] and item.article is not None and item.article.attachments[0].sha256 is None


def test_spider_refetched_attachment_is_read() -> None:
    crawler = make_crawler([ZHENPING])
    pdf = cjk_pdf(ENROLMENT)
    item = AttachmentItem("zhenping", BASE + "1.html", Attachment("须知", BASE + "a.pdf"), body=pdf)

    async def go() -> None:
        pool = ExtractionPool(0, {})
        try:
            await AttachmentFetcher(crawler, AttachmentLimits()).read(item, pool)
        finally:
            pool.close()

    asyncio.run(go())
    assert item.attachment.sha256 == hashlib.sha256(pdf).hexdigest() and item.text.startswith(ENROLMENT[0])
    assert item.body == b""
    assert crawler.stats is not None
    assert read_source_stats(crawler.stats.get_stats(), "zhenping").errors == {}
