"""Speed of `extract_article` against raw `trafilatura.extract(..., with_metadata=True)`.

    .venv/bin/python -m bench.extract_speed [--repeats 5]

Both run over the same golden pages (tests/fixtures/pages/), bytes in, in alternating rounds of
one process, timed in CPU seconds of this process (time.process_time), so the rates are per core
and do not depend on what else the machine runs. The table gives pages/s as the median over the
rounds, and the cost ratio (countywatch time / trafilatura time, median of the per-round ratios).
countywatch's time covers the whole per-article pipeline: decoding, the HTML layer, trafilatura
and the text layer (cleaning, metadata lines, dates, region, classification, SimHash).
The goal is a ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import trafilatura

from crawler.html.page_reader import extract_article
from tests.golden import cases


def _round(pages: list[tuple[bytes, str]], run: Callable[[bytes, str], object]) -> float:
    started = time.process_time()
    for body, url in pages:
        run(body, url)
    return time.process_time() - started


def _countywatch(body: bytes, url: str) -> object:
    return extract_article(body, url)


def _trafilatura(body: bytes, url: str) -> object:
    return trafilatura.extract(body, url=url, with_metadata=True)


def main(argv: list[str] | None = None) -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per tool (default 5)")
    args = parser.parse_args(argv)
    pages = [(case.body, case.url) for case in cases()]
    # Warm-up: imports, compiled regexes, OpenCC and the region index are built once per process.
    _round(pages, _countywatch)
    _round(pages, _trafilatura)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(args.repeats):
        ours.append(_round(pages, _countywatch))
        theirs.append(_round(pages, _trafilatura))
    ratio = statistics.median(o / t for o, t in zip(ours, theirs, strict=True))
    size = sum(len(body) for body, _ in pages) / 1e6
    print(f"{len(pages)} golden pages, {size:.1f} MB of HTML, {args.repeats} rounds, medians\n")
    print("| extractor | pages/s (per core) | CPU ms/page |")
    print("|---|---|---|")
    for name, times in (
        ("countywatch extract_article", ours),
        ("trafilatura.extract (with_metadata)", theirs),
    ):
        median = statistics.median(times)
        print(f"| {name} | {len(pages) / median:.1f} | {1000 * median / len(pages):.1f} |")
    print(f"\ncost ratio countywatch / trafilatura: {ratio:.2f}x (goal <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
