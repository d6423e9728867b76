"""Golden page cases: tests/fixtures/pages/<case>/{page.html, url.txt, expected.json}.

expected.json holds hand-checked values of the record's fields (only the keys present are
compared), `text_first` / `text_last` (how the body starts and ends), `must_include` /
`must_exclude` (substrings of the body) and `gold_text`, the reviewed body used by the F1 benchmark.
`known_gaps` maps a check that the current code gets wrong to the reason (and the owning module):
its expectation stays the correct value, the golden test ignores that check, and a second test fails
once the check passes, until the entry is removed.

    python -m tests.golden --update [CASE ...]

rewrites the checked fields from the current output, prints the diff, and keeps the hand-written
`gold_text`, `must_include`, `must_exclude` and `notes`. Only run it deliberately, then review.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.extract import extract_article

PAGES_DIR = Path(__file__).parent / "fixtures" / "pages"
# Record fields an expected.json may pin; lists compare as lists, strings exactly.
CHECKED_FIELDS = (
    "title",
    "published_at",
    "authors",
    "source",
    "editor",
    "site_name",
    "region",
    "page_kind",
    "flags",
    "publisher",
    "site_id_code",
    "attachments",
)
# Fields written by hand that --update never touches.
HAND_FIELDS = ("gold_text", "must_include", "must_exclude", "known_gaps", "notes")
TEXT_CHECKS = ("text_first", "text_last", "must_include", "must_exclude")
_EDGE = 20  # characters of the first/last body line kept in text_first/text_last


@dataclass(frozen=True)
class Case:
    """One golden page."""

    name: str
    directory: Path

    @property
    def body(self) -> bytes:
        return (self.directory / "page.html").read_bytes()

    @property
    def url(self) -> str:
        return (self.directory / "url.txt").read_text(encoding="utf-8").strip()

    @property
    def expected_path(self) -> Path:
        return self.directory / "expected.json"

    def expected(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.expected_path.read_text(encoding="utf-8"))
        return data


def cases() -> list[Case]:
    """Every case folder with a page, sorted by name."""
    return [Case(d.name, d) for d in sorted(PAGES_DIR.iterdir()) if (d / "page.html").is_file()]


def record(case: Case) -> dict[str, Any]:
    """The current extraction of a case as the JSON object `countywatch extract` prints."""
    return extract_article(case.body, case.url).to_json()


def mismatches(case: Case, actual: dict[str, Any]) -> list[tuple[str, str]]:
    """What differs between the record and the case's expectations: (check, one-line message)."""
    expected = case.expected()
    problems = [
        (key, f"{key}: expected {expected[key]!r}, got {actual.get(key)!r}")
        for key in CHECKED_FIELDS
        if key in expected and actual.get(key) != expected[key]
    ]
    text: str = actual.get("text") or ""
    first, last = expected.get("text_first"), expected.get("text_last")
    if first is not None and not text.startswith(first):
        problems.append(("text_first", f"text_first: expected {first!r}, got {text[:_EDGE]!r}"))
    if last is not None and not text.endswith(last):
        problems.append(("text_last", f"text_last: expected {last!r}, got {text[-_EDGE:]!r}"))
    for part in expected.get("must_include", ()):
        if part not in text:
            problems.append(("must_include", f"must_include: {part!r} missing"))
    for part in expected.get("must_exclude", ()):
        if part in text:
            problems.append(("must_exclude", f"must_exclude: {part!r} present"))
    return problems


def updated_expectations(case: Case, actual: dict[str, Any]) -> dict[str, Any]:
    """New expected.json content from `actual`, keeping the hand-written fields.

    A case that exists keeps its set of pinned fields, and the expected value of every check listed
    in its known_gaps (the expectation is the truth, the output is the gap). A new case pins all.
    """
    old = case.expected() if case.expected_path.exists() else {}
    gaps = old.get("known_gaps", {})
    text: str = actual.get("text") or ""
    keys = [key for key in CHECKED_FIELDS if not old or key in old]
    new: dict[str, Any] = {key: old[key] if key in gaps else actual.get(key) for key in keys}
    new["text_first"] = old.get("text_first") if "text_first" in gaps else (text[:_EDGE] if text else None)
    new["text_last"] = old.get("text_last") if "text_last" in gaps else (text[-_EDGE:] if text else None)
    defaults: dict[str, Any] = {"gold_text": text, "must_include": [], "must_exclude": [], "known_gaps": {}}
    for key in HAND_FIELDS:
        new[key] = old.get(key, defaults.get(key, ""))
    return new


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def update(names: list[str]) -> int:
    """Rewrite expected.json of the named cases (all when none), printing a unified diff of each."""
    chosen = [case for case in cases() if not names or case.name in names]
    unknown = set(names) - {case.name for case in chosen}
    if unknown:
        print(f"unknown case(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    for case in chosen:
        old = case.expected_path.read_text(encoding="utf-8") if case.expected_path.exists() else ""
        new = _dump(updated_expectations(case, record(case)))
        if new != old:
            diff = difflib.unified_diff(
                old.splitlines(keepends=True),
                new.splitlines(keepends=True),
                f"{case.name}/expected.json",
                f"{case.name}/expected.json (new)",
            )
            sys.stdout.writelines(diff)
            case.expected_path.write_text(new, encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Check every case (default) or, with --update, rewrite expectations from current output."""
    parser = argparse.ArgumentParser(prog="python -m tests.golden", description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite expected.json and print the diff")
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    args = parser.parse_args(argv)
    if args.update:
        return update(args.cases)
    failed = 0
    for case in cases():
        if args.cases and case.name not in args.cases:
            continue
        gaps = case.expected().get("known_gaps", {})
        problems = [message for check, message in mismatches(case, record(case)) if check not in gaps]
        failed += bool(problems)
        for message in problems:
            print(f"{case.name}: {message}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
