"""Golden page cases: tests/fixtures/pages/<case>/{page.html, url.txt, expected.json}.

expected.json holds hand-checked values of the record's fields (only the keys present are
compared), `gold_text` (the whole body, written by hand from the page; the record's text must reach
character-bag F1 >= 0.95 against it: the `text_f1` check), `must_include` / `must_exclude`
(substrings of the body). `known_gaps` maps a check that the current code gets wrong to the reason
(and the owning module): its expectation stays the correct value, the golden test ignores that
check, and a second test fails once the check passes, until the entry is removed.

The cases split by name into a development half (tune the extractor on these) and a held-out half
(`is_held_out`: only their scores may be read, never their content, so that they keep measuring how
the extractor does on pages it was not built on). A held-out page that misses a check records it in
known_gaps with the reason "held-out: not tuned".

    python -m tests.golden --record-held-out-gaps

adds every check a held-out case misses to its known_gaps as "held-out: not tuned" (the
expectation stays; nothing of the page is read but which checks fail), and

    python -m tests.golden --update [CASE ...]

rewrites the checked metadata fields from the current output and prints the diff. It never writes
`gold_text` (nor `must_include`, `must_exclude`, `known_gaps`, `notes`): a case without a
hand-written gold_text is refused. Only run it deliberately, then review the diff.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.html.page_reader import extract_article

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
TEXT_CHECKS = ("text_f1", "must_include", "must_exclude")
# The whole body against the whole gold text: what a character bag of 0.95 allows is a stray line
# or two, not a lost paragraph.
MIN_TEXT_F1 = 0.95
HELD_OUT_GAP = "held-out: not tuned"


def is_held_out(name: str) -> bool:
    """Whether a case belongs to the held-out half: fixed by its name alone, so no one picks pages."""
    return int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16) % 2 == 1


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
    def held_out(self) -> bool:
        """Whether the case is in the held-out half (see is_held_out)."""
        return is_held_out(self.name)

    @property
    def expected_path(self) -> Path:
        return self.directory / "expected.json"

    def expected(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.expected_path.read_text(encoding="utf-8"))
        return data


def cases() -> list[Case]:
    """Every case folder with a page, sorted by name."""
    return [Case(d.name, d) for d in sorted(PAGES_DIR.iterdir()) if (d / "page.html").is_file()]


def labelled_cases() -> list[Case]:
    """The cases whose expected.json exists (labellers add the page first, then its expectations)."""
    return [case for case in cases() if case.expected_path.exists()]


def dev_cases() -> list[Case]:
    """The development half of the labelled cases."""
    return [case for case in labelled_cases() if not case.held_out]


def held_out_cases() -> list[Case]:
    """The held-out half of the labelled cases."""
    return [case for case in labelled_cases() if case.held_out]


def record(case: Case) -> dict[str, Any]:
    """The current extraction of a case as the JSON object `countywatch extract` prints."""
    return extract_article(case.body, case.url).to_json()


def _pinned(value: Any, expected: Any) -> Any:
    """`value` cut to what `expected` pins: a list of objects compares on the keys its entries name.

    An attachment is pinned by title and URL; its sha256, bytes and text exist only once a crawl
    has fetched the file, never in the record of a page alone.
    """
    if isinstance(value, list) and isinstance(expected, list) and expected:
        keys = {key for entry in expected if isinstance(entry, dict) for key in entry}
        if keys:
            return [
                {k: v for k, v in entry.items() if k in keys} if isinstance(entry, dict) else entry
                for entry in value
            ]
    return value


def mismatches(case: Case, actual: dict[str, Any]) -> list[tuple[str, str]]:
    """What differs between the record and the case's expectations: (check, one-line message)."""
    expected = case.expected()
    problems = [
        (key, f"{key}: expected {expected[key]!r}, got {_pinned(actual.get(key), expected[key])!r}")
        for key in CHECKED_FIELDS
        if key in expected and _pinned(actual.get(key), expected[key]) != expected[key]
    ]
    text: str = actual.get("text") or ""
    f1 = char_f1(text, expected.get("gold_text") or "")
    if f1 < MIN_TEXT_F1:
        problems.append(("text_f1", f"text_f1: {f1:.3f} against gold_text (at least {MIN_TEXT_F1})"))
    for part in expected.get("must_include", ()):
        if part not in text:
            problems.append(("must_include", f"must_include: {part!r} missing"))
    for part in expected.get("must_exclude", ()):
        if part in text:
            problems.append(("must_exclude", f"must_exclude: {part!r} present"))
    return problems


def updated_expectations(case: Case, actual: dict[str, Any]) -> dict[str, Any]:
    """New expected.json content from `actual`, keeping the hand-written fields.

    The case keeps its set of pinned fields (all when it pins none yet), the expected value of every
    check listed in its known_gaps (the expectation is the truth, the output is the gap), and every
    key it has that is not a checked field, hand-written ones above all.
    """
    old = case.expected()
    gaps = old.get("known_gaps", {})
    pinned = [key for key in CHECKED_FIELDS if key in old] or list(CHECKED_FIELDS)
    new: dict[str, Any] = {key: old[key] if key in gaps else actual.get(key) for key in pinned}
    new.update((key, value) for key, value in old.items() if key not in CHECKED_FIELDS)
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
    unwritten = [
        case.name for case in chosen if not (case.expected_path.exists() and "gold_text" in case.expected())
    ]
    if unwritten:
        listed = ", ".join(unwritten)
        print(f"no hand-written gold_text in: {listed}; write it from the page first", file=sys.stderr)
        return 2
    for case in chosen:
        old = case.expected_path.read_text(encoding="utf-8")
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


def record_held_out_gaps() -> int:
    """Add the checks each held-out case misses to its known_gaps, printing case and check names."""
    for case in held_out_cases():
        expected = case.expected()
        gaps = dict(expected.get("known_gaps", {}))
        missing = sorted({check for check, _ in mismatches(case, record(case))} - set(gaps))
        if not missing:
            continue
        gaps.update((check, HELD_OUT_GAP) for check in missing)
        expected["known_gaps"] = gaps
        case.expected_path.write_text(_dump(expected), encoding="utf-8")
        print(f"{case.name}: {', '.join(missing)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Check every case (default) or, with --update, rewrite expectations from current output."""
    parser = argparse.ArgumentParser(prog="python -m tests.golden", description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite expected.json and print the diff")
    parser.add_argument(
        "--record-held-out-gaps", action="store_true", help="add held-out cases' missed checks to known_gaps"
    )
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    args = parser.parse_args(argv)
    if args.record_held_out_gaps:
        return record_held_out_gaps()
    if args.update:
        return update(args.cases)
    failed = 0
    for case in labelled_cases():
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
