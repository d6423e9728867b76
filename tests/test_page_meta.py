"""Metadata from <meta> tags (government CMS, Open Graph, JSON-LD), the metadata line and the footer."""

from __future__ import annotations

import lxml.html
import pytest

from crawler.html.meta_tags import read_meta_tags
from crawler.html.metaline_locator import (
    find_author_names,
    find_editor_line,
    find_footer_facts,
    find_info_line,
    with_date_line,
)
from crawler.text.metaline import parse_meta_line
from tests.yaml_cases import load_cases

HANWEB_HEAD = """
<meta name="SiteName" content="安康市教育体育局">
<meta name="SiteDomain" content="jyj.ankang.gov.cn">
<meta name="SiteIDCode" content="6109000019">
<meta name="ColumnName" content="县区传真">
<meta name="ColumnType" content="新闻动态">
<meta name="ArticleTitle" content="镇坪县召开教育高质量发展大会">
<meta name="PubDate" content="2023-09-08 11:11">
<meta name="ContentSource" content="镇坪县教体局">
<meta name="Keywords" content="教育,教师节;高质量发展">
<meta name="Author" content="王贤忠">
<meta name="Description" content="9月7日、第39个教师节来临之际">
"""


def tree_of(head: str, body: str = "<p>正文</p>") -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def test_government_cms_meta_tags() -> None:
    meta = read_meta_tags(tree_of(HANWEB_HEAD))
    assert meta.title == "镇坪县召开教育高质量发展大会"
    assert meta.published == "2023-09-08 11:11"
    assert meta.source == "镇坪县教体局"
    assert meta.site_name == "安康市教育体育局"
    assert meta.site_id_code == "6109000019"
    assert meta.section == "县区传真"
    assert meta.authors == ["王贤忠"]
    assert meta.keywords == ["教育", "教师节", "高质量发展"]
    assert meta.description == "9月7日、第39个教师节来临之际"


def test_first_non_empty_value_wins_over_blank_repeats() -> None:
    head = '<meta name="SiteName" content="山西省人民政府门户网站"><meta name="sitename" content="">'
    head += '<meta name="SiteIDCode" content="">'
    meta = read_meta_tags(tree_of(head))
    assert meta.site_name == "山西省人民政府门户网站"
    assert meta.site_id_code is None


def test_source_label_and_numeric_ids_are_cleaned() -> None:
    head = (
        '<meta name="source" content="来源：人民网-文化频道">'
        '<meta name="author" content="104363"><meta name="editor" content="1610">'
    )
    meta = read_meta_tags(tree_of(head))
    assert meta.source == "人民网-文化频道"
    assert meta.authors == []
    assert meta.editor is None


def test_portal_names_in_author_are_not_people() -> None:
    for value in ("新京报", "新浪科技", "环球网", "name", "安康市教育体育局"):
        head = f'<meta name="author" content="{value}"><meta name="SiteName" content="安康市教育体育局">'
        assert read_meta_tags(tree_of(head)).authors == [], value


def test_open_graph() -> None:
    head = (
        '<meta property="og:title" content="益阳：“数字”是优长">'
        '<meta property="og:release_date" content="2020-01-02 17:11">'
        '<meta property="og:site_name" content="半月谈网">'
    )
    meta = read_meta_tags(tree_of(head))
    assert meta.title == "益阳：“数字”是优长"
    assert (meta.published, meta.site_name) == ("2020-01-02 17:11", "半月谈网")


def test_json_ld_article() -> None:
    head = """<script type="application/ld+json">
    {"@context": "https://schema.org", "@graph": [
      {"@type": "WebSite", "name": "湘潭在线"},
      {"@type": "NewsArticle", "headline": "努力打造教育优质均衡发展示范窗口",
       "datePublished": "2024-04-19T08:53:55+08:00",
       "author": [{"@type": "Person", "name": "鲁婷"}],
       "publisher": {"@type": "Organization", "name": "湘潭日报"}}]}
    </script>"""
    meta = read_meta_tags(tree_of(head))
    assert meta.title == "努力打造教育优质均衡发展示范窗口"
    assert meta.published == "2024-04-19T08:53:55+08:00"
    assert meta.authors == ["鲁婷"]
    assert meta.site_name == "湘潭日报"


def test_broken_json_ld_is_ignored() -> None:
    meta = read_meta_tags(tree_of('<script type="application/ld+json">{"headline": </script>'))
    assert meta.title is None


def test_info_line_is_the_smallest_element_with_the_most_labels() -> None:
    body = """<div class="article"><h1>镇坪县召开教育高质量发展大会</h1>
      <div class="info"><span>发布时间：2023-09-08 11:11</span> <span>来源：镇坪县教体局</span>
        <span>作者：王贤忠</span> <span>浏览次数：</span> 字号：[大 中 小]</div>
      <p>9月7日、第39个教师节来临之际，镇坪县召开教育高质量发展大会。会议时间：上午九点。</p></div>"""
    line = find_info_line(tree_of("", body))
    assert line is not None
    assert line.startswith("发布时间：2023-09-08 11:11 来源：镇坪县教体局 作者：王贤忠")


def test_no_info_line_without_labels() -> None:
    assert find_info_line(tree_of("", "<p>2023-09-08 一段没有标签的正文。</p>")) is None


def test_footer_gives_publisher_and_site_identification_code() -> None:
    body = """<p>正文</p><div class="footer">主办：中共攀枝花市东区委员会 攀枝花市东区人民政府
      承办：东区政务服务中心 联系电话：0812-1234567 网站标识码：5104020005 ICP备案编号：蜀ICP备1号</div>"""
    publisher, site_id = find_footer_facts(tree_of("", body))
    assert publisher == "中共攀枝花市东区委员会 攀枝花市东区人民政府"
    assert site_id == "5104020005"


def info_lines(body: str) -> list[str]:
    tree = tree_of("", body)
    return with_date_line(tree, find_info_line(tree))


@pytest.mark.parametrize(("body", "expected"), load_cases("info_lines"))
def test_info_lines_cases(body: str, expected: list[str]) -> None:
    assert info_lines(body) == expected


def test_info_lines_add_the_only_date_with_time_when_the_labelled_line_has_none() -> None:
    body = """<div>新华网河北频道 ( 2012-06-04 09:20:26 )</div>
      <div class="info">作者： 记者王敬照 编辑： 王华军</div><p>正文第一段。</p>"""
    assert info_lines(body) == ["2012-06-04 09:20:26", "作者： 记者王敬照 编辑： 王华军"]


def test_several_dates_with_times_are_ambiguous() -> None:
    body = "<div>2019-05-17 20:02:46</div><ul><li>评论 2019-05-17 20:33:49</li></ul><p>正文。</p>"
    assert info_lines(body) == []


def test_an_element_classed_for_the_date_is_the_date() -> None:
    body = """<p class="time"><span>2019-05-17</span> · <span>无锡交警</span></p>
      <ul><li>评论 2019-05-17 20:33:49</li><li>评论 2019-05-17 21:00:00</li></ul>"""
    assert info_lines(body) == ["2019-05-17"]


def test_editor_credit_from_tail_text() -> None:
    body = """<p>正文。</p><span><div><img src="x.gif"></div> 责任编辑： 焦鹏 </span>"""
    assert find_editor_line(tree_of("", body)) == "责任编辑：焦鹏"


def test_no_editor_credit_inside_a_sentence() -> None:
    body = "<p>本报编辑：张三同志在会上发言，强调要做好教育工作。</p>"
    assert find_editor_line(tree_of("", body)) is None


def test_editor_credits_of_many_forms() -> None:
    forms = {
        "(责编：胡永秋、杨光宇)": "责编：胡永秋、杨光宇",
        "[责任编辑：杜智 PX209]": "责任编辑：杜智",
        "责编：黄忆南 PN269": "责编：黄忆南",
        "编辑：赵敏 校对：孙磊": "编辑：赵敏",
        "责任编辑：刘䶮": "责任编辑：刘䶮",
    }
    for credit, expected in forms.items():
        assert find_editor_line(tree_of("", f"<p>正文。</p><div>{credit}</div>")) == expected


def test_publication_date_in_a_table_cell_of_an_old_page() -> None:
    body = """<table><tr><td>发布日期：</td><td>2005-3-11 12:12</td><td>点击数：</td><td>235</td></tr></table>
      <p>正文。</p>"""
    assert info_lines(body)[0].startswith("发布日期：2005-3-11 12:12")


def test_month_first_date_of_an_old_asp_page() -> None:
    body = "<p>正文。</p><div>更新时间：7/5/2005 9:23:57 PM</div>"
    assert info_lines(body) == ["更新时间：7/5/2005 9:23:57 PM"]


def test_the_outlet_printed_beside_the_date_comes_with_it() -> None:
    body = """<h1>标题</h1><div class="date-source"><span class="date">2019年09月07日 04:04</span>
      <a class="source" href="http://bjrb.example.cn/">北京日报</a></div><p>正文。</p>"""
    assert info_lines(body) == ["2019年09月07日 04:04 北京日报"]


def test_a_word_beside_the_date_that_names_no_outlet_stays_out() -> None:
    body = """<h1>标题</h1><div><span class="time">2019-05-17 09:20</span><span>图片新闻</span></div>"""
    assert info_lines(body) == ["2019-05-17 09:20"]


def test_the_author_element_of_the_template_names_the_author() -> None:
    body = """<div class="author-txt"><p class="author-name">八卦大相公</p>
      <span>发布时间：01-14 17:58</span></div><p>正文。</p>
      <div class="comment"><span class="author">网友甲</span></div>"""
    assert find_author_names(tree_of("", body)) == ["八卦大相公"]


def test_an_organisation_in_the_author_element_is_no_author() -> None:
    body = """<span class="author">县教育局</span><p>正文。</p>"""
    assert find_author_names(tree_of("", body)) == []


def test_an_info_bar_styled_as_a_list_is_one_metadata_line() -> None:
    body = """<h1>标题</h1>
      <ul class="info"><li>2019-09-09 08:30</li><li>来源：新华社</li><li>浏览：12</li></ul><p>正文。</p>"""
    (line,) = info_lines(body)
    fields = parse_meta_line(line)
    assert fields is not None and fields.source == "新华社"
    assert fields.published_at is not None and fields.published_at.iso == "2019-09-09T08:30:00+08:00"
