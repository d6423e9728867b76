"""The built-in topics: education and its categories, as plain data users can override in the config.

Keywords are matched on Simplified text. A category matches when any of its keywords appears in the
title, or (unless `title_only`) in the body.
"""

from __future__ import annotations

from typing import Any

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
