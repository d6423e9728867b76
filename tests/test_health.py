"""Source health: one run's stats and the source's history decide the state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawler.runtime.health import STALE_FLOOR, SourceHistory, SourceStats, decide_health

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def daily_history(days: int, last: datetime = NOW) -> SourceHistory:
    return SourceHistory.from_first_seen(last - timedelta(days=i) for i in range(days))


def stats(errors: dict[str, int] | None = None, **counters: int) -> SourceStats:
    return SourceStats(**counters, errors=dict(errors or {}))


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        pytest.param(stats(list_pages=3, links_found=60, new=2, unchanged=5), "ok", id="ok"),
        pytest.param(stats(list_pages=2, links_found=0), "empty", id="redesign_no_links"),
        pytest.param(stats(errors={"blocked": 3}), "blocked", id="waf_on_every_list_page"),
        pytest.param(
            stats(list_pages=1, links_found=20, articles_fetched=2, errors={"blocked": 5}),
            "blocked",
            id="waf_on_most_requests",
        ),
        pytest.param(stats(errors={"http_5xx": 2}), "failing", id="server_errors"),
        pytest.param(stats(errors={"timeout": 1, "connection": 1}), "failing", id="timeouts"),
        pytest.param(stats(), "failing", id="nothing_fetched"),
        pytest.param(
            stats(list_pages=3, links_found=30, errors={"http_5xx": 1}), "ok", id="one_5xx_among_good_pages"
        ),
        pytest.param(
            stats(list_pages=3, links_found=30, articles_fetched=10, errors={"blocked": 1}),
            "ok",
            id="one_challenge_among_many_pages",
        ),
    ],
)
def test_states(run: SourceStats, expected: str) -> None:
    assert decide_health(run, daily_history(30), NOW) == expected


def test_stale_when_quiet_far_longer_than_its_rhythm() -> None:
    # Daily publisher, silent for 10 days: beyond both the floor and 4 typical gaps.
    history = daily_history(30, last=NOW - timedelta(days=10))
    assert decide_health(stats(list_pages=1, links_found=20, unchanged=0), history, NOW) == "stale"


def test_a_quiet_weekend_is_not_stale() -> None:
    history = daily_history(30, last=NOW - timedelta(days=3))
    assert decide_health(stats(list_pages=1, links_found=20), history, NOW) == "ok"


def test_a_monthly_publisher_is_not_stale_after_three_weeks() -> None:
    history = SourceHistory.from_first_seen(NOW - timedelta(days=21 + 30 * i) for i in range(6))
    assert history.typical_gap() == timedelta(days=30)
    assert decide_health(stats(list_pages=1, links_found=20), history, NOW) == "ok"
    assert decide_health(stats(list_pages=1, links_found=20), history, NOW + timedelta(days=120)) == "stale"


def test_new_articles_mean_not_stale() -> None:
    history = daily_history(30, last=NOW - timedelta(days=60))
    assert decide_health(stats(list_pages=1, links_found=20, new=1), history, NOW) == "ok"


def test_rhythm_needs_history() -> None:
    assert SourceHistory().typical_gap() == timedelta(days=7)
    assert SourceHistory.from_first_seen([NOW, None, NOW - timedelta(hours=6)]).typical_gap() == timedelta(
        days=7
    )
    assert daily_history(5).typical_gap() == timedelta(days=1)
    assert timedelta(days=7) == STALE_FLOOR


def test_stats_json_lists_only_errors_that_happened() -> None:
    run = stats(list_pages=2, new=1, errors={"timeout": 0, "blocked": 2})
    data = run.to_json()
    assert data["errors"] == {"blocked": 2}
    assert data["list_pages"] == 2 and data["new"] == 1
    assert run.error_count == 2
