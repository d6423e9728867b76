"""The publication date extract_article chooses among a page's candidates (crawler/html/page_reader.py)."""

from __future__ import annotations

from crawler.html.page_reader import extract_article

BODY = "<p>全县各学校要认真落实招生入学政策，做好报名、审核和录取工作，确保适龄儿童应入尽入。</p>"
RELATED = (
    "<ul class='related'><li><a href='/a/1.html'>另一条新闻的标题文字</a><span>2023-05-18 09:00</span></li>"
    "<li><a href='/a/2.html'>又一条新闻的标题文字</a><span>2023-04-02 09:00</span></li></ul>"
)


def page(head: str = "", body: str = "") -> str:
    return f"<html><head><title>县教育局部署招生工作</title>{head}</head><body>{body}</body></html>"


def published(html: str, url: str = "http://www.example.gov.cn/show.asp?id=12") -> str | None:
    return extract_article(html, url).published_at


def test_a_labelled_month_day_takes_the_year_of_the_url() -> None:
    html = page(body=f"<h1>县教育局部署招生工作</h1><div>发布时间：01-14 17:58 来源：县教育局</div>{BODY}")
    assert (
        published(html, "http://www.example.gov.cn/art/2020/1/14/art_1_2.html") == "2020-01-14T17:58:00+08:00"
    )


def test_a_labelled_month_day_keeps_its_day_in_the_year_of_another_candidate() -> None:
    html = page(body=f"<h1>县教育局部署招生工作</h1><div>发布时间：01-14 17:58 来源：县教育局</div>{BODY}")
    assert published(html, "http://www.example.cn/a/news/2020/0115/12.html") == "2020-01-14T17:58:00+08:00"


def test_a_wechat_script_time_wins_over_the_related_list() -> None:
    script = '<script>var ct = "1584063420"; var publish_time = "2020-03-13" || "";</script>'
    html = page(
        body=f"<h2 id='activity-name'>县教育局部署招生工作</h2><em id='publish_time'></em>{BODY}{script}"
    )
    assert published(html, "https://mp.weixin.qq.com/s/abc") == "2020-03-13T09:37:00+08:00"


def test_the_signing_date_wins_over_related_list_dates() -> None:
    signed = "<p>岳塘区教育局</p><p style='text-align:right'>二〇二三年五月六日</p>"
    html = page(
        body=f"<h1>县教育局部署招生工作</h1><div>来源：县教育局 浏览次数：12</div>{BODY}{signed}{RELATED}"
    )
    assert published(html) == "2023-05-06"


def test_the_url_day_wins_over_the_signing_date() -> None:
    # A TRS document name carries the day it was published; the 落款 is the day it was signed.
    signed = "<p>岳塘区人民政府办公室</p><p>2023年4月28日</p>"
    html = page(body=f"<h1>县教育局部署招生工作</h1>{BODY}{signed}")
    assert published(html, "http://www.example.gov.cn/zwgk/202305/t20230506_1.html") == "2023-05-06"


def test_a_shown_header_date_wins_over_the_signing_date() -> None:
    signed = "<p>岳塘区教育局</p><p>2023年4月28日</p>"
    info = "<div>发布日期：2023-05-06 来源：县教育局</div>"
    assert published(page(body=f"<h1>县教育局部署招生工作</h1>{info}{BODY}{signed}")) == "2023-05-06"


def test_a_utc_meta_time_is_read_in_china_time() -> None:
    head = '<meta property="article:published_time" content="2023-05-05T23:30:00Z">'
    html = page(head, f"<h1>县教育局部署招生工作</h1>{BODY}")
    assert published(html) == "2023-05-06T07:30:00+08:00"
