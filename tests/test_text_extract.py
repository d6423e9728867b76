"""extract_text_article: merging the HTML's hints with what the text says, and the record's flags."""

from __future__ import annotations

from crawler.text.hints import PageHints
from crawler.text.text_reader import extract_text_article

ARTICLE = (
    "您当前的位置:安康市教育体育局 > 新闻动态 > 正文内容\n"
    "镇坪县召开教育高质量发展大会\n"
    "发布时间:2023-09-08 11:11作者:王贤忠\n"
    "9月7日,镇坪县召开2023年教育高质量发展大会,部署教育高质量发展工作。\n"
    "会上还表彰了立德树人优秀学校。\n"
)


def test_hint_title_wins_and_its_line_leaves_the_body() -> None:
    article = extract_text_article(ARTICLE, hints=PageHints(title="镇坪县召开教育高质量发展大会"))
    assert article.title == "镇坪县召开教育高质量发展大会"
    assert article.text.split("\n")[0].startswith("9月7日")


def test_text_time_is_more_precise_than_a_date_only_hint() -> None:
    article = extract_text_article(ARTICLE, hints=PageHints(published_at="2023-09-08"))
    assert article.published_at == "2023-09-08T11:11:00+08:00"


def test_hint_with_time_wins_over_the_text() -> None:
    hint = "2023-09-08T10:00:00+08:00"
    assert extract_text_article(ARTICLE, hints=PageHints(published_at=hint)).published_at == hint


def test_hint_date_of_another_day_wins_over_the_text() -> None:
    assert (
        extract_text_article(ARTICLE, hints=PageHints(published_at="2023-09-09")).published_at == "2023-09-09"
    )


def test_hint_fields_win_and_text_fills_the_rest() -> None:
    hints = PageHints(site_name="安康教育", source="安康日报")
    article = extract_text_article(ARTICLE, hints=hints)
    assert (article.site_name, article.source) == ("安康教育", "安康日报")
    assert article.section == "新闻动态"


def test_the_author_the_text_names_wins_over_the_meta_author() -> None:
    # <meta name="author"> on Chinese sites is often the uploading editor; the byline is the author.
    article = extract_text_article(ARTICLE, hints=PageHints(authors=["李平"]))
    assert article.authors == ["王贤忠"]


def test_the_meta_author_stands_in_when_the_text_names_nobody() -> None:
    text = "9月7日,镇坪县召开2023年教育高质量发展大会,部署教育高质量发展工作。"
    assert extract_text_article(text, hints=PageHints(authors=["李平"])).authors == ["李平"]


def test_a_meta_author_who_is_the_editor_is_not_the_author() -> None:
    text = "9月7日,镇坪县召开2023年教育高质量发展大会,部署教育高质量发展工作。\n责任编辑：李平"
    article = extract_text_article(text, hints=PageHints(authors=["李平"]))
    assert (article.authors, article.editor) == ([], "李平")


def test_hint_flags_are_kept_first() -> None:
    article = extract_text_article(
        "今天是xx月xx日,召开全县教育工作会议。", hints=PageHints(flags=["truncated"])
    )
    assert article.flags == ["truncated", "template"]


def test_list_page_hint_marks_a_list() -> None:
    article = extract_text_article(ARTICLE, hints=PageHints(is_list_page=True))
    assert (article.page_kind, article.flags) == ("list", ["not_article"])


def test_empty_text_is_an_empty_page() -> None:
    article = extract_text_article("安康市教育体育局欢迎您!\n[打印本页] 分享给好友阅读:\n")
    assert (article.page_kind, article.text, article.flags) == ("empty", "", ["not_article"])


def test_document_sharing_host_flags_the_record() -> None:
    article = extract_text_article(
        "在全县教育工作会上的讲话\n同志们:\n今天召开全县教育工作会议。", "https://www.docin.com/p-1.html"
    )
    assert "document_sharing" in article.flags


def test_undated_text_has_no_publication_date() -> None:
    article = extract_text_article("县教育局召开全体干部会议,部署秋季开学工作。")
    assert (article.published_at, article.flags) == (None, [])


def test_full_date_in_the_lead_stands_in_and_is_flagged() -> None:
    article = extract_text_article("2024年3月5日,县教育局召开全体干部会议,部署春季开学工作。")
    assert (article.published_at, article.flags) == ("2024-03-05", ["date_inferred"])


def test_tail_block_ends_the_article() -> None:
    article = extract_text_article(
        "县教育局召开全体干部会议,部署秋季开学工作。\n相关阅读\n全县教师节表彰大会召开\n"
    )
    assert article.text == "县教育局召开全体干部会议,部署秋季开学工作。"


def test_metadata_after_the_tail_still_counts() -> None:
    article = extract_text_article(
        "县教育局召开全体干部会议,部署秋季开学工作。\n下一篇:教师节表彰\n网站标识码:6109270001\n"
    )
    assert article.site_id_code == "6109270001"


def test_year_of_a_month_day_comes_from_the_text_but_never_from_a_plan() -> None:
    article = extract_text_article("5月31日,县委书记到第六中学调研2021年中高考备考和2035年教育远景目标。")
    assert (article.published_at, article.flags) == ("2021-05-31", ["date_inferred"])


def test_opening_byline_and_closing_credit_name_the_authors() -> None:
    text = (
        "新华社巴黎12月9日电（记者唐霁）法国9日再次爆发全国跨行业大罢工，交通几乎完全瘫痪。\n"
        "工会号召10日继续举行罢工。（评论员 罗博）"
    )
    article = extract_text_article(text)
    assert article.authors == ["唐霁", "罗博"]
    assert article.text.startswith("法国9日再次爆发")
    assert article.text.endswith("继续举行罢工。（评论员 罗博）")


def test_credit_line_after_the_body_closes_the_article() -> None:
    body = "江门警方提示，接到自称是公安、检察院、法院等单位人员的来电切勿轻易相信，拿不准时可拨打110求证。"
    lines = [
        body,
        body,
        body,
        "采写：南都记者 余毅菁 向雪妮",
        "香港警方：8.31示威行动未发生致命事件",
        ",南方都市报",
    ]
    text = "\n".join(lines)
    article = extract_text_article(text)
    assert article.authors == ["余毅菁", "向雪妮"]
    assert article.text == "\n".join(lines[:3])


def test_credit_line_above_the_body_does_not_close_it() -> None:
    article = extract_text_article("责任编辑：王五\n9月7日,镇坪县召开教育大会。\n会上还表彰了优秀学校。")
    assert article.editor == "王五"
    assert article.text == "9月7日,镇坪县召开教育大会。\n会上还表彰了优秀学校。"


def test_bracket_left_of_a_split_credit_and_replacement_characters_leave_no_trace() -> None:
    text = "\ufffd\ufffd短缺药品保供稳价，全力保障临床用药需求。\n【责任编辑:张樵苏\n】"
    article = extract_text_article(text)
    assert (article.text, article.editor) == ("短缺药品保供稳价，全力保障临床用药需求。", "张樵苏")


def test_site_suffix_after_an_underscore_is_no_template_blank() -> None:
    article = extract_text_article("蔡健雅是新加坡歌手。", hints=PageHints(title="蔡健雅_百度百科"))
    assert "template" not in article.flags


# An old table layout: trafilatura emits the nav bar and the copyright line before the body.
NAV_FIRST = (
    "首页 | 新闻中心 | 政务公开 | 办事服务 | 互动交流\n"
    "Copyright © 2000-2006 某某县人民政府 版权所有\n"
    "6月3日上午，县教育局召开全县中小学安全工作会议，部署暑期学生安全教育工作。会议要求各校落实责任。\n"
    "会议指出，今年以来全县学校安全形势总体平稳，但防溺水、交通安全等方面仍存在隐患，必须常抓不懈。\n"
    "会议强调，各学校要在放假前开展一次安全隐患大排查，并通过家长会、告家长书等方式提醒家长履行监护责任。\n"
)


def test_a_footer_line_before_the_body_does_not_end_it() -> None:
    article = extract_text_article(NAV_FIRST)
    assert article.text.startswith("6月3日上午")
    assert article.text.endswith("履行监护责任。")
    assert "Copyright" not in article.text and "首页" not in article.text
    assert article.page_kind == "article"


def test_a_tail_marker_after_the_body_still_ends_it() -> None:
    text = NAV_FIRST + "相关阅读\n县长调研农村学校建设\n全县启动暑期防溺水宣传月活动 2023-06-01\n"
    article = extract_text_article(text)
    assert article.text.endswith("履行监护责任。")
    assert "prose_restored" not in article.flags


def test_the_guard_keeps_the_prose_cleaning_would_drop() -> None:
    # A short lead, then a marker, then more prose than the lead but less than a substantial
    # block: the marker cuts, and the guard sees that most of the prose went with it.
    lead = "6月3日上午，县教育局召开全县中小学安全工作会议，部署暑期学生安全工作。"
    rest = (
        "会议要求，各学校要在放假前开展一次安全隐患大排查，"
        "通过家长会、告家长书提醒家长履行监护责任，确保学生度过平安暑假。"
    )
    article = extract_text_article(f"{lead}\n相关阅读\n{rest}\n")
    assert article.text == f"{lead}\n{rest}"
    assert "prose_restored" in article.flags


def test_a_traditional_title_is_converted_with_the_body() -> None:
    text = "縣教育局召開全體幹部會議，部署秋季開學工作。會議要求各校做好開學準備。"
    article = extract_text_article(text, hints=PageHints(title="縣教育局召開秋季開學工作會議"))
    assert article.title == "县教育局召开秋季开学工作会议"
    assert article.text.startswith("县教育局召开全体干部会议")
    assert "converted_script" in article.flags


def test_a_traditional_title_repeated_in_the_body_leaves_the_body() -> None:
    text = (
        "縣教育局召開秋季開學工作會議\n縣教育局召開全體幹部會議，部署秋季開學工作。會議要求各校做好開學準備。"
    )
    article = extract_text_article(text, hints=PageHints(title="縣教育局召開秋季開學工作會議"))
    assert article.text.startswith("县教育局召开全体干部会议")


def test_a_signing_date_under_the_body_stays_in_the_notice() -> None:
    notice = (
        "关于开展防溺水教育的通知\n各中小学：\n请各校做好暑期防溺水安全教育工作。\n"
        "岳塘区教育局\n二〇二三年五月六日\n"
    )
    article = extract_text_article(notice, hints=PageHints(title="关于开展防溺水教育的通知"))
    assert article.text.split("\n")[-2:] == ["岳塘区教育局", "二〇二三年五月六日"]


def test_a_date_line_above_the_body_is_still_metadata() -> None:
    page = "关于开展防溺水教育的通知\n2023年5月6日\n各中小学：\n请各校做好暑期防溺水安全教育工作。\n"
    article = extract_text_article(page, hints=PageHints(title="关于开展防溺水教育的通知"))
    assert article.published_at == "2023-05-06"
    assert "2023年5月6日" not in article.text
