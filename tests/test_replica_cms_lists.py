"""One crawl of the replica reads the list formats of real CMSs (replica/data/cms_lists.yaml).

Hanweb's jpage column is paged through dataproxy.jsp, TRS's page_div column through
createPageHTML, the GBK list declaring UTF-8 through its 下一页 link, the feed songtao only
advertises is fetched, and the GBK notice declaring gb2312 with 洺 in its title and
SetHome(this,window.location) on the page is stored whole, not counted as a challenge.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.urls import canonicalize_url
from replica import cms_lists
from replica.network import ReplicaNetwork
from storage.db import make_engine, make_session_factory
from storage.models import Article
from tests.test_crawl_e2e import SLOW, crawl, write_config

pytestmark = pytest.mark.e2e
CMS_ARTICLES = (
    "zp-jpage-sports",
    "zp-jpage-reading",
    "zp-jpage-canteen",
    "zp-jpage-teachers",
    "dq-pagediv-art",
    "dq-pagediv-preschool",
    "dq-pagediv-library",
    "ak-declared-study-tour",
    "ak-declared-exam",
    "ak-declared-funding",
)


def test_cms_list_formats_are_crawled(tmp_path: Path) -> None:
    with ReplicaNetwork(slow_seconds=SLOW) as net:
        expected = net.expected
        config = write_config(net, tmp_path)
        report = crawl(config)
        paths = {name: net.requests.paths(name) for name in ("zhenping", "dongqu", "ankang_jyj", "songtao")}
        groups = [r for r in net.requests.records("zhenping") if r.path.startswith(cms_lists.PROXY_PATH)]
        study_tour = net.expected.by_key("ak-declared-study-tour")
        page = net.requests.records("ankang_jyj")

    # dataproxy.jsp POSTed as jpage asks (a GET would be 405): paging in the query, the column in the form.
    assert [(r.method, r.status) for r in groups] == [("POST", 200)] * len(groups) and groups
    assert any(r.path == cms_lists.PROXY_PATH + "?startrecord=3&endrecord=4&perpage=2" for r in groups)
    assert all("columnid=1236" in r.form and "unitid=21236" in r.form for r in groups)
    assert "/jyzx/jydt/xlist_1.shtml" in paths["dongqu"]
    assert "/gsgg/2.htm" in paths["ankang_jyj"]
    assert "/rss.xml" in paths["songtao"]  # advertised on its list pages, not configured
    assert [r.status for r in page if study_tour.url.endswith(r.path)] == [200]

    engine = make_engine(f"sqlite:///{tmp_path / 'countywatch.db'}")
    try:
        with make_session_factory(engine)() as session:
            stored = {row.url: row for row in session.scalars(select(Article))}
    finally:
        engine.dispose()
    for key in CMS_ARTICLES:
        article = expected.by_key(key)
        row = stored[canonicalize_url(article.url)]
        assert row.title == article.title, key
        assert (row.published_at or "")[:16] == article.published_at[:16], key
    by_name = {s["name"]: s for s in report["sources"]}
    assert "blocked" not in by_name["ankang_jyj"]["errors"]
    assert "blocked" not in by_name["zhenping"]["errors"]
