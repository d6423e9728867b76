"""Data-driven cases: tests/cases/<function>.yaml, a list of `name` / `input` / `expected`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

CASES_DIR = Path(__file__).parent / "cases"


def load_cases(function: str) -> list[Any]:
    """The cases of `function` as pytest params, each with its case name as id."""
    with (CASES_DIR / f"{function}.yaml").open(encoding="utf-8") as handle:
        cases = yaml.safe_load(handle)
    names = [case["name"] for case in cases]
    duplicates = {name for name in names if names.count(name) > 1}
    assert not duplicates, f"{function}.yaml: duplicate case names {duplicates}"
    return [pytest.param(case["input"], case["expected"], id=case["name"]) for case in cases]


def plain(value: Any) -> Any:
    """A result as YAML-comparable data: dataclasses as dicts without empty fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            key: plain(item)
            for key, item in ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
            if item not in (None, [], "")
        }
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
