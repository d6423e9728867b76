"""Extraction quality on the golden pages: countywatch beside trafilatura, readability-lxml and GNE.

    .venv/bin/python -m bench.extract_quality [--per-page]

Every page of tests/fixtures/pages/ with an expected.json is extracted by each tool in one run.
Columns: text F1 (bag of characters, whitespace ignored, against the reviewed `gold_text`), and
accuracy of title, date (day), authors (as a set of names) and source on the pages whose
expected.json pins that field. List pages count in the text F1 (an empty text is the right answer)
and in their own column. A tool that has no such field scores `-`.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lxml.html
import trafilatura
from gne import GeneralNewsExtractor
from readability import Document

from crawler.decoding import decode_html
from crawler.extract import extract_article
from crawler.page.title import squash
from tests.golden import Case, cases

_NAME_SPLIT = re.compile(r"[;,，、；/\s]+")
_DAY = re.compile(r"((?:19|20)\d{2})[-/年.](\d{1,2})[-/月.](\d{1,2})")


@dataclass
class Output:
    """What one tool says about one page; None where the tool has no such field."""

    text: str
    title: str | None
    date: str | None
    authors: list[str] | None
    source: str | None
    has_date: bool = True
    has_authors: bool = True
    has_source: bool = True


def _names(value: str | None) -> list[str]:
    return [name for name in _NAME_SPLIT.split(value or "") if name]


def _day(value: str | None) -> str | None:
    match = _DAY.search(value or "")
    if not match:
        return None
    year, month, day = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def run_countywatch(case: Case) -> Output:
    article = extract_article(case.body, case.url)
    return Output(article.text, article.title, article.published_at, article.authors, article.source)


def run_trafilatura(case: Case) -> Output:
    document = trafilatura.bare_extraction(
        case.body, url=case.url, with_metadata=True, include_comments=False
    )
    if document is None:
        return Output("", None, None, [], None)
    data = document if isinstance(document, dict) else document.as_dict()
    return Output(
        data.get("text") or "",
        data.get("title"),
        data.get("date"),
        _names(data.get("author")),
        data.get("sitename"),
    )


def run_readability(case: Case) -> Output:
    html = decode_html(case.body).text
    document = Document(html)
    text = lxml.html.fromstring(document.summary()).text_content()
    return Output(text, document.short_title(), None, None, None, False, False, False)


def run_gne(case: Case) -> Output:
    html = decode_html(case.body).text
    try:
        result: dict[str, Any] = GeneralNewsExtractor().extract(html)
    except Exception:  # a baseline failing on a page scores zero on it, it does not stop the run
        return Output("", None, None, [], None, True, True, False)
    return Output(
        result.get("content", ""),
        result.get("title"),
        result.get("publish_time"),
        _names(result.get("author")),
        None,
        True,
        True,
        False,
    )


TOOLS: dict[str, Callable[[Case], Output]] = {
    "countywatch": run_countywatch,
    "trafilatura": run_trafilatura,
    "readability-lxml": run_readability,
    "GNE": run_gne,
}


def char_f1(extracted: str, gold: str) -> float:
    """F1 of the character multisets (whitespace ignored); two empty texts agree fully."""
    got = Counter(ch for ch in extracted if not ch.isspace())
    want = Counter(ch for ch in gold if not ch.isspace())
    if not got and not want:
        return 1.0
    common = sum((got & want).values())
    if not common:
        return 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return 2 * precision * recall / (precision + recall)


@dataclass
class Scores:
    """Per-tool lists of per-page results (1.0/0.0 for accuracies)."""

    f1: list[float]
    title: list[float]
    date: list[float]
    authors: list[float]
    source: list[float]
    lists: list[float]


def score(tool: Callable[[Case], Output], pages: list[Case], per_page: bool, name: str) -> Scores:
    scores = Scores([], [], [], [], [], [])
    for case in pages:
        expected = case.expected()
        out = tool(case)
        scores.f1.append(char_f1(out.text, expected.get("gold_text") or ""))
        if expected["page_kind"] == "list":
            scores.lists.append(float(not out.text.strip()))
        if expected.get("title"):
            scores.title.append(float(squash(out.title or "") == squash(expected["title"])))
        if "published_at" in expected and out.has_date:
            scores.date.append(float(_day(out.date) == _day(expected["published_at"])))
        if "authors" in expected and out.has_authors:
            scores.authors.append(float(sorted(out.authors or []) == sorted(expected["authors"])))
        if "source" in expected and out.has_source:
            scores.source.append(float((out.source or None) == expected["source"]))
        if per_page:
            print(f"{name:16s} {case.name:28s} F1 {scores.f1[-1]:.3f}", file=sys.stderr)
    return scores


def _cell(values: list[float], has_field: bool = True) -> str:
    if not has_field or not values:
        return "-"
    return f"{statistics.fmean(values):.3f} ({int(sum(values))}/{len(values)})"


def main(argv: list[str] | None = None) -> int:
    """Print the side-by-side table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-page", action="store_true", help="print each page's F1 to stderr")
    args = parser.parse_args(argv)
    pages = [case for case in cases() if case.expected_path.exists()]
    header = ["tool", "text F1 (mean)", "title", "date", "authors", "source", "list pages empty"]
    rows = []
    for name, tool in TOOLS.items():
        s = score(tool, pages, args.per_page, name)
        probe = tool(pages[0])
        rows.append(
            [
                name,
                f"{statistics.fmean(s.f1):.3f}",
                _cell(s.title),
                _cell(s.date, probe.has_date),
                _cell(s.authors, probe.has_authors),
                _cell(s.source, probe.has_source),
                _cell(s.lists),
            ]
        )
    print(
        f"{len(pages)} golden pages ({sum(c.expected()['page_kind'] == 'list' for c in pages)} list pages)\n"
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
