"""RSS/Atom feeds and sitemaps into dated article links."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from crawler.discovery.feeds import FeedEntry, FeedError, parse_feed, parse_sitemap

FEEDS = Path(__file__).parent / "fixtures" / "lists" / "feeds"


def test_rss_gb2312_with_relative_links_and_both_date_styles() -> None:
    entries = parse_feed((FEEDS / "rss.xml").read_bytes(), "http://www.ytq.gov.cn/jyj/tzgg/rss.xml")
    assert entries == [
        FeedEntry(
            "http://www.ytq.gov.cn/jyj/tzgg/202404/t20240419_11512301.html",
            "岳塘区2024年秋季小学一年级新生入学登记公告",
            "2024-04-19",
        ),
        FeedEntry(
            "http://www.ytq.gov.cn/jyj/tzgg/202404/t20240415_11508842.html",
            "关于开展2024年中小学生防溺水安全教育的通知",
            "2024-04-15",
        ),
        FeedEntry("http://www.ytq.gov.cn/jyj/tzgg/202404/t20240410_11500017.html", "只有guid的条目", None),
    ]


def test_atom_alternate_links_and_dates() -> None:
    entries = parse_feed((FEEDS / "atom.xml").read_bytes(), "https://www.xtrb.cn/feed.atom")
    assert [(e.url, e.date) for e in entries] == [
        ("https://www.xtrb.cn/news/2024-04/19/content_123456.html", "2024-04-19"),
        ("https://www.xtrb.cn/news/2024-04/18/content_123400.html", "2024-04-18"),
    ]


def test_html_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        parse_feed(b"<html><body><p>404</p></body></html>", "http://a.gov.cn/rss.xml")


def test_entities_are_not_resolved() -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<rss><channel><item><title>&x;</title><link>http://a.gov.cn/1.html</link></item></channel></rss>"
    )
    entries = parse_feed(evil, "http://a.gov.cn/rss.xml")
    assert [e.url for e in entries] == ["http://a.gov.cn/1.html"]
    assert "root:" not in entries[0].title


def test_sitemap_urls_with_lastmod_and_no_list_date() -> None:
    content = parse_sitemap(
        (FEEDS / "sitemap.xml").read_bytes(), "http://jyj.zhenping.gov.cn/sitemap.xml", max_bytes=10**6
    )
    assert content.sitemaps == []
    assert content.entries == [
        FeedEntry(
            "http://jyj.zhenping.gov.cn/art/2024/4/19/art_1003_88121.html",
            lastmod="2024-04-20T09:00:00+08:00",
        ),
        FeedEntry("http://jyj.zhenping.gov.cn/art/2024/4/17/art_1003_88075.html"),
    ]


def test_sitemap_index_lists_child_sitemaps() -> None:
    body = (FEEDS / "sitemap_index.xml").read_bytes()
    content = parse_sitemap(body, "http://jyj.zhenping.gov.cn/sitemap.xml", max_bytes=10**6)
    assert content.entries == []
    assert content.sitemaps == [
        "http://jyj.zhenping.gov.cn/sitemap_1.xml",
        "http://jyj.zhenping.gov.cn/sitemap_2.xml.gz",
    ]


def test_gzip_sitemap_is_unpacked_within_the_size_limit() -> None:
    body = gzip.compress((FEEDS / "sitemap.xml").read_bytes())
    content = parse_sitemap(body, "http://jyj.zhenping.gov.cn/sitemap.xml.gz", max_bytes=10**6)
    assert len(content.entries) == 2
    with pytest.raises(FeedError, match="gzip"):
        parse_sitemap(body, "http://jyj.zhenping.gov.cn/sitemap.xml.gz", max_bytes=100)


def test_a_feed_is_not_a_sitemap() -> None:
    with pytest.raises(FeedError, match="not a sitemap"):
        parse_sitemap((FEEDS / "atom.xml").read_bytes(), "https://www.xtrb.cn/sitemap.xml", max_bytes=10**6)


def test_feed_declaring_gb2312_keeps_entries_after_a_gbk_character() -> None:
    # libxml2 reading the declaration would stop at 洺 (not in GB2312) and lose what follows.
    xml = (
        '<?xml version="1.0" encoding="gb2312"?><rss version="2.0"><channel><title>通知公告</title>'
        "<item><title>关于洺州学校招生范围的公告</title><link>/info/1011/4521.htm</link>"
        "<pubDate>2024-06-18</pubDate></item>"
        "<item><title>永年区2024年招生入学工作方案</title><link>/info/1011/4509.htm</link></item>"
        "</channel></rss>"
    )
    entries = parse_feed(xml.encode("gbk"), "http://jyj.yongnian.gov.cn/rss.xml")
    assert [(e.title, e.url) for e in entries] == [
        ("关于洺州学校招生范围的公告", "http://jyj.yongnian.gov.cn/info/1011/4521.htm"),
        ("永年区2024年招生入学工作方案", "http://jyj.yongnian.gov.cn/info/1011/4509.htm"),
    ]
    assert entries[0].date == "2024-06-18"
