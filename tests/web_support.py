"""A small stored site for the web tests, built through storage's own ingest and delivery code.

Times are a few days before now: feeds hold the alerts of their recent window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from alerts.delivery import deliver_due
from core.config import Config
from crawler.article import Attachment
from storage.db import make_engine, make_session_factory
from storage.recheck import DELETED_NOTICE, record_gone
from tests.digest_support import HOSTILE, ingest, notify_config, record

OFFICIAL = "http://jyj.zhenping.gov.cn/tzgg/2024/0419/1.html"
REPRINT = "http://www.aknews.example.cn/jy/2024/0419/88.html"
HOLIDAY = "http://www.zhenping.gov.cn/art/2024/7/1/art_1234_1.html"
GONE = "http://www.songtao.gov.cn/xwzx/202404/3561.shtml"
HIRING = "http://www.xtrb.cn/2024/0419/3.html"
ADMISSION = "关于2024年秋季小学一年级招生入学工作的通知"
HOLIDAY_TITLE = f"{HOSTILE}镇坪县关于2024年暑假放假安排的通知"
ADMISSION_TEXT = "各学校、各位家长：\n适龄儿童请于5月10日前完成网上报名，逾期不再受理。\n招生范围按划片执行。"
HOLIDAY_TEXT = (
    "根据上级安排，现将暑假放假有关事项通知如下。\n7月6日起放假，9月1日开学。\n请各校做好假期安全教育。"
)
HOLIDAY_EDIT = HOLIDAY_TEXT.replace("7月6日起放假", f"7月10日起放假{HOSTILE}")


@dataclass(frozen=True, slots=True)
class Site:
    """The stored site: its configuration and the ids the tests look at."""

    config: Config
    url: str
    official: int
    reprint: int
    holiday: int
    gone: int
    hiring: int
    story: int  # the admission notice and its reprint
    base: dt.datetime


def _factory(url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(url))


def build_site(url: str, tmp_path: Path) -> Site:
    """Store five announcements (a story with a reprint, an edited one with a hostile title, a
    withdrawn one, one in another region) and one failed digest delivery, archived on disk."""
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=3)
    config = notify_config(
        tmp_path,
        url,
        {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook", "timeout": 2}},
        [
            {"name": "parents", "channels": ["hook"], "schedule": "immediate"},
            {"name": "hiring", "channels": ["hook"], "categories": ["教师招聘"], "schedule": "immediate"},
        ],
    )
    factory = _factory(url)

    def at(hours: int) -> dt.datetime:
        return base + dt.timedelta(hours=hours)

    official = record(ADMISSION, OFFICIAL, text=ADMISSION_TEXT, published_at="2024-04-19T09:00:00+08:00")
    official.site_name = "镇坪县教育体育科技局"
    official.attachments = [Attachment("报名表.docx", "http://jyj.zhenping.gov.cn/tzgg/2024/0419/form.docx")]
    first = ingest(factory, official, now=at(0))
    reprint = ingest(
        factory,
        record(ADMISSION, REPRINT, text=ADMISSION_TEXT, published_at="2024-04-19T10:00:00+08:00"),
        source="ankang-news",
        kind="newspaper",
        now=at(1),
    )
    holiday = ingest(
        factory,
        record(HOLIDAY_TITLE, HOLIDAY, text=HOLIDAY_TEXT, categories=("放假",), published_at="2024-07-01"),
        source="zhenping-gov",
        kind="government",
        now=at(2),
    )
    ingest(
        factory,
        record(HOLIDAY_TITLE, HOLIDAY, text=HOLIDAY_EDIT, categories=("放假",), published_at="2024-07-01"),
        source="zhenping-gov",
        kind="government",
        now=at(20),
    )
    gone = ingest(
        factory,
        record(
            "松桃县2024年城区小学新生入学报名公告",
            GONE,
            region="贵州省铜仁市松桃苗族自治县",
            published_at="2024-04-17",
        ),
        source="songtao",
        kind="government",
        now=at(3),
    )
    with factory() as session, session.begin():
        record_gone(session, GONE, status=DELETED_NOTICE, now=at(21))
    hiring = ingest(
        factory,
        record(
            "岳塘区2024年公开招聘中小学教师公告",
            HIRING,
            region="湖南省湘潭市岳塘区",
            categories=("教师招聘",),
            published_at="2024-04-19T08:53:55+08:00",
        ),
        source="xiangtan-daily",
        kind="newspaper",
        now=at(4),
    )
    # The hook is a closed port: the digest is rendered and archived, its deliveries fail.
    deliver_due(factory, config, now=at(30), subscription="parents", immediate=True)
    factory.kw["bind"].dispose()
    return Site(
        config=config,
        url=url,
        official=first.article_id,
        reprint=reprint.article_id,
        holiday=holiday.article_id,
        gone=gone.article_id,
        hiring=hiring.article_id,
        story=first.story_id,
        base=base,
    )
