"""One worker process: the distributed spider on the shared queue until SIGTERM or Ctrl-C.

Scrapy's CrawlerProcess turns the first SIGTERM/SIGINT into a graceful stop: no new request is
taken, in-flight ones finish, their items are stored, and the scheduler hands whatever is still
claimed back to the queue. A second signal stops at once (the claims then return after the lease).
"""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError
from scrapy.crawler import CrawlerProcess
from twisted.python.failure import Failure

from core.config import Config, ConfigError
from crawler.distributed.database import upgrade_shared
from crawler.distributed.spider import DistributedSpider
from crawler.distributed.worker_settings import (
    DEFAULT_LEASE,
    DEFAULT_TICK,
    new_worker_id,
    redis_url,
    worker_settings,
)
from crawler.runtime.runner import CrawlError


def check_redis(config: Config) -> None:
    """Fail early, in one line, when the Redis server cannot be reached."""
    server = Redis.from_url(redis_url(config), socket_connect_timeout=5)
    try:
        server.ping()
    except RedisError as exc:
        raise CrawlError(f"cannot reach Redis: {exc}") from None
    finally:
        server.close()


def run_worker(
    config: Config,
    *,
    worker_id: str | None = None,
    lease: float = DEFAULT_LEASE,
    tick: float = DEFAULT_TICK,
) -> str:
    """Run a worker in this process until it is stopped; returns the spider's finish reason."""
    if not config.sources:
        raise ConfigError("no sources configured: a worker crawls the sources of its configuration")
    settings = worker_settings(config, worker_id=worker_id or new_worker_id(), lease=lease, tick=tick)
    check_redis(config)
    config.data_path.mkdir(parents=True, exist_ok=True)
    upgrade_shared(config.database_url)
    process = CrawlerProcess(settings, install_root_handler=True)
    crawler = process.create_crawler(DistributedSpider)
    failures: list[Failure] = []
    done = process.crawl(
        crawler, sources=config.sources, topics=config.topics, database_url=config.database_url
    )
    done.addErrback(failures.append)
    process.start()
    if failures:
        raise CrawlError(f"the worker failed: {failures[0].getErrorMessage()}")
    assert crawler.stats is not None
    return str(crawler.stats.get_value("finish_reason", "unknown"))
