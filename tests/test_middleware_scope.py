"""ScopeMiddleware: requests and redirect targets outside a source's hosts are dropped and counted."""

from __future__ import annotations

import pytest

from core.config import Source
from crawler.runtime.middlewares import OffsiteRequest
from crawler.runtime.middlewares.scope import DROPPED_STAT, ScopeMiddleware, SourceScope
from tests.crawl_support import YUETANG, ZHENPING, make_crawler, request


@pytest.fixture
def middleware() -> ScopeMiddleware:
    return ScopeMiddleware.from_crawler(make_crawler([ZHENPING, YUETANG]))


def test_own_hosts_pass(middleware: ScopeMiddleware) -> None:
    own = [
        "http://jyj.zhenping.gov.cn/art/2024/4/19/art_1_2.html",
        "http://m.zhenping.gov.cn/art/1.html",  # mobile host of the source
        "HTTP://JYJ.ZHENPING.GOV.CN./x.html",  # upper case and a trailing dot name the same host
    ]
    for url in own:
        assert middleware.process_request(request(url)) is None, url
    assert middleware.stats is not None
    assert middleware.stats.get_value(DROPPED_STAT, 0) == 0


def test_other_hosts_are_dropped_and_counted(middleware: ScopeMiddleware) -> None:
    with pytest.raises(OffsiteRequest, match=r"off-domain request to http://evil\.example/"):
        middleware.process_request(request("http://evil.example/"))
    # another source's host is outside this source's scope too
    with pytest.raises(OffsiteRequest):
        middleware.process_request(request("http://www.ytq.gov.cn/jyj/1.html", source="zhenping"))
    # a look-alike suffix is not a subdomain
    with pytest.raises(OffsiteRequest):
        middleware.process_request(request("http://eviljyj.zhenping.gov.cn/", source="zhenping"))
    assert middleware.stats is not None
    assert middleware.stats.get_value(DROPPED_STAT) == 3


def test_subdomains_only_when_configured(middleware: ScopeMiddleware) -> None:
    middleware.process_request(
        request("http://m.www.ytq.gov.cn/1.html", source="yuetang")
    )  # passes: no OffsiteRequest
    with pytest.raises(OffsiteRequest):
        middleware.process_request(request("http://static.jyj.zhenping.gov.cn/1.html", source="zhenping"))


def test_off_domain_redirect_is_recorded_not_followed(middleware: ScopeMiddleware) -> None:
    redirected = request(
        "http://127.0.0.99/trap.html", redirect_urls=["http://jyj.zhenping.gov.cn/art/2024/4/19/art_1_2.html"]
    )
    with pytest.raises(
        OffsiteRequest, match=r"redirect from http://jyj\.zhenping\.gov\.cn/.* to http://127\.0\.0\.99/"
    ):
        middleware.process_request(redirected)


def test_requests_without_source_must_be_on_some_source(middleware: ScopeMiddleware) -> None:
    # robots.txt requests carry no source
    middleware.process_request(
        request("http://www.ytq.gov.cn/robots.txt", source=None)
    )  # passes: no OffsiteRequest
    middleware.process_request(
        request("http://a.www.ytq.gov.cn/robots.txt", source=None)
    )  # passes: no OffsiteRequest
    with pytest.raises(OffsiteRequest):
        middleware.process_request(request("http://127.0.0.99/robots.txt", source=None))


def test_unknown_source_allows_nothing() -> None:
    scope = SourceScope([ZHENPING])
    assert not scope.allows("nope", "jyj.zhenping.gov.cn")
    assert not scope.allows("zhenping", None)
    assert not scope.allows_url("zhenping", "http://jyj.zhenping.gov.cn:8080/a.html")


def test_the_same_host_on_another_port_is_another_site(middleware: ScopeMiddleware) -> None:
    # The scheme's default port, written or not, and the other scheme's default port: the same site.
    for url in (
        "http://jyj.zhenping.gov.cn:80/a.html",
        "https://jyj.zhenping.gov.cn/a.html",
        "https://jyj.zhenping.gov.cn:443/a.html",
    ):
        middleware.process_request(request(url))  # passes: no OffsiteRequest
    for url in ("http://jyj.zhenping.gov.cn:8080/a.html", "https://jyj.zhenping.gov.cn:80/a.html"):
        with pytest.raises(OffsiteRequest):
            middleware.process_request(request(url))
    # nor a subdomain on another port
    with pytest.raises(OffsiteRequest):
        middleware.process_request(request("http://m.www.ytq.gov.cn:8081/1.html", source="yuetang"))


def test_a_source_on_a_port_keeps_to_that_port() -> None:
    source = Source(
        name="local",
        start_urls=["http://127.0.0.11:8001/col/index.html"],
        allowed_domains=["cdn.example.cn"],
    )
    scope = SourceScope([source])
    assert scope.allows_url("local", "http://127.0.0.11:8001/art/1.html")
    assert not scope.allows_url("local", "http://127.0.0.11:8002/art/1.html")
    assert not scope.allows_url("local", "http://127.0.0.11/art/1.html")
    assert not scope.allows_url("local", "http://cdn.example.cn:9000/a.pdf")
    assert scope.allows_url("local", "https://cdn.example.cn/a.pdf")
    assert not scope.allows_url("local", "http://127.0.0.11:notaport/")
