"""The articles-per-week chart of /sources, laid out on the server as SVG geometry.

One row of bars per source, one bar per week, all rows on the same scale so sources compare at a
glance. The template draws the shapes; nothing runs in the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from countywatch.web.pages import WeekChart

LABEL_WIDTH = 150
BAR_WIDTH = 22
BAR_GAP = 6
ROW_HEIGHT = 44
BAR_MAX = 32
AXIS_HEIGHT = 22


@dataclass(frozen=True, slots=True)
class Bar:
    """One week of one source."""

    x: int
    y: int
    height: int
    count: int
    week: date


@dataclass(frozen=True, slots=True)
class Row:
    """One source's bars and where its label goes."""

    name: str
    y: int  # the row's baseline
    total: int
    bars: list[Bar]


@dataclass(frozen=True, slots=True)
class BarChart:
    """The whole chart: its size, its rows and the week labels of the axis."""

    width: int
    height: int
    bar_width: int
    rows: list[Row]
    ticks: list[tuple[int, str]]  # x, label (every fourth week)


def weekly_bars(chart: WeekChart) -> BarChart:
    """Lay out one row of weekly bars per source, scaled to the busiest week of any source."""
    peak = chart.peak
    rows = []
    for i, (name, counts) in enumerate(chart.counts.items()):
        baseline = (i + 1) * ROW_HEIGHT - 6
        bars = []
        for j, count in enumerate(counts):
            # A week with articles shows at least a sliver, so "few" never looks like "none".
            height = max(round(BAR_MAX * count / peak), 2 if count else 0)
            x = LABEL_WIDTH + j * (BAR_WIDTH + BAR_GAP)
            bars.append(Bar(x, baseline - height, height, count, chart.weeks[j]))
        rows.append(Row(name, baseline, sum(counts), bars))
    width = LABEL_WIDTH + len(chart.weeks) * (BAR_WIDTH + BAR_GAP) + 40
    height = len(rows) * ROW_HEIGHT + AXIS_HEIGHT
    ticks = [
        (LABEL_WIDTH + j * (BAR_WIDTH + BAR_GAP), week.strftime("%m-%d"))
        for j, week in enumerate(chart.weeks)
        if j % 4 == 0
    ]
    return BarChart(width, height, BAR_WIDTH, rows, ticks)
