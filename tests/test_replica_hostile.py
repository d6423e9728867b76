"""Each hostile case of the replica network behaves as the crawler's tests expect."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import pytest

from replica.network import ReplicaNetwork
from tests.replica_http import fetch, links

SLOW = 0.4


@pytest.fixture(scope="module")
def net() -> Iterator[ReplicaNetwork]:
    with ReplicaNetwork(slow_seconds=SLOW) as network:
        yield network


def _url(net: ReplicaNetwork, key: str) -> str:
    return net.expected.by_key(key).url


def _linked_from_list(net: ReplicaNetwork, key: str) -> bool:
    article = net.expected.by_key(key)
    url, seen = article.list_url, 0
    while url and seen < 10:
        html = fetch(url).text("gbk" if article.site == "ankang_jyj" else None)
        if article.url in links(url, html):
            return True
        match = re.search(r'<a href="([^"]+)"[^>]*>下一页</a>', html)
        url = urljoin(url, match.group(1).replace("&amp;", "&")) if match else ""
        seen += 1
    return False


def test_slow_page_arrives_after_the_configured_delay(net: ReplicaNetwork) -> None:
    started = time.monotonic()
    reply = fetch(_url(net, "zp-forest-fire"))
    elapsed = time.monotonic() - started
    assert reply.status == 200 and "森林防火" in reply.text()
    assert SLOW <= elapsed < SLOW + 2


def test_server_error_page_answers_500(net: ReplicaNetwork) -> None:
    assert _linked_from_list(net, "zp-economy")
    assert fetch(_url(net, "zp-economy")).status == 500


def test_redirect_loop_bounces_between_two_pages(net: ReplicaNetwork) -> None:
    first = _url(net, "zp-rural")
    reply = fetch(first)
    assert reply.status == 302
    second = urljoin(first, reply.headers["Location"])
    assert second != first
    back = fetch(second)
    assert back.status == 302 and urljoin(second, back.headers["Location"]) == first


def test_waf_challenge_answers_412_with_script_and_no_content(net: ReplicaNetwork) -> None:
    reply = fetch(_url(net, "dq-annual-report"))
    assert reply.status == 412
    html = reply.text()
    assert "<script" in html and "$_ts" in html
    assert "政府信息公开" not in html and "<p>" not in html


def test_javascript_challenge_answers_200_without_the_article(net: ReplicaNetwork) -> None:
    assert _linked_from_list(net, "xt-zoning")
    reply = fetch(_url(net, "xt-zoning"))
    assert reply.status == 200
    html = reply.text()
    assert "<script" in html and "__jsl_clearance" in html
    assert "划片" not in html


def test_offsite_redirect_points_at_the_unconfigured_host_which_logs_hits(net: ReplicaNetwork) -> None:
    reply = fetch(_url(net, "dq-city-notice"))
    assert reply.status == 302
    target = reply.headers["Location"]
    assert target.startswith(net.offsite_url)
    configured = {s.host for s in net.sites.values()}
    assert urlsplit(target).hostname not in configured
    before = len(net.offsite_hits())
    assert fetch(target).status == 200
    hits = net.offsite_hits()
    assert len(hits) == before + 1 and hits[-1].path == urlsplit(target).path


def test_pages_link_off_domain(net: ReplicaNetwork) -> None:
    zhenping = net.sites["zhenping"]
    html = fetch(zhenping.start_urls[0]).text()
    assert net.offsite_url + "/" in links(zhenping.start_urls[0], html)
    mirror = fetch(_url(net, "mr-yuetang")).text()
    assert net.offsite_url + "/go?id=91563" in mirror


def test_huge_page_is_about_twenty_megabytes(net: ReplicaNetwork) -> None:
    url = _url(net, "ak-statistics")
    head = fetch(url, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert int(head.headers["Content-Length"]) >= 20 * 1024 * 1024
    reply = fetch(url)
    assert len(reply.body) == int(head.headers["Content-Length"])
    assert reply.body.decode("gbk").rstrip().endswith("</html>")


def test_binary_is_served_as_text_html(net: ReplicaNetwork) -> None:
    reply = fetch(_url(net, "ak-food-safety"))
    assert reply.headers["Content-Type"] == "text/html"
    assert reply.body.startswith(b"\x89PNG")
    with pytest.raises(UnicodeDecodeError):
        reply.body.decode("utf-8")


def test_wrong_charset_declaration_serves_gbk_bytes_as_utf8(net: ReplicaNetwork) -> None:
    reply = fetch(_url(net, "ak-labour-day"))
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    with pytest.raises(UnicodeDecodeError):
        reply.body.decode("utf-8")
    html = reply.body.decode("gbk")
    assert 'charset=utf-8"' in html and "劳动节放假安排" in html


def test_calendar_trap_never_ends(net: ReplicaNetwork) -> None:
    url = net.expected.calendar_urls["zhenping"]
    seen = set()
    for _ in range(40):
        reply = fetch(url)
        assert reply.status == 200
        seen.add(url)
        url = urljoin(url, re.search(r'<a href="([^"]+)">下一天</a>', reply.text()).group(1))
        assert url not in seen
    assert len(seen) == 40


def test_unknown_paths_answer_404(net: ReplicaNetwork) -> None:
    assert fetch(net.sites["songtao"].base_url + "/no/such/page.html").status == 404


def test_request_log_records_site_host_path_status_and_headers(net: ReplicaNetwork) -> None:
    site = net.sites["wentop"]
    fetch(site.start_urls[0], {"User-Agent": "countywatch-test", "If-None-Match": '"x"'})
    record = net.requests.records("wentop")[-1]
    assert (record.site, record.method, record.status) == ("wentop", "GET", 200)
    assert record.path == urlsplit(site.start_urls[0]).path
    assert record.host == site.base_url.removeprefix("http://")
    assert record.headers["user-agent"] == "countywatch-test"
    assert record.headers["if-none-match"] == '"x"'
    assert record.path in net.requests.paths("wentop")
