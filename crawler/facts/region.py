"""Which county or district an article is about: names of the division table found in its texts.

Names are found with one Aho-Corasick pass per text (leftmost-longest, so 湘潭市 wins over 湘潭 and
湘东区 hides 东区). Short and generic names are only believed with support: a 2-character short name
(镇坪, 松桃) needs an administrative word after it (县, 教育, 人民政府 ...) or its city or province
named elsewhere; names of urban districts that double as common words (东区, 岳塘 for 岳塘区) need
their city. A name shared by several divisions (朝阳区) is resolved by the city or province named
nearby, or dropped.

Texts are given in order of authority (site name, title, body): the first that names a county
decides, and a city or province named by an earlier text restricts what later texts may name. A
city named by the title stays the place when the body names it far more often than any of the
several counties it also names. A name followed by 时间 (北京时间) is a time zone, not a place.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from core.chinese import strip_pinyin, to_simplified
from crawler.facts.region_data import (
    MUNICIPALITIES,
    Alias,
    Division,
    DivisionTable,
    common_words,
    division_table,
)

# Words that, right after a short name, show it is used as a place (松桃教育, 镇坪人民政府). Bare 区
# and 市 are not among them: 新建区域 and 新兴市场 are not places.
CONTEXT_AFTER = (
    "县",
    "旗",
    "区委",
    "区政府",
    "区人民",
    "区教",
    "市委",
    "市政府",
    "市人民",
    "市教",
    "县委",
    "教育",
    "教体",
    "人民政府",
    "融媒",
    "日报",
)
# Words that, right after a name, show it names something else: 北京时间 is a time zone.
NOT_A_PLACE_AFTER = ("时间",)
# The title names a city, the body names it this many times more often than any one county and
# names several counties: the counties are examples (益阳's 安化黑茶, 南县小龙虾); the city is the place.
_CITY_DOMINANCE = 2


@dataclass(frozen=True, slots=True)
class Region:
    """A place: province, city (prefecture level) and county (county level) with its 6-digit code."""

    province: str
    city: str | None
    county: str | None
    code: str
    full_name: str  # e.g. 陕西省安康市镇坪县; 北京市朝阳区 for a municipality


@dataclass(frozen=True, slots=True)
class _Hit:
    text: int  # which text (0 = most authoritative)
    start: int
    name: str
    aliases: tuple[Alias, ...]
    context: bool  # an administrative word follows the name


def _hits(table: DivisionTable, text: str, which: int) -> list[_Hit]:
    """Leftmost-longest, non-overlapping name matches in one text."""
    found = []
    for end, (name, aliases) in table.automaton.iter(text):
        found.append((end - len(name) + 1, end + 1, name, aliases))
    found.sort(key=lambda hit: (hit[0], -len(hit[2])))
    hits = []
    last_end = 0
    for start, end, name, aliases in found:
        if start >= last_end:
            last_end = end
            if text.startswith(NOT_A_PLACE_AFTER, end):
                continue
            context = text.startswith(CONTEXT_AFTER, end)
            hits.append(_Hit(which, start, name, aliases, context))
    return hits


def _related(division: Division, other: str) -> bool:
    """Whether the division `other` is a parent or child of `division`."""
    if other == division.code:
        return False
    if division.level == "county":
        return other in (division.city_code, division.province_code)
    if division.level == "city":
        return other == division.province_code or other[:4] == division.code[:4]
    return other[:2] == division.code[:2]


def _is_ancestor(code: str, other: str) -> bool:
    """Whether division `code` contains division `other` (codes nest by prefix)."""
    if code == other:
        return False
    if code[2:] == "0000":
        return other[:2] == code[:2]
    return code[4:] == "00" and other[:4] == code[:4]


def _believable(
    alias: Alias, division: Division, hit: _Hit, backing: set[str], adjacent: str | None, repeated: bool
) -> bool:
    """Whether this reading of a name is credible given what else the texts name."""
    if alias.short and hit.name in common_words():
        return False
    if adjacent is not None and _related(division, adjacent):  # 福建晋江, 攀枝花东区
        return True
    if alias.district and (alias.short or len(hit.name) <= 2):
        # Urban district names are common words (东区, 新华): only with their city named.
        return division.city_code in backing
    if not alias.short or division.level == "province" or len(hit.name) >= 3:
        return True
    if division.level == "city":
        return hit.context or repeated or any(_related(division, code) for code in backing)
    return hit.context or division.city_code in backing


def _resolve(
    table: DivisionTable, hit: _Hit, backing: set[str], adjacent: str | None, repeated: bool
) -> str | None:
    """The one division a hit stands for, or None when it is not believable or stays ambiguous."""
    # 湘潭 is short for both 湘潭市 and its 湘潭县 (长沙 likewise): the higher division is meant.
    named = {alias.code for alias in hit.aliases}
    candidates = [
        alias.code
        for alias in hit.aliases
        if not any(_is_ancestor(other, alias.code) for other in named)
        and _believable(alias, table.divisions[alias.code], hit, backing, adjacent, repeated)
    ]
    provinces = [c for c in candidates if table.divisions[c].level == "province"]
    if provinces:  # 海南 is the province, not 青海's 海南藏族自治州
        candidates = provinces
    if len(set(candidates)) > 1:
        supported = [c for c in candidates if any(_related(table.divisions[c], b) for b in backing)]
        candidates = supported
    unique = set(candidates)
    return unique.pop() if len(unique) == 1 else None


def region_of(table: DivisionTable, code: str) -> Region:
    """The Region of a division code, with its city and province filled in."""
    division = table.divisions[code]
    province = table.divisions[division.province_code].name
    city: str | None = None
    county: str | None = None
    if division.level == "county":
        county = division.name
        city_row = table.divisions.get(division.city_code)
        city = city_row.name if city_row else (province if code[:2] in MUNICIPALITIES else None)
    elif division.level == "city":
        city = division.name
    elif code[:2] in MUNICIPALITIES:
        city = province
    parts = [province] + [p for p in (city, county) if p and p != province]
    return Region(province=province, city=city, county=county, code=code, full_name="".join(parts))


def _within(code: str, scope: str | None, table: DivisionTable) -> bool:
    if scope is None:
        return True
    level = table.divisions[scope].level
    width = {"province": 2, "city": 4, "county": 6}[level]
    return code[:width] == scope[:width]


def _city_is_the_place(
    scope: str | None, codes: list[tuple[int, str]], county_votes: Counter[str], table: DivisionTable
) -> bool:
    """Whether a city an earlier text named stays the place although this text names its counties."""
    if scope is None or table.divisions[scope].level != "city" or len(county_votes) < 2:
        return False
    city_mentions = sum(1 for _, code in codes if code == scope)
    return city_mentions >= _CITY_DOMINANCE * max(county_votes.values())


def find_region(*texts: str | None) -> Region | None:
    """The county (or failing that city, province) that site name, title and body point to."""
    table = division_table()
    prepared = [to_simplified(strip_pinyin(text)) if text else "" for text in texts]
    hits = [hit for which, text in enumerate(prepared) for hit in _hits(table, text, which)]
    name_counts = Counter(hit.name for hit in hits)
    codes_by_name: dict[str, set[str]] = {}
    for hit in hits:
        codes_by_name.setdefault(hit.name, set()).update(alias.code for alias in hit.aliases)
    mentions: list[tuple[int, int, str]] = []  # (text, position, code)
    previous: _Hit | None = None
    previous_code: str | None = None
    for hit in hits:
        # What the other names say; a name cannot back itself (湘潭 for 湘潭市 and 湘潭县).
        backing = {code for name, codes in codes_by_name.items() if name != hit.name for code in codes}
        touching = previous is not None and previous.text == hit.text
        touching = touching and previous is not None and previous.start + len(previous.name) == hit.start
        # A city's short name said three times (武汉 in a Wuhan story) is meant as the city.
        repeated = name_counts[hit.name] >= 3
        code = _resolve(table, hit, backing, previous_code if touching else None, repeated)
        if code is not None:
            mentions.append((hit.text, hit.start, code))
        previous, previous_code = hit, code
    scope: str | None = None
    for which in range(len(prepared)):
        codes = [(pos, code) for text, pos, code in mentions if text == which]
        for level in ("county", "city", "province"):
            votes = Counter(
                code
                for _, code in codes
                if table.divisions[code].level == level and _within(code, scope, table)
            )
            if not votes:
                continue
            first = {code: pos for pos, code in reversed(codes)}
            best = max(votes, key=lambda c: (votes[c], -first[c]))
            if level == "county":
                if _city_is_the_place(scope, codes, votes, table):
                    break
                return region_of(table, best)
            if scope is None or (table.divisions[scope].level == "province" and level == "city"):
                scope = best
            break
    return region_of(table, scope) if scope else None
