"""Scrapy settings: the project defaults, and `crawl_settings(config)` for one crawl run.

Project keys live under the `COUNTYWATCH_` prefix; components read them in `from_crawler`.
Nothing here reads the configuration file or the environment: `crawl_settings` is handed a
validated `Config` by the runner.
"""

from __future__ import annotations

from typing import Any

from scrapy.settings import default_settings as scrapy_defaults

from core.config import Config

# --- project --------------------------------------------------------------------------------
BOT_NAME = "countywatch"
SPIDER_MODULES = ["crawler.runtime.spiders"]
NEWSPIDER_MODULE = "crawler.runtime.spiders"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# --- politeness -----------------------------------------------------------------------------
USER_AGENT = "countywatch/0.1 (+https://countywatch.example/contact)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Cookies off: no session is needed to read public pages, and Scrapy's cookie middleware would
# make tldextract download the public-suffix list from the internet on first use.
COOKIES_ENABLED = False
# No telnet console: a crawl child needs no interactive back door (nothing listens but Scrapy's
# own downloader connections).
TELNETCONSOLE_ENABLED = False
# Nor Scrapy's remote-control HTTP server, which runs Python sent to it and leaves a job file per
# process in the user's state directory.
REMOTE_CONTROL_ENABLED = False
# What these three switches turn off is left out of Scrapy's base component lists as well: Scrapy
# imports every listed component only for it to raise NotConfigured (aiohttp for the remote
# control), a few tenths of a second of CPU at every crawl process's start. (None for them in
# EXTENSIONS would not do: Scrapy imports the keys of that dict too.)
_SWITCHED_OFF = frozenset(
    {
        "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
        "scrapy.extensions.telnet.TelnetConsole",
        "scrapy.extensions.remote_control.RemoteControl",
    }
)
EXTENSIONS_BASE = {k: v for k, v in scrapy_defaults.EXTENSIONS_BASE.items() if k not in _SWITCHED_OFF}
DOWNLOADER_MIDDLEWARES_BASE = {
    k: v for k, v in scrapy_defaults.DOWNLOADER_MIDDLEWARES_BASE.items() if k not in _SWITCHED_OFF
}

# --- limits ---------------------------------------------------------------------------------
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
RETRY_ENABLED = True
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 5
DEPTH_LIMIT = 12  # crawl_settings sets it from the sources' largest max_pages
CLOSESPIDER_TIMEOUT = 3600
# A 404/410/403 must reach the spider's errback (gone pages, blocked sites), never be retried.
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]

# --- conditional GET (revalidation) of list pages, feeds, sitemaps and re-checked articles ---
HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "crawler.runtime.middlewares.cache.RevalidatingPolicy"
HTTPCACHE_STORAGE = "crawler.runtime.middlewares.cache.StagedCacheStorage"
HTTPCACHE_DIR = "httpcache"
# Uncompressed: only list pages, feeds and sitemaps are kept (small), and each one is read and
# written on every cycle, where gzip cost more CPU than the disk it saved.
HTTPCACHE_GZIP = False
HTTPCACHE_EXPIRATION_SECS = 0
COUNTYWATCH_CACHE_ARTICLES = False  # see crawler.runtime.middlewares.cache

# Scrapy's lint for generator callbacks that `return` a value reads and parses the callback's source
# for every response (its cache is keyed by the bound method, a new object each time): about a
# sixth of an unchanged cycle's CPU (bench/crawl.py). Our callbacks are typed and tested instead.
WARN_ON_GENERATOR_RETURN_VALUE = False

# --- components -----------------------------------------------------------------------------
# Items per response processed in parallel. Every callback yields at most one item (an article, a
# re-check, a gone page or an attachment) besides its requests, which are scheduled without
# waiting, so a second worker never has anything to do; and Scrapy starts this many asyncio tasks,
# plus one, for every response whatever it yields (100 by default; 8 cost a few percent of the
# reactor thread in a first cycle).
CONCURRENT_ITEMS = 1
DOWNLOADER_MIDDLEWARES = {
    # Scope runs before everything that could send a request, and again on every redirect.
    "crawler.runtime.middlewares.scope.ScopeMiddleware": 50,
    # Before DownloadTimeoutMiddleware (350), which keeps a download_timeout already set.
    "crawler.runtime.middlewares.budget.SourceBudgetMiddleware": 60,
    # Scrapy's, taking a fresh cached robots.txt without a request through the engine; at Scrapy's place.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.runtime.middlewares.robots.CachedRobotsTxtMiddleware": 100,
    # Scrapy's, skipping pages that cannot declare a refresh; at Scrapy's place (and listed before
    # BlockedPageMiddleware, so the order of the two at 580 stays Scrapy's).
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.runtime.middlewares.refresh.MetaRefreshMiddleware": 580,
    # After decompression (590) and before the cache (900) sees the response on the way back.
    "crawler.runtime.middlewares.blocked.BlockedPageMiddleware": 580,
}
SPIDER_MIDDLEWARES = {
    # A lint that only warns when a spider copies response.meta into the requests it yields (ours
    # build every request's meta afresh in ListSpider.make_request), at the price of one more
    # asynchronous generator around every request and item of the crawl.
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
}
ITEM_PIPELINES = {
    "crawler.runtime.pipelines.extraction.ExtractPipeline": 300,
    "crawler.runtime.pipelines.store.StorePipeline": 500,
}

# --- countywatch ----------------------------------------------------------------------------
COUNTYWATCH_EXTRACT_WORKERS = 2
# Per-page extraction budget (crawler.runtime.pool): seconds in a worker, and bytes (0: no limit).
COUNTYWATCH_EXTRACT_TIME_LIMIT = 20.0
COUNTYWATCH_EXTRACT_MAX_BYTES = 10 * 1024 * 1024
COUNTYWATCH_DATABASE_URL = ""
COUNTYWATCH_RECHECK_AFTER = 86400.0
COUNTYWATCH_RECHECK_MAX = 30 * 86400.0
COUNTYWATCH_RECHECK_RECENT = 3 * 86400.0
COUNTYWATCH_RECHECK_RECENT_EVERY = 3600.0
COUNTYWATCH_ATTACHMENTS = True
COUNTYWATCH_ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
COUNTYWATCH_ATTACHMENT_SECONDS = 20.0
COUNTYWATCH_ATTACHMENTS_PER_ARTICLE = 10
COUNTYWATCH_DEDUPE_WINDOW = 180 * 86400.0
COUNTYWATCH_SOURCE_TIME_LIMIT = 600.0  # seconds per source inside one crawl; 0 = no limit


def crawl_settings(config: Config) -> dict[str, Any]:
    """The Scrapy settings of one crawl run under `config` (overrides of the defaults above)."""
    crawl = config.crawl
    data = config.data_path
    cache_dir = config.path(crawl.cache_dir) if crawl.cache_dir else data / "httpcache"
    return {
        "USER_AGENT": crawl.user_agent.format(contact=crawl.contact_url),
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "CONCURRENT_REQUESTS": crawl.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_per_domain,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay, 0.1),
        "DOWNLOAD_TIMEOUT": crawl.timeout,
        "RETRY_TIMES": crawl.retries,
        "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
        "CLOSESPIDER_TIMEOUT": int(crawl.time_limit.total_seconds()),
        # Page N of a list is at depth N-1 and its articles one deeper; sitemap indexes add one.
        "DEPTH_LIMIT": max((s.max_pages for s in config.sources), default=DEPTH_LIMIT) + 2,
        "HTTPCACHE_ENABLED": crawl.http_cache,
        "HTTPCACHE_DIR": str(cache_dir.resolve()),
        "COUNTYWATCH_EXTRACT_WORKERS": crawl.extract_workers,
        "COUNTYWATCH_EXTRACT_TIME_LIMIT": crawl.extract_time_limit.total_seconds(),
        "COUNTYWATCH_EXTRACT_MAX_BYTES": crawl.extract_max_bytes,
        "COUNTYWATCH_DATABASE_URL": config.database_url,
        "COUNTYWATCH_RECHECK_AFTER": crawl.recheck_after.total_seconds(),
        "COUNTYWATCH_RECHECK_MAX": crawl.recheck_max.total_seconds(),
        "COUNTYWATCH_RECHECK_RECENT": crawl.recheck_recent.total_seconds(),
        "COUNTYWATCH_RECHECK_RECENT_EVERY": crawl.recheck_recent_every.total_seconds(),
        "COUNTYWATCH_ATTACHMENTS": crawl.attachments,
        "COUNTYWATCH_ATTACHMENT_MAX_BYTES": crawl.attachment_max_bytes,
        "COUNTYWATCH_ATTACHMENT_SECONDS": crawl.attachment_seconds,
        "COUNTYWATCH_ATTACHMENTS_PER_ARTICLE": crawl.attachments_per_article,
        "COUNTYWATCH_DEDUPE_WINDOW": crawl.dedupe_window.total_seconds(),
        "COUNTYWATCH_SOURCE_TIME_LIMIT": crawl.source_time_limit.total_seconds(),
        "LOG_LEVEL": config.logging.level,
    }
