"""Hostile pages for the extraction budget: what a broken or malicious site can serve.

Each page is an article page of a county site (a title, a few paragraphs of a notice) with one
pathology; `PATHOLOGICAL` maps a kind to a function building the page's bytes, so tests and
bench/pathological.py build them on demand instead of keeping 50 MB in the repository.
"""

from __future__ import annotations

import random
from collections.abc import Callable

TITLE = "关于做好2024年义务教育招生入学工作的通知"
PARAGRAPHS = (
    "各乡镇中心学校、县直各学校：根据省市教育部门有关文件精神，现就做好我县2024年义务教育招生入学工作通知如下。",
    "一、坚持免试就近入学。公办义务教育学校严格按照划定的学区招生，不得以任何形式的考试或测评选拔学生。",
    "二、规范招生报名程序。适龄儿童少年的父母或其他法定监护人应在规定时间内持户口簿、居住证明等材料到学区学校报名。",
    "三、加强组织领导。各学校要高度重视招生入学工作，明确专人负责，及时回应群众关切，确保招生工作平稳有序。",
)
MARKER = "坚持免试就近入学"  # a phrase of the body a correct extraction keeps


def _page(inside_body: str, before_article: str = "", charset: str = "utf-8") -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (
        f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{TITLE}_镇坪县教育体育局</title>'
        '<meta name="PubDate" content="2024-04-19 10:30"></head><body>'
        f'{before_article}<div class="article"><h1>{TITLE}</h1>'
        '<div class="info">发布时间：2024-04-19 10:30 来源：镇坪县教育体育局</div>'
        f'<div class="content">{paragraphs}{inside_body}</div></div></body></html>'
    )


def huge_attributes(count: int = 100_000) -> bytes:
    """100k attributes (without values) on the element holding the article text."""
    attributes = " ".join(f"a{i}" for i in range(count))
    return _page("").replace('<div class="content">', f'<div class="content" {attributes}>').encode()


def nested_elements(depth: int = 100_000) -> bytes:
    """100k nested elements after the article text."""
    return _page("<div>" * depth + "深层内容" + "</div>" * depth).encode()


def many_links(count: int = 10_000) -> bytes:
    """10k links around the article (a "related" block gone wild)."""
    links = "".join(f'<li><a href="/art/2024/4/{i}.html">相关信息第{i}条</a></li>' for i in range(count))
    return _page("", before_article=f"<ul class='related'>{links}</ul>").encode()


def fifty_megabytes(size: int = 50 * 1024 * 1024) -> bytes:
    """A 50 MB page: the article, then megabytes of repeated table rows."""
    row = "<tr><td>学生姓名</td><td>学籍号</td><td>学校</td></tr>"
    filler = row * (size // len(row.encode()) + 1)
    return _page(f"<table>{filler}</table>").encode()[:size]


def binary(size: int = 256 * 1024) -> bytes:
    """A PNG header and random bytes, served as a page."""
    noise = random.Random(11).randbytes(size)
    return b"\x89PNG\r\n\x1a\n" + noise


def invalid_bytes() -> bytes:
    """A page declared UTF-8 with a few bytes that are not (a GBK fragment, stray continuation bytes)."""
    page = _page("".join(f"<p>{p}</p>" for p in PARAGRAPHS * 3)).encode()
    broken = "招生".encode("gbk") + b"\xc3\x28\xa0\xa1\xff\xfe"
    return page.replace(MARKER.encode(), MARKER.encode() + broken, 1)


PATHOLOGICAL: dict[str, Callable[[], bytes]] = {
    "huge_attributes": huge_attributes,
    "nested_elements": nested_elements,
    "many_links": many_links,
    "fifty_megabytes": fifty_megabytes,
    "binary": binary,
    "invalid_bytes": invalid_bytes,
}
