"""Distributed crawling's pure parts: the JSON codec, the claim tracker, start entries, worker
settings, and the `countywatch worker` command's one-line errors (no Redis needed)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from scrapy.utils.test import get_crawler

from core.config import ConfigError
from countywatch.config import config_from_dict
from crawler.distributed import codec
from crawler.distributed.claims import META_CYCLE, ClaimTracker
from crawler.distributed.enqueue import Recheck, recheck_entries, rechecks, start_entries
from crawler.distributed.spider import DistributedSpider
from crawler.distributed.worker_settings import redis_url, worker_settings
from storage.recheck import KnownAttachment, KnownPage
from tests.distributed_support import COUNTYWATCH, child_env

# Nothing listens on port 1 of loopback.
NO_REDIS = {"redis_url": "redis://127.0.0.1:1/0"}
SOURCE: dict[str, Any] = {
    "name": "zhenping",
    "start_urls": ["http://www.zhenping.gov.cn/col/col1/index.html"],
    "feeds": ["http://www.zhenping.gov.cn/rss.xml"],
    "sitemaps": ["http://www.zhenping.gov.cn/sitemap.xml"],
}
WITH_REDIS = {"sources": [SOURCE], "distributed": NO_REDIS}


@pytest.mark.parametrize(
    "value",
    [
        {"url": "http://a/", "body": b"\x00\xff", "headers": {b"Accept": [b"text/html"]}},
        {"meta": {"redirect_urls": ["http://a/", "http://b/"], "depth": 2, "cw_list_date": None}},
        {"$b": "not bytes, a key that looks like the tag"},
        {"nested": {"$d": [1, 2]}, "tuple": (1, "x")},
        {"text": "镇坪县教育体育局", "float": 0.5, "flag": True},
    ],
    ids=["bytes-and-bytes-keys", "meta", "tag-lookalike", "tag-lookalike-pairs", "unicode"],
)
def test_the_codec_gives_back_what_it_was_given(value: dict[str, Any]) -> None:
    expected = {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
    assert codec.loads(codec.dumps(value)) == expected


def test_the_codec_refuses_objects_it_cannot_represent() -> None:
    with pytest.raises(TypeError, match="cannot queue a value of type object"):
        codec.dumps({"meta": {"x": object()}})


def test_a_claim_is_done_when_its_output_is_done() -> None:
    done: list[str] = []
    tracker = ClaimTracker(done.append)
    item, child = object(), object()
    tracker.begin("c1")
    tracker.track("c1", item)
    tracker.track("c1", child)
    tracker.end("c1")
    assert done == []  # the callback has returned, its output is still being processed
    tracker.release(item)
    assert done == []
    tracker.release(child)
    assert done == ["c1"] and tracker.open_claims() == 0
    tracker.release(child)  # a second release is harmless
    assert done == ["c1"]


def test_nested_scopes_and_double_tracking_count_once() -> None:
    # An errback run inside the spider middleware: both track the same item, in two scopes.
    done: list[str] = []
    tracker = ClaimTracker(done.append)
    item = object()
    tracker.begin("c1")
    tracker.begin("c1")
    tracker.track("c1", item)
    tracker.track("c1", item)
    tracker.end("c1")
    tracker.release(item)
    assert done == []
    tracker.end("c1")
    assert done == ["c1"]


def test_an_empty_output_finishes_at_once_and_forget_drops_a_claim() -> None:
    done: list[str] = []
    tracker = ClaimTracker(done.append)
    tracker.begin("c1")
    tracker.end("c1")
    tracker.begin("c2")
    tracker.track("c2", object())
    tracker.forget("c2")
    assert done == ["c1"] and tracker.open_claims() == 0


def test_start_entries_cover_lists_feeds_sitemaps_and_due_articles() -> None:
    source = config_from_dict({"sources": [SOURCE]}).sources[0]
    entries = [(codec.loads(data), priority) for data, priority in start_entries(source, 42)]
    assert [(e["kind"], e["url"], p) for e, p in entries] == [
        ("list", SOURCE["start_urls"][0], 0),
        ("feed", SOURCE["feeds"][0], 0),
        ("sitemap", SOURCE["sitemaps"][0], 0),
    ]
    assert all(e["cw_start"] == 1 and e["source"] == "zhenping" and e["cycle"] == 42 for e, _ in entries)
    (data, priority), *_ = recheck_entries(source, ["http://www.zhenping.gov.cn/art/1.html"], 42)
    assert codec.loads(data)["kind"] == "article" and priority == 1


def test_worker_settings_layer_scrapy_redis_over_the_crawl_settings() -> None:
    config = config_from_dict(
        {"sources": [SOURCE], "distributed": {"redis_url": "redis://127.0.0.1:1/0", "seen_ttl": "2h"}}
    )
    settings = worker_settings(config, worker_id="w9", lease=10, tick=1)
    pipelines = settings.getdict("ITEM_PIPELINES")
    assert "crawler.runtime.pipelines.store.StorePipeline" not in pipelines
    assert pipelines["crawler.distributed.shared_store.DistributedStorePipeline"] == 500
    assert settings.getdict("SPIDER_MIDDLEWARES")["crawler.distributed.claims.ClaimMiddleware"] == 1
    assert settings.get("SCHEDULER") == "crawler.distributed.claim_scheduler.ReliableScheduler"
    assert settings.getbool("SCHEDULER_PERSIST") is True
    assert settings.get("SCHEDULER_QUEUE_KEY") == "countywatch:requests"
    assert settings.getfloat("COUNTYWATCH_SEEN_TTL") == 2 * 3600  # seconds, like every duration setting
    assert settings.getint("CLOSESPIDER_TIMEOUT") == 0
    with pytest.raises(ConfigError, match="lease"):
        worker_settings(config, worker_id="w9", lease=1, tick=1)


def test_the_redis_url_comes_from_the_named_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_from_dict({"distributed": {"redis_url_env": "CW_PARTS_REDIS"}})
    monkeypatch.delenv("CW_PARTS_REDIS", raising=False)
    with pytest.raises(ConfigError, match="CW_PARTS_REDIS is not set"):
        redis_url(config)
    monkeypatch.setenv("CW_PARTS_REDIS", "redis://127.0.0.1:6390/2")
    assert redis_url(config) == "redis://127.0.0.1:6390/2"
    with pytest.raises(ConfigError, match="needs a Redis server"):
        redis_url(config_from_dict({}))


def _worker(tmp_path: Path, config: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return subprocess.run(
        [*COUNTYWATCH, "worker", "--config", str(path), *args],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )


@pytest.mark.parametrize(
    ("config", "args", "status", "message"),
    [
        ({"sources": [SOURCE]}, ["--enqueue"], 2, "distributed mode needs a Redis server"),
        ({"sources": [SOURCE]}, ["--source", "zhenping"], 2, "--source only applies with --enqueue"),
        (
            WITH_REDIS,
            ["--enqueue", "--source", "x"],
            2,
            "no source named 'x'",
        ),
        (
            WITH_REDIS,
            ["--lease", "1", "--tick", "2"],
            2,
            "longer than its",
        ),
        (WITH_REDIS, [], 1, "cannot reach Redis"),
        ({"distributed": NO_REDIS}, [], 2, "no sources configured"),
    ],
    ids=[
        "no-redis-configured",
        "source-without-enqueue",
        "unknown-source",
        "lease",
        "redis-down",
        "no-sources",
    ],
)
def test_the_worker_command_fails_in_one_line(
    tmp_path: Path, config: dict[str, Any], args: list[str], status: int, message: str
) -> None:
    config = {**config, "database": f"sqlite:///{tmp_path}/cw.db"}
    done = _worker(tmp_path, config, *args)
    assert done.returncode == status
    assert message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_each_cycle_starts_the_spiders_bookkeeping_afresh() -> None:
    source = config_from_dict({"sources": [SOURCE]}).sources[0]
    crawler = get_crawler(DistributedSpider, {"COUNTYWATCH_WORKER_ID": "w"})
    spider = DistributedSpider.from_crawler(crawler, sources=[source])
    article = {
        "cw_start": 1,
        "source": "zhenping",
        "kind": "article",
        "url": "http://www.zhenping.gov.cn/a/1.html",
    }
    listing = {**article, "kind": "list", "url": SOURCE["start_urls"][0]}
    first = spider.request_from_entry({**article, "cycle": 1})
    assert first is not None and first.dont_filter is False and first.meta[META_CYCLE] == 1
    assert first.callback == spider.parse_article and first.priority == 1
    assert spider.request_from_entry({**article, "cycle": 1}) is None  # already requested this cycle
    lists = spider.request_from_entry({**listing, "cycle": 1})
    assert lists is not None and lists.dont_filter is True and lists.callback == spider.parse_list
    assert spider.request_from_entry({**listing, "cycle": 1}) is None
    # A newer cycle: the same pages are requested again (the shared seen filter decides for articles).
    assert spider.request_from_entry({**article, "cycle": 2}) is not None
    assert spider.request_from_entry({**listing, "cycle": 2}) is not None
    # An entry of an older cycle does not reset the newer one's bookkeeping.
    assert spider.request_from_entry({**listing, "cycle": 1}) is None
    assert spider.request_from_entry({**article, "source": "elsewhere", "cycle": 3}) is None


def test_an_advertised_feed_is_shared_among_workers_once_per_cycle() -> None:
    # Every page of a list advertises the same feed and different workers read those pages: the
    # feed goes through the shared seen filter, keyed by its cycle so the next cycle reads it again.
    source = config_from_dict({"sources": [SOURCE]}).sources[0]
    workers = []
    for name in ("w1", "w2"):
        crawler = get_crawler(DistributedSpider, {"COUNTYWATCH_WORKER_ID": name})
        workers.append(DistributedSpider.from_crawler(crawler, sources=[source]))
    feed = "http://www.zhenping.gov.cn/col/col1/rss.xml"
    keys = []
    for spider in workers:  # each read a page of the list advertising the feed
        (request,) = spider._advertised_feed_requests(source, [feed])
        assert request.dont_filter is False and request.url == feed
        request.meta[META_CYCLE] = 7  # what the claim tracker stamps on a child request
        keys.append(spider.seen_key(request))
    assert keys[0] == keys[1]
    request.meta[META_CYCLE] = 8
    assert spider.seen_key(request) != keys[0]


def _known(
    url: str,
    first_seen: datetime,
    *,
    due: bool,
    etag: str | None,
    status: str = "active",
    now: datetime | None = None,
) -> KnownPage:
    now = now or NOW
    return KnownPage(
        url=url,
        first_seen=first_seen,
        last_checked=first_seen,
        next_check_at=now - timedelta(minutes=1) if due else now + timedelta(days=1),
        content_hash="h",
        status=status,
        gone_count=0,
        etag=etag,
        published_at=first_seen.date().isoformat(),
        attachments=(
            KnownAttachment(url + ".pdf", "岗位表", '"a1"', None),
            KnownAttachment(url + ".xls", "报名表", None, None),
        ),
    )


NOW = datetime(2024, 6, 10, 4, tzinfo=UTC)


def test_the_push_schedules_due_and_recent_rechecks_with_their_attachments() -> None:
    base = "http://www.zhenping.gov.cn/art/"
    known = {
        base + "due": _known(base + "due", NOW - timedelta(days=40), due=True, etag=None),
        base + "recent": _known(base + "recent", NOW - timedelta(days=1), due=False, etag='"e"'),
        # Recent but without validators: a full GET every cycle would cost what 304s save.
        base + "bare": _known(base + "bare", NOW - timedelta(days=1), due=False, etag=None),
        base + "old": _known(base + "old", NOW - timedelta(days=40), due=False, etag='"e"'),
        base + "gone": _known(
            base + "gone", NOW - timedelta(days=1), due=True, etag='"e"', status="withdrawn"
        ),
    }
    chosen = rechecks(known, NOW, timedelta(days=3), attachments_per_article=1)
    assert chosen == [
        Recheck(base + "due", (base + "due.pdf",)),
        Recheck(base + "gone", ()),  # withdrawn: its files are not asked for
        Recheck(base + "recent", (base + "recent.pdf",)),
    ]
    assert [r.attachments for r in rechecks(known, NOW, timedelta(days=3), 0)] == [(), (), ()]
    # Checked a day ago: not asked early again while `recheck_recent_every` is longer than that.
    assert [r.url for r in rechecks(known, NOW, timedelta(days=3), 0, every=timedelta(days=2))] == [
        base + "due",
        base + "gone",
    ]
    source = config_from_dict({"sources": [SOURCE]}).sources[0]
    entries = [(codec.loads(data), p) for data, p in recheck_entries(source, chosen[2:], 42, run=7)]
    assert [(e["kind"], e["url"], e.get("article"), e["run"], p) for e, p in entries] == [
        ("article", base + "recent", None, 7, 1),
        ("attachment", base + "recent.pdf", base + "recent", 7, 1),
    ]


def test_a_worker_builds_conditional_rechecks_from_the_push_entries() -> None:
    source = config_from_dict({"sources": [SOURCE]}).sources[0]
    crawler = get_crawler(
        DistributedSpider, {"COUNTYWATCH_WORKER_ID": "w", "COUNTYWATCH_RECHECK_RECENT": 3 * 86400}
    )
    spider = DistributedSpider.from_crawler(crawler, sources=[source])
    url = "http://www.zhenping.gov.cn/art/2024/6/9/art_1_2.html"
    spider.enter_cycle(source, 5)
    now = datetime.now(UTC)
    spider.known["zhenping"] = {url: _known(url, now - timedelta(days=1), due=False, etag='"e"', now=now)}
    entry = {"cw_start": 1, "source": "zhenping", "cycle": 5}
    # A list page linking the stored article leaves it to the push: no second request, no files.
    assert list(spider._article_requests(source, url, "2024-06-09")) == []
    article = spider.request_from_entry({**entry, "kind": "article", "url": url})
    assert article is not None and article.headers.get("If-None-Match") == b'"e"'
    assert article.meta["cw_early"] is True and article.meta["handle_httpstatus_list"] == [304]
    pdf = spider.request_from_entry({**entry, "kind": "attachment", "url": url + ".pdf", "article": url})
    assert pdf is not None and pdf.callback == spider.parse_attachment
    assert pdf.headers.get("If-None-Match") == b'"a1"' and pdf.meta["cw_article"] == url
    xls = spider.request_from_entry({**entry, "kind": "attachment", "url": url + ".xls", "article": url})
    assert xls is not None and b"If-None-Match" not in xls.headers  # no validators: a plain GET
    # A file no longer stored with the article (the page changed since the push) is not asked for.
    gone = {**entry, "kind": "attachment", "url": url + ".doc", "article": url}
    assert spider.request_from_entry(gone) is None
