"""Rendering digests as text, HTML and chat Markdown: content, escaping, size limits, a real browser."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from alerts.model import Digest, NewEntry
from alerts.render import render_html, render_markdown, render_text
from tests.digest_screenshot import decode_png, screenshot
from tests.digest_support import sample_digest


def test_text_groups_new_announcements_by_region_then_category() -> None:
    text = render_text(sample_digest())
    zhenping = text.index("== 陕西省安康市镇坪县（2 条） ==")
    meeting = text.index("-- 会议 --")
    enrolment = text.index("-- 招生入学 --")
    yuetang = text.index("== 湖南省湘潭市岳塘区（1 条） ==")
    changed = text.index("== 已变更的公告（1 条） ==")
    withdrawn = text.index("== 已撤回的公告（1 条） ==")
    assert zhenping < meeting < enrolment < yuetang < changed < withdrawn


def test_text_entry_shows_source_date_first_publisher_reposts_link_and_two_summary_lines() -> None:
    text = render_text(sample_digest())
    assert (
        "* 镇坪县召开教育高质量发展大会\n"
        "  安康市教育体育局 · 2023-09-08 11:11 · 首发：安康市教育体育局 · 转载 2 次\n"
        "  http://www.zhenping.gov.cn/jyj/2023/0908/1.html\n"
        "  9月7日、第39个教师节来临之际，镇坪县召开教育高质量发展大会。\n"
        "  会议表彰了优秀教师和立德树人优秀学校。\n"
    ) in text
    # An announcement nobody reposted says nothing about reposts or a first publisher.
    assert "  镇坪县教育体育局 · 2024-04-19\n" in text


def test_text_shows_diff_withdrawals_and_operator_sections() -> None:
    text = render_text(sample_digest())
    assert "    - 会议时间为6月20日\n    + 会议时间改为6月21日\n" in text
    assert "撤回于 2024-04-18 20:00" in text  # 12:00 UTC in China Standard Time
    assert "== 站点状态变化（1 项） ==\n* xiangtan-daily：failing（2024-04-19 08:00）\n" in text
    assert "* 家长群 → wecom-main：重试中（3 条，已尝试 2 次，下次 2024-04-19 08:00）" in text


def test_digest_for_a_reader_has_no_operator_sections() -> None:
    text = render_text(sample_digest(operators=False))
    assert "站点状态变化" not in text and "投递失败" not in text


def test_empty_digest_says_so() -> None:
    digest = Digest("家长", sample_digest().since, sample_digest().until)
    assert "此时段内没有符合订阅条件的新内容。" in render_text(digest)
    assert digest.subject == "【教育公告摘要】无新内容（家长）"


def test_subject_counts_each_section() -> None:
    assert sample_digest().subject == (
        "【教育公告摘要】3 条新公告 · 1 条变更 · 1 条撤回 · 1 项站点状态变化 · 1 项投递失败（教育局值班）"
    )


def test_html_escapes_hostile_titles_summaries_and_sources() -> None:
    html = render_html(sample_digest(hostile=True))
    assert "<script" not in html
    # Title, source, summary, diff line and health message each carry one escaped copy.
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6


def test_html_drops_javascript_links() -> None:
    digest = sample_digest()
    evil = replace(digest.new[0], url="javascript:alert(document.cookie)")
    html = render_html(replace(digest, new=[evil, *digest.new[1:]]))
    assert "javascript:" not in html
    assert 'href="#"' in html


def test_html_styles_are_inline() -> None:
    html = render_html(sample_digest())
    assert "<style" not in html
    assert html.count('style="') > 30


def test_markdown_escapes_markup_in_titles() -> None:
    digest = sample_digest(hostile=True)
    tricky = replace(
        digest.new[0], title="[点我](http://evil.example) *粗体*", url="http://a.example/x?a=(1)"
    )
    markdown = render_markdown(replace(digest, new=[tricky]))
    assert r"- [\[点我\]\(http://evil.example\) \*粗体\*](http://a.example/x?a=%281%29)" in markdown
    assert "<script>" not in markdown


def test_slack_mrkdwn_escapes_angle_brackets_and_ampersands() -> None:
    digest = sample_digest(hostile=True)
    slack = render_markdown(digest, flavor="slack")
    assert "<script>" not in slack
    assert "&lt;script&gt;alert(1)&lt;/script&gt;镇坪县召开教育高质量发展大会>" in slack
    assert "• <http://www.zhenping.gov.cn/jyj/2023/0908/1.html|" in slack


@pytest.mark.parametrize("limit", [4096, 20000])
def test_markdown_is_shortened_to_the_bot_limit_with_a_more_line_and_link(limit: int) -> None:
    digest = replace(sample_digest(extra_new=300), link="https://countywatch.example/digests/x.html")
    markdown = render_markdown(digest, max_bytes=limit)
    assert len(markdown.encode()) <= limit
    shown = len(re.findall(r"^- ", markdown, flags=re.MULTILINE))
    omitted = int(re.search(r"另有 (\d+) 项未列出", markdown).group(1))  # type: ignore[union-attr]
    assert shown > 0
    assert shown + omitted == digest.item_count
    assert "[查看全部](https://countywatch.example/digests/x.html)" in markdown
    # The budget is used: one more item would not have fitted.
    assert len(render_markdown(digest.shortened(shown + 1)).encode()) > limit


def test_markdown_that_fits_is_not_shortened() -> None:
    digest = sample_digest()
    assert render_markdown(digest, max_bytes=20000) == render_markdown(digest)
    assert "另有" not in render_markdown(digest)


def test_shortened_digest_keeps_section_order_and_counts_the_rest() -> None:
    digest = sample_digest()
    short = digest.shortened(4)
    assert [e.alert_id for e in short.new] == [1, 2, 3]
    assert [e.alert_id for e in short.changed] == [10]
    assert short.withdrawn == [] and short.health == [] and short.failing == []
    assert short.omitted == digest.item_count - 4
    assert "…… 另有 3 项未列出" in render_text(short)
    assert short.subject == digest.subject  # the subject still counts everything


def test_regions_keep_unknown_region_and_uncategorised_entries() -> None:
    entry = NewEntry(9, "通知", "http://x.example/1", "某站", None, None, None, "")
    groups = replace(sample_digest(), new=[entry]).regions()
    assert [(g.region, [c.category for c in g.categories]) for g in groups] == [("未知地区", ["其他"])]


def test_html_digest_renders_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "digest.html"
    page.write_text(render_html(sample_digest(hostile=True)), encoding="utf-8")
    png = tmp_path / "digest.png"
    # A hostile <script>alert()</script> that ran would block the headless browser on its dialog.
    screenshot(page, png, tmp_path / "profile")
    pixels = decode_png(png.read_bytes())
    assert pixels.shape[:2] == (1400, 1000)
    rgb = pixels[..., :3].reshape(-1, 3)
    non_white = float((rgb.min(axis=1) < 245).mean())
    colours = len(np.unique(rgb, axis=0))
    assert non_white > 0.3, f"the page is nearly blank ({non_white:.1%} non-white pixels)"
    assert colours > 200, f"only {colours} distinct colours: text and styles did not render"
    # The header band is the dark blue of the template.
    header = pixels[60, 500, :3].astype(int)
    assert abs(header - np.array([0x1F, 0x4E, 0x79])).max() < 12
