"""advance() changes exactly what it says, and unchanged pages keep their validators."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree

from replica.catalog import DELETED_NOTICE
from replica.network import ReplicaNetwork
from tests.replica_http import Reply, fetch, links


@pytest.fixture
def net() -> Iterator[ReplicaNetwork]:
    with ReplicaNetwork(slow_seconds=0.05) as network:
        yield network


def _snapshot(net: ReplicaNetwork) -> dict[str, Reply]:
    """Every article, list page, feed and sitemap URL of the network, fetched now."""
    urls = {a.url for a in net.expected.articles} | {_posts_url(net)}
    for site in net.sites.values():
        urls.update(site.start_urls, site.feeds, site.sitemaps)
    return {url: fetch(url) for url in sorted(urls)}


def _posts_url(net: ReplicaNetwork) -> str:
    """The attachment (岗位表 PDF) of dq-recruitment, kept beside the article."""
    return net.expected.by_key("dq-recruitment").url.rsplit("/", 1)[0] + "/P020240419512345678901.pdf"


def _feed_links(reply: Reply) -> list[str]:
    return [item.findtext("link") or "" for item in etree.fromstring(reply.body).findall("./channel/item")]


def test_cycle_two_changes_one_removes_three_and_adds_two(net: ReplicaNetwork) -> None:
    expected = net.expected
    before = _snapshot(net)
    assert net.advance() == 2 and net.cycle == 2
    after = _snapshot(net)

    article_urls = {a.url: a.key for a in expected.articles}
    rewritten = {
        article_urls[u]
        for u in article_urls
        if before[u].status == after[u].status == 200 and before[u].body != after[u].body
    }
    deleted = {key for key in rewritten if "该信息已删除" in after[expected.by_key(key).url].text()}
    changed = rewritten - deleted
    assert changed == {"zp-enrolment"}
    # dq-recruitment's page stays as it was; its attachment is a new file under the same link
    assert {a.key for a in expected.changed(2)} == {"zp-enrolment", "dq-recruitment"}
    posts = _posts_url(net)
    assert before[posts].status == after[posts].status == 200
    assert before[posts].body != after[posts].body
    enrolment = after[expected.by_key("zp-enrolment").url].text()
    assert "报名时间调整为2024年7月1日至7月5日" in enrolment and "6月20日" not in enrolment

    # The deleted notice is a whole page of the site's template, in place of the article.
    assert deleted == {"st-first-grade"}
    notice = after[expected.by_key("st-first-grade").url].text()
    assert "<title>提示信息_松桃苗族自治县人民政府</title>" in notice and "入学报名" not in notice
    gone = {
        article_urls[u]: after[u].status for u in article_urls if before[u].status == 200 != after[u].status
    }
    assert gone == {"zp-nutrition": 404, "dq-teacher-certification": 410}
    assert {a.key: a.gone_status for a in expected.gone(2)} == {**gone, "st-first-grade": DELETED_NOTICE}
    assert [a.key for a in expected.gone(2) if a.deleted_notice] == ["st-first-grade"]
    # Withdrawn by the crawl of cycle 2 (at once) or, missing a second time, of cycle 3.
    assert [a.key for a in expected.withdrawn(2)] == ["st-first-grade"]
    assert {a.key for a in expected.withdrawn(3)} == {"st-first-grade", *gone}

    new = {article_urls[u] for u in article_urls if before[u].status == 404 and after[u].status == 200}
    assert new == {"zp-summer-holiday", "dq-student-aid"} == {a.key for a in expected.new(2)}

    # New items top their list page; the 404 article keeps its stale link, the 410 one is unlisted.
    for key in ("zp-summer-holiday", "dq-student-aid"):
        article = expected.by_key(key)
        first_link = next(
            u for u in links(article.list_url, after[article.list_url].text()) if u in article_urls
        )
        assert first_link == article.url
    songtao_news = expected.by_key("st-first-grade").list_url
    assert expected.by_key("st-first-grade").url in links(songtao_news, after[songtao_news].text())
    zhenping_notices = expected.by_key("zp-nutrition").list_url
    assert expected.by_key("zp-nutrition").url in links(zhenping_notices, after[zhenping_notices].text())
    dongqu_notices = expected.by_key("dq-teacher-certification").list_url
    assert expected.by_key("dq-teacher-certification").url not in links(
        dongqu_notices, after[dongqu_notices].text()
    )

    feed = net.sites["zhenping"].feeds[0]
    assert _feed_links(after[feed])[0] == expected.by_key("zp-summer-holiday").url
    assert expected.by_key("zp-summer-holiday").url not in _feed_links(before[feed])

    # Everything else kept its bytes and validators, so conditional requests get 304.
    touched = {expected.by_key(k).url for k in rewritten | set(gone) | new}
    for url, old in before.items():
        if url in touched or old.status != 200 or old.body != after[url].body:
            continue
        if "ETag" not in old.headers:  # only the JavaScript challenge, which must not be cached
            assert url == expected.by_key("xt-zoning").url
            continue
        assert after[url].headers["ETag"] == old.headers["ETag"], url
        assert after[url].headers["Last-Modified"] == old.headers["Last-Modified"], url
        assert fetch(url, {"If-None-Match": old.headers["ETag"]}).status == 304, url
    changed_list = fetch(zhenping_notices, {"If-None-Match": before[zhenping_notices].headers["ETag"]})
    assert changed_list.status == 200
    assert changed_list.headers["Last-Modified"] != before[zhenping_notices].headers["Last-Modified"]


def test_cycle_three_serves_cycle_two_unchanged(net: ReplicaNetwork) -> None:
    net.advance()
    second = _snapshot(net)
    net.requests.clear()
    net.advance()
    challenge = net.expected.by_key("xt-zoning").url
    for url, old in second.items():
        if old.status != 200 or url == challenge:
            assert fetch(url).status == old.status, url
            continue
        assert fetch(url, {"If-None-Match": old.headers["ETag"]}).status == 304, url
        assert fetch(url, {"If-Modified-Since": old.headers["Last-Modified"]}).status == 304, url
    assert (
        net.expected.new(3) == [] and net.expected.changed(3) == [] and net.expected.alert_stories(3) == set()
    )


def test_network_can_start_at_a_later_cycle() -> None:
    with ReplicaNetwork(slow_seconds=0, cycle=2) as net:
        assert net.cycle == 2
        assert fetch(net.expected.by_key("dq-student-aid").url).status == 200
        assert fetch(net.expected.by_key("dq-teacher-certification").url).status == 410


def test_child_process_network_serves_advances_and_logs() -> None:
    with ReplicaNetwork(slow_seconds=0, in_process=False) as net:
        url = net.expected.by_key("zp-summer-holiday").url
        assert fetch(url).status == 404
        assert net.advance() == 2 and net.cycle == 2
        assert fetch(url).status == 200
        records = net.requests.records("zhenping")
        assert [r.status for r in records if r.path.endswith("art_1235_56812.html")] == [404, 200]
        net.requests.clear()
        assert len(net.requests) == 0
    with pytest.raises(RuntimeError, match="not running"):
        net.requests.records()
