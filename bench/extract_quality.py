"""Extraction quality on the golden pages: countywatch beside trafilatura, readability-lxml and GNE.

    .venv/bin/python -m bench.extract_quality [--per-page]

Every page of tests/fixtures/pages/ with an expected.json is extracted by each tool in one run.
Columns: text F1 (bag of characters, whitespace ignored, against the hand-written `gold_text`), and
accuracy of title, date (day), authors (as a set of names) and source on the pages whose
expected.json pins that field. List pages count in the text F1 (an empty text is the right answer)
and in their own column. A tool that has no such field scores `-`.

The pages split by name into a development half and a held-out half (tests/golden.py
`is_held_out`); one table is printed for each, and the held-out one is the one that counts: its
pages are never read to tune the extractor. Then every page where countywatch's text F1 is more
than 0.10 below raw trafilatura's, and the text F1 of each main-content candidate countywatch
weighs (crawler/html/content.py `candidate_lines`), side by side, so that a candidate that does
not win can go.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lxml.html
import trafilatura
from gne import GeneralNewsExtractor
from readability import Document

from crawler.html.content import candidate_lines
from crawler.html.decoding import decode_html
from crawler.html.headline import squash
from crawler.html.page_reader import extract_article, parse_page
from tests.golden import Case, char_f1, dev_cases, held_out_cases

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


@dataclass
class Scores:
    """Per-tool lists of per-page results (1.0/0.0 for accuracies)."""

    f1: list[float]
    title: list[float]
    date: list[float]
    authors: list[float]
    source: list[float]
    lists: list[float]


_BEHIND = 0.10  # text F1 below raw trafilatura that counts as doing harm on a page


def score(outputs: dict[str, Output], pages: list[Case]) -> Scores:
    """A tool's scores over `pages`, from its outputs by case name."""
    scores = Scores([], [], [], [], [], [])
    for case in pages:
        expected = case.expected()
        out = outputs[case.name]
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
    return scores


def _cell(values: list[float], has_field: bool = True) -> str:
    if not has_field or not values:
        return "-"
    return f"{statistics.fmean(values):.3f} ({int(sum(values))}/{len(values)})"


def _table(title: str, pages: list[Case], outputs: dict[str, dict[str, Output]]) -> None:
    lists = sum(case.expected()["page_kind"] == "list" for case in pages)
    print(f"\n{title}: {len(pages)} pages ({lists} list pages)\n")
    header = ["tool", "text F1 (mean)", "title", "date", "authors", "source", "list pages empty"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, by_case in outputs.items():
        s = score(by_case, pages)
        probe = next(iter(by_case.values()))
        row = [
            name,
            f"{statistics.fmean(s.f1):.3f}" if s.f1 else "-",
            _cell(s.title),
            _cell(s.date, probe.has_date),
            _cell(s.authors, probe.has_authors),
            _cell(s.source, probe.has_source),
            _cell(s.lists),
        ]
        print("| " + " | ".join(row) + " |")


def _behind(pages: list[Case], ours: dict[str, Output], theirs: dict[str, Output]) -> list[str]:
    rows = []
    for case in pages:
        gold = case.expected().get("gold_text") or ""
        mine, raw = char_f1(ours[case.name].text, gold), char_f1(theirs[case.name].text, gold)
        if mine < raw - _BEHIND:
            half = "held-out" if case.held_out else "dev"
            rows.append(f"| {case.name} | {half} | {mine:.3f} | {raw:.3f} |")
    return rows


def _candidates(pages: list[Case]) -> None:
    names = list(candidate_lines(parse_page(pages[0].body), pages[0].url))
    f1s: dict[str, dict[bool, list[float]]] = {name: {False: [], True: []} for name in names}
    for case in pages:
        gold = case.expected().get("gold_text") or ""
        if case.expected()["page_kind"] == "list":
            continue
        for name, lines in candidate_lines(parse_page(case.body), case.url).items():
            f1s[name][case.held_out].append(char_f1("\n".join(lines), gold))
    print("\nMain-content candidates (article pages; text before the text layer)\n")
    print("| candidate | dev text F1 | held-out text F1 |")
    print("|---|---|---|")
    for name, halves in f1s.items():
        cells = [f"{statistics.fmean(v):.3f}" if v else "-" for v in (halves[False], halves[True])]
        print(f"| {name} | {cells[0]} | {cells[1]} |")


def main(argv: list[str] | None = None) -> int:
    """Print the side-by-side tables of both halves, the pages behind trafilatura, the candidates."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-page", action="store_true", help="print each page's F1 to stderr")
    args = parser.parse_args(argv)
    dev, held = dev_cases(), held_out_cases()
    pages = dev + held
    outputs = {name: {case.name: tool(case) for case in pages} for name, tool in TOOLS.items()}
    if args.per_page:
        for name, by_case in outputs.items():
            for case in pages:
                f1 = char_f1(by_case[case.name].text, case.expected().get("gold_text") or "")
                half = "held-out" if case.held_out else "dev"
                print(f"{name:16s} {half:8s} {case.name:32s} F1 {f1:.3f}", file=sys.stderr)
    _table("Development half", dev, outputs)
    _table("Held-out half (never tuned on)", held, outputs)
    behind = _behind(pages, outputs["countywatch"], outputs["trafilatura"])
    print(f"\nPages where countywatch's text F1 is over {_BEHIND:.2f} below trafilatura's: {len(behind)}\n")
    if behind:
        print("| page | half | countywatch | trafilatura |")
        print("|---|---|---|---|")
        print("\n".join(behind))
    _candidates(pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
