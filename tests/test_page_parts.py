"""Attachment links, the CMS content container, main-text lines and list-page detection."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from crawler.article import Attachment
from crawler.html.attachment_links import find_attachments
from crawler.html.content import (
    MainContent,
    choose_content,
    extract_main_content,
    find_cms_container,
    find_summary,
)
from crawler.html.listing import is_list_page, prose_beside_headline

PAGES_DIR = Path(__file__).parent / "fixtures" / "pages"
NOTICE = """<html><head><title>关于2024年秋季招生的通知-岳塘区教育局</title></head><body>
<div class="nav"><a href="/">首页</a> <a href="/xxgk/">信息公开</a> <a href="/app.zip">[下载]</a></div>
<div class="article"><h1>关于2024年秋季招生的通知</h1><div id="zoom">
<p>各中小学：根据上级文件精神，现将2024年秋季义务教育招生入学工作有关事项通知如下，请各校认真组织实施。</p>
<table><tr><th>学校</th><th>招生计划</th></tr><tr><td>岳塘区第一小学</td><td>200人</td></tr>
<tr><td>岳塘区第二小学</td><td>150人</td></tr></table>
<ul><li>报名时间：6月1日至6月10日</li><li>报名地点：各学校教务处</li></ul>
<p>特此通知。请各校将报名情况于6月15日前报区教育局基础教育股，联系电话0731-12345678。</p>
<p>附件：<a href="/files/2024/plan.pdf">1.招生计划表.pdf</a></p>
<p>附件2：<a href="../files/form.DOCX?v=2">报名登记表</a></p>
<p><a href="/files/2024/plan.pdf">招生计划表（重复链接）</a> <a href="http://x.cn/a.wps">申请表.wps</a>
<a href="/files/rules.xlsx">附件3</a> <a href="/pic/1.jpg">照片</a> <a href="javascript:void(0)">打印</a></p>
</div></div></body></html>"""


def tree_of(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def test_attachments_get_absolute_urls_in_order_without_duplicates() -> None:
    found = find_attachments(tree_of(NOTICE), "http://jyj.xiangtan.gov.cn/tzgg/2024/0520/1.html")
    assert found == [
        Attachment("1.招生计划表.pdf", "http://jyj.xiangtan.gov.cn/files/2024/plan.pdf"),
        Attachment("报名登记表", "http://jyj.xiangtan.gov.cn/tzgg/2024/files/form.DOCX?v=2"),
        Attachment("申请表.wps", "http://x.cn/a.wps"),
        Attachment("rules.xlsx", "http://jyj.xiangtan.gov.cn/files/rules.xlsx"),
    ]


def test_attachments_without_a_base_url_keep_the_href() -> None:
    found = find_attachments(tree_of(NOTICE), None)
    assert found[0].url == "/files/2024/plan.pdf"


def test_main_content_keeps_tables_and_lists_as_readable_lines() -> None:
    content = extract_main_content(tree_of(NOTICE), None)
    assert "学校 | 招生计划" in content.lines
    assert "岳塘区第一小学 | 200人" in content.lines
    assert "报名时间：6月1日至6月10日" in content.lines
    assert not any(line.startswith(("|", "- ")) or set(line) <= {"|", "-", " "} for line in content.lines)
    assert content.list_item_chars > 0
    assert content.prose_chars > 80


def test_cms_container_is_preferred_over_navigation() -> None:
    page = (
        """<html><body><div class="nav">"""
        + "".join(f"<p><a href='/{i}'>导航栏目链接第{i}项</a></p>" for i in range(30))
        + """</div><div id="UCAP-CONTENT">
    <p>会议决定：批准发行特别国债购买外汇，批准国债余额限额调整。</p></div>
    </body></html>"""
    )
    tree = tree_of(page)
    container = find_cms_container(tree)
    assert container is not None and container.get("id") == "UCAP-CONTENT"
    assert extract_main_content(tree, None).lines == [
        "会议决定：批准发行特别国债购买外汇，批准国债余额限额调整。"
    ]


def column_page(items: int) -> str:
    rows = "".join(
        f"<li><a href='/tzgg/2024/{i}.html'>关于做好2024年第{i}批教育资助工作的通知</a>"
        f"<span>2024-05-{i % 28 + 1:02d}</span></li>"
        for i in range(items)
    )
    head = "<head><title>通知公告-岳塘区教育局</title></head>"
    return f"<html>{head}<body><ul class='list'>{rows}</ul></body></html>"


def test_a_government_column_page_is_a_list() -> None:
    tree = tree_of(column_page(20))
    assert is_list_page(tree, extract_main_content(tree, None), article_evidence=False)


def gallery_page(caption: str) -> str:
    related = column_page(20).split("<body>")[1].split("</body>")[0]
    pictures = "".join(f"<li class='image-item'><img src='/p/{i}.jpg'></li>" for i in range(10))
    return (
        f"<html><body><div class='gallery'><ul>{pictures}</ul></div><div class='info-box'>"
        "<h2 class='title'><span>原创</span>最不愁吃肉的国家</h2>"
        "<div class='pgc'><a href='/u/1'>去驴行</a></div>"
        f"<div class='abstract'><span><em>1</em>/10</span> {caption}</div>"
        "<span class='time'>2019-09-08 11:42:03</span></div>"
        f"<div class='related'>{related}</div></body></html>"
    )


def test_a_gallery_caption_beside_its_headline_is_its_body() -> None:
    caption = "当全世界绝大部分国家都在为吸引中国游客而绞尽脑汁的时候，只有这个国家一脸淡定。"
    tree = tree_of(gallery_page(caption))
    assert prose_beside_headline(tree, "最不愁吃肉的国家") == [caption]


def test_a_column_headline_with_only_links_beside_it_has_no_prose() -> None:
    # A column page's heading sits over link titles: they are the list, not a caption.
    page = column_page(20).replace("<body>", "<body><div class='col'><h2 class='title'>通知公告</h2>")
    tree = tree_of(page.replace("</body>", "</div></body>"))
    assert prose_beside_headline(tree, "通知公告") == []
    assert prose_beside_headline(tree_of(gallery_page("图片")), "最不愁吃肉的国家") == []


def test_a_short_article_with_many_related_links_needs_evidence() -> None:
    related = column_page(30).split("<body>")[1].split("</body>")[0]
    page = NOTICE.replace("</div></div></body>", f"</div></div><div class='related'>{related}</div></body>")
    tree = tree_of(page)
    content = extract_main_content(tree, None)
    assert not is_list_page(tree, content, article_evidence=True)


def test_a_long_article_with_many_related_links_is_not_a_list() -> None:
    related = column_page(30).split("<body>")[1].split("</body>")[0]
    paragraphs = "".join(
        f"<p>{'第' + str(i) + '段：全县各学校要认真落实招生入学政策，做好报名、审核和录取工作。' * 3}</p>"
        for i in range(6)
    )
    page = f"<html><body><div class='article'><h1>通知</h1>{paragraphs}</div>{related}</body></html>"
    tree = tree_of(page)
    assert not is_list_page(tree, extract_main_content(tree, None), article_evidence=False)


@pytest.mark.parametrize(
    "case", ["list_netease_news_1", "list_netease_news_2", "list_netease_forum", "list_tieba"]
)
def test_real_list_pages_are_lists(case: str) -> None:
    tree = tree_of((PAGES_DIR / case / "page.html").read_text(encoding="utf-8"))
    assert is_list_page(tree, extract_main_content(tree, None), article_evidence=False)


@pytest.mark.parametrize("case", ["gov_cn_gongbao_resolution", "gov_zj_fgw_investment", "netease_wuxi_road"])
def test_real_short_articles_are_not_lists(case: str) -> None:
    tree = tree_of((PAGES_DIR / case / "page.html").read_text(encoding="utf-8"))
    assert not is_list_page(tree, extract_main_content(tree, None), article_evidence=False)


SUMMARY = "岳塘区第一小学（Yuetang No.1），创办于1952年，位于湘潭市岳塘区。"
SUMMARY_PAGE = f"""<html><head><meta name="description" content="{SUMMARY}"></head>
<body><div class="poster"><div class="lemma-summary">
<div class="para">岳塘区第一小学（<i>Yuetang No.1</i>），创办于1952年，位于湘潭市岳塘区 [1] 。</div>
<div class="para">学校现有教学班36个。</div></div></div>
<div class="main"><p>学校历史悠久。</p></div></body></html>"""


def test_summary_block_confirmed_by_the_description_is_found_without_citations() -> None:
    assert find_summary(tree_of(SUMMARY_PAGE), SUMMARY) == [SUMMARY, "学校现有教学班36个。"]


def test_summary_block_that_the_description_does_not_confirm_is_ignored() -> None:
    tree = tree_of(SUMMARY_PAGE)
    assert find_summary(tree, "湘潭市教育局网站，发布教育新闻和通知公告。") == []
    assert find_summary(tree, None) == []


def test_a_short_news_item_ringed_by_related_links_is_an_article() -> None:
    # About a hundred characters of news between two related-link blocks, no CMS evidence.
    related = column_page(12).split("<body>")[1].split("</body>")[0]
    item = (
        "6月3日上午，县教育局召开全县中小学安全工作会议，部署暑期学生安全教育工作。"
        "会议要求各校落实防溺水责任，开展一次隐患大排查，并通过家长会提醒家长履行监护责任。"
    )
    page = (
        f"<html><body><div class='related'>{related}</div><div class='main'><h1>县教育局部署暑期安全工作</h1>"
        f"<p>{item}</p></div><div class='related'>{related}</div></body></html>"
    )
    tree = tree_of(page)
    assert not is_list_page(tree, extract_main_content(tree, None), article_evidence=False)


def test_a_search_results_page_is_a_list_though_its_snippets_are_prose() -> None:
    results = "".join(
        f"<div class='result'><a href='/art/2022/{i}.html'>"
        f"关于做好2022年第{i}批城乡居民医保参保工作的通知</a>"
        f"<p>各乡镇人民政府：为进一步做好我县城乡居民基本医疗保险参保缴费工作，现将第{i}批有关事项通知如下……</p>"
        f"<span>http://www.example.gov.cn/art/2022/{i}.html</span></div>"
        for i in range(15)
    )
    page = f"<html><body><div class='search'><p>为您找到相关结果约126个</p>{results}</div></body></html>"
    tree = tree_of(page)
    assert is_list_page(tree, extract_main_content(tree, None), article_evidence=False)


def test_a_home_page_with_a_teaser_is_a_list() -> None:
    teaser = "<p>12月27日，县委十三届五次全体（扩大）会议暨县委经济工作会议召开，总结全年工作。[详细]</p>"
    page = column_page(20).replace("<body>", f"<body><div class='focus'>{teaser}</div>")
    tree = tree_of(page)
    assert is_list_page(tree, extract_main_content(tree, None), article_evidence=False)


PARAGRAPHS = [
    "6月3日上午，县教育局召开全县中小学安全工作会议，部署暑期学生安全教育工作，要求各校落实责任。",
    "会议指出，今年以来全县学校安全形势总体平稳，但防溺水、交通安全等方面仍存在隐患，必须常抓不懈。",
    "会议强调，各学校要在放假前开展一次安全隐患大排查，并通过家长会、告家长书提醒家长履行监护责任。",
]
NAV = ["首页", "新闻中心", "政务公开", "办事服务", "互动交流", "县情概况", "专题专栏", "图片新闻"]


def test_the_reading_with_the_same_body_and_less_navigation_wins() -> None:
    body = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    nav = "".join(f"<a href='/{i}'>{name}</a>" for i, name in enumerate(NAV))
    tree = tree_of(f"<html><body><div class='nav'>{nav}</div><div class='text'>{body}</div></body></html>")
    first = MainContent([*NAV, *PARAGRAPHS], 0, sum(map(len, PARAGRAPHS)))
    assert choose_content(tree, None, first).lines == PARAGRAPHS


def test_a_reading_with_much_more_prose_is_not_the_same_body() -> None:
    # The densest block here is the comment thread: more prose than the article, not its body.
    comments = "".join(
        f"<p>{text}网友评论说，这样的会议很有必要，希望落到实处。</p>" for text in PARAGRAPHS * 3
    )
    body = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    page = (
        f"<html><body><div class='text'><h1>标题</h1>{body}</div>"
        f"<div class='comments'>{comments}</div></body></html>"
    )
    tree = tree_of(page)
    first = MainContent(["分享", *PARAGRAPHS], 0, sum(map(len, PARAGRAPHS)))
    assert choose_content(tree, None, first).lines[-1] == PARAGRAPHS[-1]


def test_a_reading_that_finds_the_body_beats_one_that_found_only_navigation() -> None:
    # Old table layouts: the first reading took the nav bar; the density reading finds the article.
    paragraphs = [*PARAGRAPHS, *(text.replace("会议", "座谈会") for text in PARAGRAPHS)]
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    nav = "".join(f"<td><a href='/{i}'>{name}</a></td>" for i, name in enumerate(NAV))
    page = f"<html><body><table><tr>{nav}</tr><tr><td>{body}</td></tr></table></body></html>"
    tree = tree_of(page)
    assert choose_content(tree, None, MainContent(list(NAV), 0, 0)).lines == paragraphs


def test_the_metadata_line_above_the_body_stays_when_another_reading_wins() -> None:
    body = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    nav = "".join(f"<a href='/{i}'>{name}</a>" for i, name in enumerate(NAV))
    tree = tree_of(f"<html><body><div class='nav'>{nav}</div><div class='text'>{body}</div></body></html>")
    info = "县教育局部署暑期安全工作 来源于：县教育局办公室"
    first = MainContent([*NAV, info, *PARAGRAPHS, "“可爱的中国”之朝鲜族 2019-09-09 19:05"], 0, 0)
    assert choose_content(tree, None, first).lines == [info, *PARAGRAPHS]
