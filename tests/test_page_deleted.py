"""Deleted notices: the data-driven cases, and what extraction makes of such a page."""

from __future__ import annotations

from typing import Any

import pytest

from crawler.html.deleted import DELETED_NOTICE_FLAG, is_deleted_notice
from crawler.html.page_reader import extract_article
from tests.yaml_cases import load_cases

CHROME_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>提示信息_镇坪县人民政府</title>
<meta name="SiteName" content="镇坪县人民政府"></head><body>
<div class="topbar"><span>镇坪县人民政府欢迎您!</span> <a href="#">无障碍浏览</a></div>
<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/col/col1234/index.html">政务要闻</a></li>
<li><a href="/col/col1235/index.html">通知公告</a></li></ul></div>
<div class="position">当前位置:<a href="/">首页</a> &gt; 提示信息</div>
<div class="msg-box"><p>对不起，您访问的信息已删除或不存在！</p>
<p><a href="/">返回首页</a> <a href="javascript:window.close()">关闭窗口</a></p></div>
<div class="footer"><p>主办:镇坪县人民政府办公室&nbsp;&nbsp;承办:镇坪县融媒体中心
&nbsp;&nbsp;联系电话:0915-8822139</p>
<p>网站标识码:6109270001&nbsp;&nbsp;陕ICP备05007521号-1</p></div></body></html>"""
WITHDRAWN_IN_PLACE = """<html><head>
<title>关于2024年暑假放假安排的通知_通知公告_松桃苗族自治县人民政府</title></head>
<body><div class="nav"><a href="/">首页</a></div><h1>关于2024年暑假放假安排的通知</h1>
<div class="detail-body"><p>此稿件已撤稿</p></div></body></html>"""
ARTICLE = """<html><head><title>关于修改学籍管理办法的决定_镇坪县人民政府</title></head><body>
<h1>关于修改学籍管理办法的决定</h1><div id="zoom">
<p>经研究，决定对《镇坪县中小学学籍管理办法》作如下修改：删除了第三条，原第四条改为第三条，其余条款顺延。</p>
<p>本决定自发布之日起施行。各学校要认真做好学籍信息的核对和更新工作，确保学籍管理规范有序。</p></div>
</body></html>"""
URL = "http://www.zhenping.gov.cn/art/2024/4/10/art_1235_56788.html"


@pytest.mark.parametrize(("value", "expected"), load_cases("is_deleted_notice"))
def test_is_deleted_notice(value: dict[str, Any], expected: bool) -> None:
    assert is_deleted_notice(value["title"], value["text"]) is expected


@pytest.mark.parametrize("page", [CHROME_PAGE, WITHDRAWN_IN_PLACE], ids=["cms_template", "title_kept"])
def test_a_deleted_notice_page_is_an_empty_record_flagged_deleted(page: str) -> None:
    article = extract_article(page.encode(), URL)
    assert article.page_kind == "empty"
    assert article.text == ""
    assert DELETED_NOTICE_FLAG in article.flags and "not_article" in article.flags
    assert article.to_json()["url"] == URL  # the extract JSON keeps its keys


def test_an_article_mentioning_deletion_is_an_article() -> None:
    article = extract_article(ARTICLE.encode(), URL)
    assert article.page_kind == "article"
    assert DELETED_NOTICE_FLAG not in article.flags
    assert "删除了第三条" in article.text
