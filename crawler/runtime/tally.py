"""Per-source counters kept in Scrapy's stats collector, and reading them back as `SourceStats`.

Every component counts through Scrapy's stats under `countywatch/<source>/<counter>` and
`countywatch/<source>/errors/<kind>`, so spider, middlewares and pipelines need no shared object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scrapy import Request
from scrapy.statscollectors import StatsCollector

from crawler.runtime.health import COUNTERS, ERROR_KINDS, SourceStats

PREFIX = "countywatch"
# Request meta keys the spider sets and the middlewares and pipelines read.
META_SOURCE = "cw_source"
META_KIND = "cw_kind"  # list | feed | sitemap | article


def counter_key(source: str, counter: str) -> str:
    """The stats key of a counter of one source."""
    return f"{PREFIX}/{source}/{counter}"


def error_key(source: str, kind: str) -> str:
    """The stats key of an error kind of one source."""
    return f"{PREFIX}/{source}/errors/{kind}"


def count(stats: StatsCollector, source: str | None, counter: str, n: int = 1) -> None:
    """Add `n` to a counter of `source` (requests without a source are counted under `-`)."""
    stats.inc_value(counter_key(source or "-", counter), n)


def count_error(stats: StatsCollector, source: str | None, kind: str) -> None:
    """Count one error of `kind` for `source`."""
    stats.inc_value(error_key(source or "-", kind))


def source_of(request: Request) -> str | None:
    """The source a request was made for."""
    value = request.meta.get(META_SOURCE)
    return value if isinstance(value, str) else None


def read_source_stats(stats: Mapping[str, Any], source: str) -> SourceStats:
    """The counters of one source from a finished run's stats."""
    out = SourceStats()
    for name in COUNTERS:
        setattr(out, name, int(stats.get(counter_key(source, name), 0)))
    for kind in ERROR_KINDS:
        value = int(stats.get(error_key(source, kind), 0))
        if value:
            out.errors[kind] = value
    return out
