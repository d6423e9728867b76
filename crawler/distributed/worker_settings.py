"""Scrapy settings of a worker: the crawl's settings with scrapy-redis's layered on top."""

from __future__ import annotations

import os
import socket
import uuid

from scrapy.settings import Settings

from core.config import Config, ConfigError, read_secret
from crawler.distributed.queue import Keys
from crawler.runtime.runner import scrapy_settings

DEFAULT_LEASE = 30.0  # seconds a worker's claims survive without a heartbeat
DEFAULT_TICK = 1.0


def redis_url(config: Config) -> str:
    """The Redis URL of distributed mode (from the variable `redis_url_env` names, else `redis_url`)."""
    dist = config.distributed
    url = read_secret(dist.redis_url_env) if dist.redis_url_env else dist.redis_url
    if not url:
        raise ConfigError(
            "distributed mode needs a Redis server: set distributed.redis_url_env (the name of an "
            "environment variable holding the URL) or distributed.redis_url"
        )
    return url


def new_worker_id() -> str:
    """A worker id unique across machines: host, process id and a random part."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def worker_settings(
    config: Config, *, worker_id: str, lease: float = DEFAULT_LEASE, tick: float = DEFAULT_TICK
) -> Settings:
    """The settings of one worker process under `config`."""
    if lease <= tick:
        raise ConfigError(f"the worker lease ({lease}s) must be longer than its heartbeat ({tick}s)")
    keys = Keys(config.distributed.queue_prefix)
    settings = scrapy_settings(config)
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    position = pipelines.pop("crawler.runtime.pipelines.store.StorePipeline", 500)
    pipelines["crawler.distributed.shared_store.DistributedStorePipeline"] = position
    spider_mw = dict(settings.getdict("SPIDER_MIDDLEWARES"))
    # Outermost (lowest number): it sees the output after every other middleware filtered it.
    spider_mw["crawler.distributed.claims.ClaimMiddleware"] = 1
    settings.setdict(
        {
            "SCHEDULER": "crawler.distributed.claim_scheduler.ReliableScheduler",
            "SCHEDULER_PERSIST": True,
            "SCHEDULER_QUEUE_CLASS": "crawler.distributed.queue.ReliableQueue",
            "SCHEDULER_QUEUE_KEY": keys.requests,
            "SCHEDULER_SERIALIZER": "crawler.distributed.codec",
            "DUPEFILTER_CLASS": "crawler.distributed.seen.ExpiringDupeFilter",
            "STATS_CLASS": "crawler.distributed.runs.RunStatsCollector",
            "REDIS_URL": redis_url(config),
            "ITEM_PIPELINES": pipelines,
            "SPIDER_MIDDLEWARES": spider_mw,
            # A worker runs until it is stopped, not for one run's time limit; its sources come
            # back cycle after cycle, so a per-source clock started in one cycle would end them all.
            "CLOSESPIDER_TIMEOUT": 0,
            "COUNTYWATCH_SOURCE_TIME_LIMIT": 0,
            "COUNTYWATCH_QUEUE_PREFIX": keys.prefix,
            "COUNTYWATCH_SEEN_KEY": keys.seen,
            "COUNTYWATCH_SEEN_TTL": config.distributed.seen_ttl.total_seconds(),
            "COUNTYWATCH_WORKER_ID": worker_id,
            "COUNTYWATCH_WORKER_LEASE": lease,
            "COUNTYWATCH_WORKER_TICK": tick,
        },
        priority="cmdline",
    )
    return settings
