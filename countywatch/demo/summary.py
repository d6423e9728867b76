"""What the demo prints about each crawl and about the database: per-source tables and totals.

Per-source numbers come from the crawl child's JSON report; stories and alerts are read back from
the database with the repository functions, so what the demo shows is what is stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from core.textable import format_table
from crawler.runtime.health import COUNTERS, SourceStats
from storage.models import ALERT_KINDS
from storage.repository import ArticleFilter, alerts_for_digest, iter_articles, known_pages

_COLUMNS = (
    "source",
    "lists",
    "304",
    "fetched",
    "new",
    "changed",
    "dup",
    "gone",
    "withdrawn",
    "errors",
    "health",
)


@dataclass(frozen=True, slots=True)
class SourceLine:
    """One source's part of a crawl, from the child's report."""

    name: str
    health: str
    stats: SourceStats
    error: str | None = None


def source_lines(report: Mapping[str, Any]) -> list[SourceLine]:
    """The per-source entries of a `countywatch crawl --json` report."""
    lines = []
    for entry in report.get("sources", []):
        counters = {name: int(entry.get(name, 0)) for name in COUNTERS}
        errors = {str(k): int(v) for k, v in (entry.get("errors") or {}).items()}
        stats = SourceStats(**counters, errors=errors)
        lines.append(SourceLine(str(entry["name"]), str(entry.get("health", "?")), stats, entry.get("error")))
    return lines


def source_table(lines: Sequence[SourceLine], indent: str = "  ") -> str:
    """The per-source table: list pages, 304s, articles fetched, outcomes, errors, health."""
    rows = [_COLUMNS]
    for line in lines:
        s = line.stats
        rows.append(
            (
                line.name,
                str(s.list_pages),
                str(s.list_unchanged + s.not_modified),
                str(s.articles_fetched),
                str(s.new),
                str(s.changed),
                str(s.duplicate),
                str(s.gone),
                str(s.withdrawn),
                str(s.error_count),
                line.health,
            )
        )
    # Names and health read left-aligned; counts right-aligned so their digits line up.
    return "\n".join(format_table(rows, indent, right_aligned=range(1, len(_COLUMNS) - 1)))


def error_lines(lines: Sequence[SourceLine], indent: str = "  ") -> list[str]:
    """One line per source with errors: what kinds, how many."""
    return [f"{indent}{line.name}: {line.error}" for line in lines if line.error]


@dataclass(frozen=True, slots=True)
class CrawlTotals:
    """The sum of a crawl's per-source counters."""

    new: int
    changed: int
    duplicate: int
    gone: int
    withdrawn: int
    errors: int

    @classmethod
    def of(cls, lines: Sequence[SourceLine]) -> CrawlTotals:
        """Totals over all sources."""
        return cls(
            new=sum(x.stats.new for x in lines),
            changed=sum(x.stats.changed for x in lines),
            duplicate=sum(x.stats.duplicate for x in lines),
            gone=sum(x.stats.gone for x in lines),
            withdrawn=sum(x.stats.withdrawn for x in lines),
            errors=sum(x.stats.error_count for x in lines),
        )


@dataclass(frozen=True, slots=True)
class StoreTotals:
    """What the database holds: articles, stories, withdrawn articles."""

    articles: int
    stories: int
    withdrawn: int


@dataclass(frozen=True, slots=True)
class AlertCounts:
    """Alerts created in a time window, by kind."""

    by_kind: Mapping[str, int] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> int:
        return self.by_kind.get(kind, 0)

    def line(self) -> str:
        """`alerts: 18 new, 1 changed, 2 withdrawn, 7 source health`."""
        return (
            f"alerts: {self['new']} new, {self['changed']} changed, {self['withdrawn']} withdrawn, "
            f"{self['health']} source health"
        )


def store_totals(session: Session) -> StoreTotals:
    """Count the stored articles, their stories and the withdrawn ones."""
    articles = 0
    withdrawn = 0
    stories: set[int] = set()
    for article in iter_articles(session, ArticleFilter()):
        articles += 1
        stories.add(article.story_id)
        withdrawn += article.status == "withdrawn"
    return StoreTotals(articles, len(stories), withdrawn)


def missed_pages(session: Session, sources: Iterable[str], *, since: datetime) -> int:
    """Active articles first seen since `since` whose last re-check found them gone (404/410)."""
    return sum(
        1
        for source in sources
        for page in known_pages(session, source).values()
        if page.status == "active" and page.gone_count > 0 and aware(page.first_seen) >= since
    )


def aware(moment: datetime) -> datetime:
    """A time read back from the database as timezone-aware (SQLite gives naive UTC times)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def alert_counts(session: Session, *, since: datetime, until: datetime) -> AlertCounts:
    """Alerts of every kind created in [since, until)."""
    alerts = alerts_for_digest(session, since=since, until=until, kinds=ALERT_KINDS)
    return AlertCounts(dict(Counter(alert.kind for alert in alerts)))


@dataclass(frozen=True, slots=True)
class CrawlSummary:
    """One crawl: its report's totals and the alerts created while it ran."""

    number: int
    seconds: float
    requests: int
    not_modified: int
    totals: CrawlTotals
    alerts: AlertCounts

    def line(self) -> str:
        """`crawl 1 done in 9.8s: 151 requests (0 answered 304); 41 new, 0 changed, …`."""
        t = self.totals
        return (
            f"crawl {self.number} done in {self.seconds:.1f}s: {self.requests} requests "
            f"({self.not_modified} answered 304); {t.new} new, {t.changed} changed, "
            f"{t.duplicate} duplicates, {t.gone} gone, {t.withdrawn} withdrawn, {t.errors} errors"
        )


# The crawl's own counters, then the alerts raised while it ran (a group header names each part).
_CRAWL_COLUMNS = (
    "crawl",
    "seconds",
    "requests",
    "304",
    "new",
    "changed",
    "dup",
    "gone",
    "withdrawn",
    "errors",
)
_ALERT_COLUMNS = ("new", "changed", "withdrawn", "health")


def crawls_table(crawls: Sequence[CrawlSummary], indent: str = "  ") -> str:
    """One row per crawl: what it fetched and found, then the alerts it raised."""
    rows: list[tuple[str, ...]] = [(*_CRAWL_COLUMNS, *_ALERT_COLUMNS)]
    for c in crawls:
        t = c.totals
        counts = (c.requests, c.not_modified, t.new, t.changed, t.duplicate, t.gone, t.withdrawn, t.errors)
        alerts = (c.alerts["new"], c.alerts["changed"], c.alerts["withdrawn"], c.alerts["health"])
        rows.append((str(c.number), f"{c.seconds:.1f}", *map(str, counts), *map(str, alerts)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [indent + "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    crawl_width = sum(widths[: len(_CRAWL_COLUMNS)]) + 2 * len(_CRAWL_COLUMNS)
    group = indent + "articles and pages".rjust(crawl_width - 2) + "  alerts raised"
    return "\n".join([group, *lines])


def store_line(totals: StoreTotals) -> str:
    """`database: 43 articles in 37 stories (2 withdrawn)`."""
    return f"database: {totals.articles} articles in {totals.stories} stories ({totals.withdrawn} withdrawn)"
