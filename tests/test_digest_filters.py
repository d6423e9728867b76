"""Subscription filters, data-driven from tests/fixtures/digest/filters.yaml."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.digest import matches, summarize
from core.config import Subscription
from storage.outbox import AlertArticle, DigestAlert

CASES = Path(__file__).parent / "fixtures" / "digest" / "filters.yaml"
AT = datetime(2024, 4, 19, tzinfo=UTC)


def _alert(name: str, kind: str, source: str, **article: Any) -> tuple[str, DigestAlert]:
    body = None
    if kind != "health":
        fields: dict[str, Any] = {
            "id": 1,
            "story_id": 1,
            "url": f"http://example.gov.cn/{name}.html",
            "title": "",
            "text": "",
            "published_at": None,
            "source_name": source,
            "source_kind": "education_bureau",
            "publication": None,
            "site_name": None,
            "region": None,
            "topics": ["education"],
            "categories": [],
            "flags": [],
            "status": "active",
            "version": 1,
        }
        fields.update(article)
        body = AlertArticle(**fields)
    alert = DigestAlert(1, kind, f"{kind}:{name}", AT, {}, 1, source, body)
    return name, alert


ALERTS = dict(
    [
        _alert(
            "new-zhenping",
            "new",
            "zhenping-jyj",
            title="关于2024年秋季小学一年级招生入学工作的通知",
            text="按照划片招生原则，适龄儿童请按时报名。",
            region="陕西省安康市镇坪县",
            categories=["招生入学"],
        ),
        _alert(
            "new-yuetang",
            "new",
            "xiangtan-daily",
            title="努力打造教育优质均衡发展示范窗口",
            text="访岳塘区教育局党委书记、局长徐进。",
            region="湖南省湘潭市岳塘区",
            categories=["访谈"],
        ),
        _alert(
            "new-farming",
            "new",
            "zhenping-gov",
            title="春耕备耕工作会",
            text="全县春耕生产有序推进。",
            region="陕西省安康市镇坪县",
            topics=["agriculture"],
        ),
        _alert(
            "changed-dongqu",
            "changed",
            "dongqu-gov",
            title="东区2024年中考报名须知",
            text="报名时间调整。",
            region="四川省攀枝花市东区",
            categories=["考试"],
        ),
        _alert(
            "withdrawn-zhenping",
            "withdrawn",
            "zhenping-jyj",
            title="关于暂停部分学校招生的通知（已撤回）",
            text="因划片调整，暂停招生。",
            region="陕西省安康市镇坪县",
            categories=["招生入学"],
        ),
        _alert("health-xiangtan", "health", "xiangtan-daily"),
    ]
)


def _cases() -> list[Any]:
    cases = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    return [pytest.param(c["input"], c["expected"], id=c["name"]) for c in cases]


@pytest.mark.parametrize(("subscription", "expected"), _cases())
def test_subscription_filter(subscription: dict[str, Any], expected: list[str]) -> None:
    sub = Subscription.model_validate({"name": "s", "channels": ["c"], **subscription})
    assert [name for name, alert in ALERTS.items() if matches(sub, alert)] == expected


def test_summary_is_two_lines_cut_to_width() -> None:
    text = "\n第一段" + "很长" * 40 + "\n\n第二段。\n第三段。"
    summary = summarize(text)
    first, second = summary.split("\n")
    assert len(first) == 60 and first.endswith("…") and first.startswith("第一段")
    assert second == "第二段。"
