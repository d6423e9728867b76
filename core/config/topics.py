"""Topics articles are classified into: the model, and the built-in education topic users can override.

Keywords are matched on Simplified text. A category matches when any of its keywords appears in the
title, or (unless `title_only`) in the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import Field

from core.config.base import Model
from core.config.sources import SourceKind

# Bare 考试 and 资助 are left out: 公务员考试 and 残疾人资助 are not education news.
EDUCATION_KEYWORDS = [
    "教育",
    "学校",
    "教师",
    "学生",
    "招生",
    "入学",
    "中考",
    "高考",
    "学前",
    "幼儿园",
    "小学",
    "初中",
    "高中",
    "中学",
    "义务教育",
    "教体局",
    "教育局",
    "教育体育局",
    "教科局",
    "教学",
    "校园",
    "师生",
    "课程",
    "学区",
    "学生资助",
    "教育资助",
    "助学",
    "双减",
    "职业教育",
    "职教",
    "教职工",
    "校长",
    "学业水平考试",
    "招生考试",
    "教育考试",
    "开学",
    "学期",
]

DEFAULT_TOPICS: dict[str, dict[str, Any]] = {
    "education": {
        "keywords": EDUCATION_KEYWORDS,
        "exclude": [],
        "min_hits": 3,
        "alert": True,
        "alert_kinds": ["government", "education_bureau", "newspaper"],
        "alert_categories": [],
        "categories": {
            "enrolment": {
                "label": "招生入学",
                "keywords": [
                    "招生",
                    "入学",
                    "学区",
                    "划片",
                    "学位",
                    "新生报名",
                    "报名入学",
                    "招生简章",
                    "转学",
                ],
            },
            "teacher_recruitment": {
                "label": "教师招聘",
                "keywords": [
                    "教师招聘",
                    "招聘教师",
                    "招聘",
                    "教师资格",
                    "特岗",
                    "公费师范",
                    "考调",
                    "遴选教师",
                    "区管校聘",
                    "县管校聘",
                    "教师优化组合",
                ],
            },
            "exams": {
                "label": "中高考",
                "keywords": ["中考", "高考", "学业水平考试", "考试", "考点", "考生", "备考", "录取", "招考"],
            },
            "holidays": {
                "label": "放假",
                "keywords": ["放假", "寒假", "暑假", "假期", "开学", "校历", "作息时间", "放假安排"],
            },
            "subsidies": {
                "label": "资助",
                "keywords": ["资助", "助学金", "补助", "奖学金", "助学贷款", "营养改善", "免学费", "补贴"],
            },
            "policy": {
                "label": "政策文件",
                # 通知 is left out: nearly every announcement is one.
                "keywords": [
                    "办法",
                    "实施方案",
                    "工作方案",
                    "实施意见",
                    "指导意见",
                    "意见",
                    "规定",
                    "细则",
                    "印发",
                    "条例",
                    "规划",
                    "行动计划",
                    "政策解读",
                ],
                "title_only": True,
            },
            "meetings": {
                "label": "会议",
                "keywords": ["会议", "大会", "座谈", "讲话", "推进会", "工作会", "调研", "部署会", "培训会"],
            },
            "procurement": {
                "label": "招标",
                "keywords": [
                    "招标",
                    "采购",
                    "中标",
                    "投标",
                    "比选",
                    "询价",
                    "成交公告",
                    "竞争性磋商",
                    "单一来源",
                ],
            },
        },
    },
}


class Category(Model):
    """A category of a topic, assigned when any keyword appears in the title (or body)."""

    label: str
    keywords: list[str] = Field(min_length=1)
    title_only: bool = False


class Topic(Model):
    """A topic articles are classified into, and whether it raises alerts."""

    keywords: list[str] = Field(min_length=1)
    exclude: list[str] = []
    min_hits: int = Field(default=2, ge=1, le=1000)  # keyword hits in the body needed when the title has none
    categories: dict[str, Category] = {}
    alert: bool = True  # raise "new" alerts for this topic
    alert_kinds: list[SourceKind] = ["government", "education_bureau", "newspaper"]
    # Only these categories raise "new" alerts ([] = any category, including none).
    alert_categories: list[str] = []


@cache
def default_topics() -> Mapping[str, Topic]:
    """The built-in topics, validated once (used when the caller passes none)."""
    return {name: Topic.model_validate(data) for name, data in DEFAULT_TOPICS.items()}
