"""Scrapy settings of a crawl run come from the configuration, over the project defaults."""

from __future__ import annotations

from pathlib import Path

from countywatch.config import config_from_dict
from crawler.runtime.runner import scrapy_settings


def test_configuration_becomes_scrapy_settings(tmp_path: Path) -> None:
    config = config_from_dict(
        {
            "database": "sqlite:///cw.db",
            "data_dir": "state",
            "crawl": {
                "contact_url": "https://edu.example/about",
                "obey_robots": False,
                "concurrent_per_domain": 3,
                "download_delay": 1.5,
                "max_page_bytes": 2048,
                "time_limit": "10m",
                "extract_workers": 0,
                "recheck_after": "12h",
            },
            "sources": [{"name": "a", "start_urls": ["http://a.gov.cn/"], "max_pages": 40}],
        },
        base_dir=str(tmp_path),
    )
    settings = scrapy_settings(config)
    assert settings["USER_AGENT"] == "countywatch/0.1 (+https://edu.example/about)"
    assert settings.getbool("ROBOTSTXT_OBEY") is False
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 3
    assert settings.getfloat("DOWNLOAD_DELAY") == 1.5
    assert settings.getint("DOWNLOAD_MAXSIZE") == 2048
    assert settings.getint("CLOSESPIDER_TIMEOUT") == 600
    assert settings.getint("DEPTH_LIMIT") == 42
    assert settings.getint("COUNTYWATCH_EXTRACT_WORKERS") == 0
    assert settings.getfloat("COUNTYWATCH_RECHECK_AFTER") == 12 * 3600
    assert settings["HTTPCACHE_DIR"] == str(tmp_path / "state" / "httpcache")
    assert settings["COUNTYWATCH_DATABASE_URL"] == f"sqlite:///{tmp_path / 'cw.db'}"
    # project defaults stay where the configuration says nothing
    assert settings["HTTPCACHE_POLICY"] == "crawler.runtime.middlewares.cache.RevalidatingPolicy"
    assert settings.getbool("COOKIES_ENABLED") is False


def test_defaults_are_polite() -> None:
    settings = scrapy_settings(config_from_dict({}))
    assert settings.getbool("ROBOTSTXT_OBEY") is True
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is True
    assert "countywatch" in settings["USER_AGENT"] and "+https://" in settings["USER_AGENT"]
    assert settings.getint("REDIRECT_MAX_TIMES") == 5
