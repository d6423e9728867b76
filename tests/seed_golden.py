"""Seed golden records: tests/fixtures/seeds/<name>.txt and its hand-checked <name>.expected.json.

expected.json pins the record's fields (lists compare as lists, `flags` as a set), `text_first` /
`text_last` (the body's first and last sentence), `must_include` / `must_exclude` (body
substrings) and `notes` (why the record is what it is).

    python -m tests.seed_golden --update [NAME ...]

rewrites the pinned fields and the first/last sentence from the current output, prints the diff,
and keeps the hand-written `must_include`, `must_exclude` and `notes`. Run it only deliberately,
then review the diff.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any

from crawler.article import Article
from crawler.text.text_reader import extract_text_article

SEEDS_DIR = Path(__file__).parent / "fixtures" / "seeds"
PINNED_FIELDS = (
    "title",
    "published_at",
    "authors",
    "source",
    "editor",
    "site_name",
    "publisher",
    "site_id_code",
    "section",
    "series",
    "region",
    "region_code",
    "flags",
    "captions",
    "announced_length",
)
HAND_WRITTEN = ("must_include", "must_exclude", "notes")
# Damage a clean record must not keep: pinyin syllables, `(pinyin)` left overs, `?` runs of lost
# bytes; in a repaired mirror copy (flag converted_script) no `?` at all.
DEBRIS = re.compile(r"\?\?|\?[!A-Za-z^]|[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]|[a-zü]+\)")
MIRROR_DEBRIS = re.compile(DEBRIS.pattern + r"|\?")
_SENTENCE_END = re.compile(r"(?<=[。！？!?])")


def seed_names() -> list[str]:
    """Names of the seed texts that have an expected record."""
    return sorted(path.name.removesuffix(".expected.json") for path in SEEDS_DIR.glob("*.expected.json"))


def extract_seed(name: str) -> Article:
    """The record of one seed text, extracted with no hints, as `countywatch extract --text` does."""
    return extract_text_article((SEEDS_DIR / f"{name}.txt").read_text(encoding="utf-8"))


def load_expected(name: str) -> dict[str, Any]:
    """The hand-checked expectations of one seed."""
    data: dict[str, Any] = json.loads((SEEDS_DIR / f"{name}.expected.json").read_text(encoding="utf-8"))
    return data


def sentences(text: str) -> list[str]:
    """The body's sentences (split after sentence-final punctuation and at line ends)."""
    return [part for line in text.split("\n") for part in _SENTENCE_END.split(line) if part]


def observed(article: Article) -> dict[str, Any]:
    """What the expected file pins, read off a record."""
    record = article.to_json()
    values = {field: record[field] for field in PINNED_FIELDS}
    values["flags"] = sorted(values["flags"])
    parts = sentences(article.text)
    values["text_first"] = parts[0] if parts else ""
    values["text_last"] = parts[-1] if parts else ""
    return values


def problems(name: str) -> list[str]:
    """Everything in which the current record of `name` differs from what is expected."""
    article = extract_seed(name)
    expected = load_expected(name)
    found = observed(article)
    issues = [
        f"{key}: expected {expected[key]!r}, got {found[key]!r}"
        for key in (*PINNED_FIELDS, "text_first", "text_last")
        if expected[key] != found[key]
    ]
    issues += [
        f"body lacks {snippet!r}" for snippet in expected["must_include"] if snippet not in article.text
    ]
    issues += [f"body keeps {snippet!r}" for snippet in expected["must_exclude"] if snippet in article.text]
    for where, value in (
        ("title", article.title or ""),
        ("body", article.text),
        *(("caption", c) for c in article.captions),
    ):
        pattern = MIRROR_DEBRIS if "converted_script" in article.flags else DEBRIS
        if match := pattern.search(value):
            around = value[max(0, match.start() - 8) : match.end() + 8]
            issues.append(f"{where} keeps debris {match.group()!r} at {around!r}")
    return issues


def update(names: list[str]) -> None:
    """Rewrite the pinned values of `names` from the current output and print the diff."""
    for name in names:
        path = SEEDS_DIR / f"{name}.expected.json"
        old = load_expected(name) if path.exists() else {key: [] for key in HAND_WRITTEN[:2]} | {"notes": ""}
        new = observed(extract_seed(name)) | {key: old.get(key) for key in HAND_WRITTEN}
        before = json.dumps(old, ensure_ascii=False, indent=2).splitlines()
        after = json.dumps(new, ensure_ascii=False, indent=2).splitlines()
        sys.stdout.writelines(
            line + "\n"
            for line in difflib.unified_diff(before, after, f"a/{path.name}", f"b/{path.name}", lineterm="")
        )
        path.write_text(json.dumps(new, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.seed_golden --update [NAME ...]`; without --update, list what differs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--update", action="store_true", help="rewrite the expected files from current output"
    )
    parser.add_argument("names", nargs="*", help="seed names (default: all)")
    args = parser.parse_args(argv)
    names = args.names or seed_names()
    if args.update:
        update(names)
        return 0
    failing = {name: problems(name) for name in names}
    for name, issues in failing.items():
        for issue in issues:
            print(f"{name}: {issue}")
    return 1 if any(failing.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
