"""The counts of /sources on both databases: articles per source, and per UTC week for the chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from countywatch.web.pages import CHART_WEEKS, article_counts, week_chart
from storage.db import make_engine, make_session_factory
from tests.digest_support import ingest, record

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday: its week began Monday 2026-11-30
BEIJING = timezone(timedelta(hours=8))


def test_weekly_counts_follow_utc_week_edges_and_the_window(migrated_url: str) -> None:
    factory = make_session_factory(make_engine(migrated_url))
    seen = [
        ("a", NOW),
        ("a", datetime(2026, 11, 30, 0, 0, tzinfo=UTC)),  # Monday 00:00: this week
        ("a", NOW - timedelta(weeks=1)),
        # Monday morning in Beijing is still Sunday in UTC: the previous week.
        ("b", datetime(2026, 11, 30, 7, 30, tzinfo=BEIJING)),
        ("b", NOW - timedelta(weeks=CHART_WEEKS)),  # before the chart's first week
    ]
    for i, (source, at) in enumerate(seen):
        ingest(
            factory,
            record(f"第{i}号通知", f"http://{source}.example.gov.cn/{i}.html"),
            source=source,
            now=at,
        )
    with factory() as session:
        assert article_counts(session) == {"a": (3, 0), "b": (2, 0)}
        chart = week_chart(session, NOW, ["a", "b", "c"])
    assert chart.weeks[-1].isoformat() == "2026-11-30" and len(chart.weeks) == CHART_WEEKS
    assert chart.counts["a"] == [0] * (CHART_WEEKS - 2) + [1, 2]
    assert chart.counts["b"] == [0] * (CHART_WEEKS - 2) + [1, 0]
    assert chart.counts["c"] == [0] * CHART_WEEKS  # configured, nothing stored yet
