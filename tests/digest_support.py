"""Test helpers for digests: a sample digest, stored alerts through storage's own code, configs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from alerts.model import (
    ChangedEntry,
    Digest,
    FailingDelivery,
    HealthEntry,
    NewEntry,
    RenderedDigest,
    WithdrawnEntry,
)
from alerts.render import render_html, render_text
from core.config import Config, SourceKind
from countywatch.config import config_from_dict
from crawler.article import Article as Record
from storage.crawlruns import finish_crawl_run, start_crawl_run
from storage.ingest import IngestResult, ingest_article
from storage.rules import SourceRef

UTC = dt.UTC
SINCE = dt.datetime(2024, 4, 18, 0, 0, tzinfo=UTC)
UNTIL = dt.datetime(2024, 4, 19, 0, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"


def sample_digest(*, hostile: bool = False, extra_new: int = 0, operators: bool = True) -> Digest:
    """A digest with two regions, changed, withdrawn and (for operators) health and failures."""
    bad = HOSTILE if hostile else ""
    new = [
        NewEntry(
            1,
            f"{bad}镇坪县召开教育高质量发展大会",
            "http://www.zhenping.gov.cn/jyj/2023/0908/1.html",
            f"{bad}安康市教育体育局",
            "陕西省安康市镇坪县",
            "会议",
            "2023-09-08T11:11:00+08:00",
            f"9月7日、第39个教师节来临之际，镇坪县召开教育高质量发展大会。{bad}\n会议表彰了优秀教师和立德树人优秀学校。",
            "安康市教育体育局",
            2,
        ),
        NewEntry(
            2,
            "关于2024年秋季小学一年级招生入学工作的通知",
            "http://www.zhenping.gov.cn/jyj/2024/0419/2.html",
            "镇坪县教育体育局",
            "陕西省安康市镇坪县",
            "招生入学",
            "2024-04-19",
            "适龄儿童请于5月10日前完成网上报名。",
        ),
        NewEntry(
            3,
            "努力打造教育优质均衡发展示范窗口——访岳塘区教育局党委书记、局长徐进",
            "http://www.xtrb.cn/2024/0419/3.html",
            "湘潭日报",
            "湖南省湘潭市岳塘区",
            "访谈",
            "2024-04-19T08:53:55+08:00",
            "谋划2024·教育局长访谈④\n岳塘区将持续推进教育优质均衡发展。",
            "湘潭日报",
            5,
        ),
    ]
    for i in range(extra_new):
        new.append(
            NewEntry(
                100 + i,
                f"第{i + 1}号通知：关于做好中小学教师招聘工作的公告",
                f"http://jyj.example.gov.cn/notice/{i}.html",
                "某县教育局",
                f"某省某市{i % 4}县",
                "招聘",
                "2024-04-19",
                "报名时间为4月20日至4月30日，请考生按时报名。\n详见附件。",
            )
        )
    changed = [
        ChangedEntry(
            10,
            f"{bad}东区召开教师“区管校聘”管理改革推进会",
            "http://www.dongqu.gov.cn/2023/0620/10.html",
            "攀枝花市东区",
            "四川省攀枝花市东区",
            dt.datetime(2024, 4, 18, 9, 30, tzinfo=UTC),
            [f"- 会议时间为6月20日{bad}", "+ 会议时间改为6月21日"],
        )
    ]
    withdrawn = [
        WithdrawnEntry(
            11,
            "关于暂停校外培训机构审批的通知",
            "http://jyj.example.gov.cn/old/11.html",
            "某县教育局",
            None,
            dt.datetime(2024, 4, 18, 12, 0, tzinfo=UTC),
        )
    ]
    health = (
        [HealthEntry(12, "xiangtan-daily", "failing", f"HTTP 500 on list page{bad}", UNTIL)]
        if operators
        else []
    )
    failing = (
        [
            FailingDelivery(
                "家长群", "wecom-main", "retrying", 3, 2, "wecom http://127.0.0.1:1/…: HTTP 502", UNTIL
            )
        ]
        if operators
        else []
    )
    return Digest("教育局值班", SINCE, UNTIL, new, changed, withdrawn, health, failing)


def rendered(digest: Digest | None = None, key: str = "0123456789abcdef0123456789abcdef") -> RenderedDigest:
    """A digest rendered as the delivery engine would."""
    digest = digest or sample_digest()
    return RenderedDigest(digest, digest.subject, render_text(digest), render_html(digest), key)


SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    """A moment in April 2024, China time, as an aware UTC datetime."""
    return dt.datetime(2024, 4, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def record(
    title: str,
    url: str,
    *,
    text: str | None = None,
    region: str = "陕西省安康市镇坪县",
    categories: tuple[str, ...] = ("招生入学",),
    published_at: str = "2024-04-19",
) -> Record:
    """An extracted education announcement as storage receives it."""
    body = text or f"{title}。\n适龄儿童请于5月10日前完成网上报名，逾期不再受理。\n联系电话：0915-1234567。"
    return Record(
        url=url,
        title=title,
        text=body,
        published_at=published_at,
        region=region,
        topics=["education"],
        categories=list(categories),
    )


def ingest(
    factory: sessionmaker[Session],
    item: Record,
    *,
    source: str = "zhenping-jyj",
    kind: SourceKind = "education_bureau",
    now: dt.datetime,
) -> IngestResult:
    """Store a record through storage's own ingest, committed."""
    with factory() as session, session.begin():
        return ingest_article(
            session, item, source=SourceRef(source, kind), fetched_url=item.url or "", now=now
        )


def health_alert(factory: sessionmaker[Session], source: str, *, now: dt.datetime) -> int | None:
    """A crawl run of `source` that failed: storage raises a source-health alert."""
    with factory() as session, session.begin():
        run_id = start_crawl_run(session, SourceRef(source, "newspaper"), now=now)
        return finish_crawl_run(session, run_id, {}, "failing", "list page answered HTTP 500", now=now)


def notify_config(
    tmp_path: Path,
    database: str,
    channels: dict[str, Any],
    subscriptions: list[dict[str, Any]],
    **notify: Any,
) -> Config:
    """A configuration with these channels and subscriptions, data kept under tmp_path."""
    data = {
        "database": database,
        "data_dir": str(tmp_path / "data"),
        "notify": {"channels": channels, "subscriptions": subscriptions, **notify},
    }
    return config_from_dict(data, base_dir=str(tmp_path))
