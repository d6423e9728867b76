"""The administrative-division table and its name automaton, built once from cpca's data files.

cpca ships the maintained table (`resources/adcodes.csv`, 12-digit codes) and the 56 nationalities;
only its data is read here. Importing cpca itself would pull in pandas and take seconds, and its
matcher mis-resolves names such as 松桃.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import ahocorasick

Level = Literal["province", "city", "county"]

# Rows that are grouping placeholders in the table, not places.
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
_PROVINCE_SUFFIX = re.compile(r"(?:省|市|特别行政区|自治区)$")
_CITY_SUFFIX = re.compile(r"(?:市|地区|盟|自治州)$")
_COUNTY_SUFFIX = re.compile(r"(?:自治县|自治旗|特区|林区|县|区|市|旗)$")


class RegionDataError(Exception):
    """The division table shipped by cpca cannot be found or read."""


@dataclass(frozen=True, slots=True)
class Division:
    """One row of the table: a province, a prefecture-level city or a county-level division."""

    code: str  # 6 digits
    name: str
    level: Level

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"

    @property
    def city_code(self) -> str:
        return self.code[:4] + "00"


@dataclass(frozen=True, slots=True)
class Alias:
    """A name a division goes by: its full name or its short name (without 县, 市, 自治州 ...)."""

    code: str
    short: bool
    district: bool  # derived from a name ending in 区: urban names that double as common words


@dataclass(frozen=True, slots=True)
class DivisionTable:
    """All divisions by code, and an Aho-Corasick automaton of their names -> (name, aliases)."""

    divisions: dict[str, Division]
    automaton: ahocorasick.Automaton

    def parent(self, division: Division) -> Division | None:
        """The division one level up (None for provinces and where the table has a placeholder)."""
        if division.level == "county":
            return self.divisions.get(division.city_code) or self.divisions.get(division.province_code)
        if division.level == "city":
            return self.divisions.get(division.province_code)
        return None


def _resource(name: str) -> Path:
    spec = importlib.util.find_spec("cpca")
    if spec is None or spec.origin is None:
        raise RegionDataError("the cpca package (which ships the division table) is not installed")
    return Path(spec.origin).parent / "resources" / name


def _ethnic_names() -> list[str]:
    """Nationality names with and without 族 (哈萨克自治州 omits it), longest first."""
    names = [line.strip() for line in _resource("56_nations.csv").read_text(encoding="utf-8").splitlines()]
    forms = {n for n in names if n} | {n.removesuffix("族") for n in names if len(n.removesuffix("族")) >= 2}
    return sorted(forms, key=len, reverse=True)


def short_name(name: str, level: Level, ethnic: list[str]) -> str | None:
    """The name without its administrative suffix and nationality names, if at least 2 characters."""
    suffix = {"province": _PROVINCE_SUFFIX, "city": _CITY_SUFFIX, "county": _COUNTY_SUFFIX}[level]
    short = suffix.sub("", name)
    stripped = True
    while stripped:
        stripped = False
        for nation in ethnic:
            if short.endswith(nation) and len(short) > len(nation):
                short = short[: -len(nation)]
                stripped = True
                break
    return short if len(short) >= 2 and short != name else None


def _level(code: str) -> Level:
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "city"
    return "county"


def load_divisions() -> dict[str, Division]:
    """Every real division in the table by 6-digit code."""
    path = _resource("adcodes.csv")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise RegionDataError(f"cannot read the division table {path}: {exc.strerror or exc}") from None
    divisions: dict[str, Division] = {}
    for row in rows:
        code, name = row["adcode"][:6], row["name"].strip()
        if name and name not in _PLACEHOLDERS:
            divisions[code] = Division(code, name, _level(code))
    return divisions


@cache
def common_words() -> frozenset[str]:
    """Short names that are everyday words (data/region_common_words.txt): only full names count."""
    path = Path(__file__).parent / "data" / "region_common_words.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@cache
def division_table() -> DivisionTable:
    """The table and its automaton (built on first use, about 0.1 s)."""
    divisions = load_divisions()
    ethnic = _ethnic_names()
    aliases: dict[str, list[Alias]] = {}
    for division in divisions.values():
        district = division.level == "county" and division.name.endswith("区")
        aliases.setdefault(division.name, []).append(Alias(division.code, False, district))
        short = short_name(division.name, division.level, ethnic)
        if short is not None:
            aliases.setdefault(short, []).append(Alias(division.code, True, district))
    automaton = ahocorasick.Automaton()
    for name, entries in aliases.items():
        automaton.add_word(name, (name, tuple(entries)))
    automaton.make_automaton()
    return DivisionTable(divisions, automaton)
