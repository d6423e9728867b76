"""Per-source run statistics, and the health state they (and the source's history) add up to.

`decide_health` is a pure function: the runner gives it one run's `SourceStats` and the source's
`SourceHistory` (when stored articles were first seen); storage compares the result with the last
state and raises the operator alert on a change.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

HealthState = Literal["ok", "empty", "blocked", "failing", "stale"]

# Error kinds a run counts, in the order reports show them.
ERROR_KINDS: tuple[str, ...] = (
    "timeout",
    "http_5xx",
    "http_4xx",
    "blocked",
    "too_large",
    "binary",
    "redirect_loop",
    "offsite",
    "extraction",
    "over_budget",
    "connection",
    "robots",
    "budget",  # requests dropped because the source's time in the crawl was used up
    "feed",
    "storage",
    "ignored",
    "other",
)
# Counters of a run besides errors.
COUNTERS: tuple[str, ...] = (
    "list_pages",
    "list_unchanged",
    "links_found",
    "articles_fetched",
    "not_modified",
    "skipped_known",
    "new",
    "changed",
    "duplicate",
    "unchanged",
    "gone",
    "withdrawn",
    "not_article",
    "attachments_fetched",
    "attachments_unchanged",
)

# Stale when the last new article is older than this many typical gaps between articles…
STALE_GAPS = 4.0
# …but never before this long, so a source that publishes daily is not stale after a quiet weekend.
STALE_FLOOR = timedelta(days=7)
# Too few articles to know a rhythm: use this as the typical gap.
DEFAULT_GAP = timedelta(days=7)
MIN_HISTORY = 3


@dataclass(slots=True)
class SourceStats:
    """What one crawl run saw of one source."""

    list_pages: int = 0  # list pages, feeds and sitemaps fetched (including 304 revalidations)
    list_unchanged: int = 0  # of those, answered 304 Not Modified
    links_found: int = 0
    articles_fetched: int = 0  # article pages downloaded (new, or re-checked and changed)
    not_modified: int = 0  # re-checked known articles that answered 304
    skipped_known: int = 0  # known articles not due for a re-check, not fetched
    new: int = 0
    changed: int = 0
    duplicate: int = 0
    unchanged: int = 0
    gone: int = 0
    withdrawn: int = 0
    not_article: int = 0  # fetched pages that were list or empty pages, not stored
    attachments_fetched: int = 0  # attachment files downloaded (their text read)
    attachments_unchanged: int = 0  # re-checked attachments that answered 304
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        """All errors of the run."""
        return sum(self.errors.values())

    def to_json(self) -> dict[str, Any]:
        """A plain dict for reports and the crawl-run row."""
        out: dict[str, Any] = {name: getattr(self, name) for name in COUNTERS}
        out["errors"] = {k: v for k, v in self.errors.items() if v}
        return out


@dataclass(frozen=True, slots=True)
class SourceHistory:
    """What storage knows of a source's past: when each of its articles was first seen."""

    first_seen: tuple[datetime, ...] = ()

    @classmethod
    def from_first_seen(cls, times: Iterable[datetime | None]) -> SourceHistory:
        """A history from first-seen times in any order (None entries ignored)."""
        return cls(tuple(sorted(t for t in times if t is not None)))

    def typical_gap(self) -> timedelta:
        """The median time between consecutive new articles (DEFAULT_GAP with too little history)."""
        if len(self.first_seen) < MIN_HISTORY:
            return DEFAULT_GAP
        gaps = [b - a for a, b in zip(self.first_seen, self.first_seen[1:], strict=False)]
        positive = [g.total_seconds() for g in gaps if g.total_seconds() > 0]
        if not positive:
            return DEFAULT_GAP
        return timedelta(seconds=statistics.median(positive))


def decide_health(stats: SourceStats, history: SourceHistory, now: datetime) -> HealthState:
    """The health of a source after a run, most severe diagnosis first.

    blocked: the site answered with a WAF/challenge page (403/412/521 or a script-only 200) and
    nothing useful; failing: list pages failed with 5xx, timeouts or connection errors; empty:
    list pages were read but held no article links (a redesign); stale: no new article for much
    longer than the source's usual rhythm; otherwise ok.
    """
    errors = stats.errors
    useful = stats.list_pages > 0 or stats.articles_fetched > 0
    blocked = errors.get("blocked", 0)
    failures = errors.get("http_5xx", 0) + errors.get("timeout", 0) + errors.get("connection", 0)
    if blocked and (stats.list_pages == 0 or blocked >= stats.list_pages + stats.articles_fetched):
        return "blocked"
    if failures and not useful:
        return "failing"
    if stats.list_pages > 0 and stats.links_found == 0:
        return "empty"
    if stats.new == 0 and history.first_seen:
        quiet_for = now - history.first_seen[-1]
        if quiet_for > max(STALE_FLOOR, history.typical_gap() * STALE_GAPS):
            return "stale"
    if not useful:
        return "failing"
    return "ok"
