"""The generated network: N varied sites with the replica's API, reposts, and new articles per cycle."""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Iterator

import pytest

from countywatch.config import config_from_dict
from replica.generate import GeneratedCatalog, GeneratedNetwork
from tests.replica_http import fetch


@pytest.fixture(scope="module")
def net() -> Iterator[GeneratedNetwork]:
    with GeneratedNetwork(
        n_sites=12, articles_per_site=6, seed=3, new_per_cycle=0.05, repost_share=0.3
    ) as network:
        yield network


def test_generates_n_sites_of_varied_templates_on_distinct_hosts(net: GeneratedNetwork) -> None:
    assert len(net.sites) == 12
    assert Counter(s.template for s in net.sites.values()) == {"hanweb": 4, "trs": 4, "bureau": 4}
    assert {s.encoding for s in net.sites.values() if s.template == "bureau"} == {"gbk"}
    assert len({s.host for s in net.sites.values()}) == 12
    assert all(s.host.startswith("127.1.0.") for s in net.sites.values())
    # Benchmarks measure the crawler, not its trap handling: no hostile pages here.
    assert (
        net.expected.unstored == [] and net.expected.calendar_urls == {} and net.expected.never_fetched == {}
    )


def test_config_dict_validates_with_one_source_per_site(net: GeneratedNetwork) -> None:
    config = config_from_dict(net.config_dict("sqlite:///bench.db"))
    assert sorted(s.name for s in config.sources) == sorted(net.sites)
    assert all(s.region for s in config.sources)


def test_every_generated_article_is_served_with_its_title(net: GeneratedNetwork) -> None:
    articles = net.expected.served(1)
    assert len(articles) == 12 * 6
    for article in articles:
        reply = fetch(article.url)
        assert reply.status == 200, article.url
        assert article.title in reply.text(), article.url
        assert len(reply.text()) > 1000


def test_some_articles_are_reposts_of_another_sites_story(net: GeneratedNetwork) -> None:
    stories = net.expected.stories(1)
    shared = [copies for copies in stories.values() if len({a.site for a in copies}) > 1]
    assert shared
    for copies in shared:
        assert len({a.title for a in copies}) == 1
    assert any(a.education for a in net.expected.served(1))
    assert any(not a.education for a in net.expected.served(1))


def test_advance_adds_about_the_configured_share_of_new_articles() -> None:
    with GeneratedNetwork(n_sites=10, articles_per_site=10, seed=1, new_per_cycle=0.05) as net:
        before = {a.url for a in net.expected.served(1)}
        assert net.advance() == 2
        new = net.expected.new(2)
        assert len(new) == 5
        assert {a.url for a in net.expected.served(2)} == before | {a.url for a in new}
        for article in new:
            assert fetch(article.url).status == 200
        assert {a.key for a in net.expected.changed(2)} == set()


def test_same_seed_same_network_and_the_catalog_pickles() -> None:
    catalog = GeneratedCatalog(5, 4, seed=9, new_per_cycle=0.1, repost_share=0.2)
    assert catalog(2) == GeneratedCatalog(5, 4, seed=9, new_per_cycle=0.1, repost_share=0.2)(2)
    assert pickle.loads(pickle.dumps(catalog))(2) == catalog(2)
    assert catalog(1) != GeneratedCatalog(5, 4, seed=10, new_per_cycle=0.1, repost_share=0.2)(1)


def test_bad_sizes_are_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="n_sites must be between 1 and 60000"):
        GeneratedNetwork(n_sites=0)
    with pytest.raises(ValueError, match="articles_per_site must be at least 1"):
        GeneratedNetwork(n_sites=3, articles_per_site=0)
