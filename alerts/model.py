"""The typed digest: what one message to one subscription holds, independent of how it is rendered."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from storage.outbox import FailingDelivery

UNKNOWN_REGION = "未知地区"
UNCATEGORISED = "其他"


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A new announcement: where it was first published and how often it was reposted."""

    alert_id: int
    title: str
    url: str
    source: str
    region: str | None
    category: str | None
    published_at: str | None
    summary: str  # at most two short lines
    first_publisher: str | None = None
    reposts: int = 0


@dataclass(frozen=True, slots=True)
class ChangedEntry:
    """An announcement whose text changed after it was first seen, with a short diff."""

    alert_id: int
    title: str
    url: str
    source: str
    region: str | None
    changed_at: datetime | None
    diff: list[str] = field(default_factory=list)  # lines starting with "-" or "+"


@dataclass(frozen=True, slots=True)
class WithdrawnEntry:
    """An announcement that disappeared from its site (removed or marked deleted)."""

    alert_id: int
    title: str
    url: str
    source: str
    region: str | None
    withdrawn_at: datetime | None


@dataclass(frozen=True, slots=True)
class HealthEntry:
    """A change in a source's health (operators only)."""

    alert_id: int
    source: str
    status: str  # e.g. "failing", "ok", "degraded"
    message: str
    at: datetime | None


class Groupable(Protocol):
    """Anything shown under a region and a category heading (a digest entry, a web page row)."""

    @property
    def region(self) -> str | None: ...

    @property
    def category(self) -> str | None: ...


E = TypeVar("E", bound=Groupable)


@dataclass(frozen=True, slots=True)
class CategoryGroup(Generic[E]):
    """Announcements of one category within one region."""

    category: str
    entries: list[E]


@dataclass(frozen=True, slots=True)
class RegionGroup(Generic[E]):
    """Announcements of one region, by category."""

    region: str
    categories: list[CategoryGroup[E]]

    @property
    def count(self) -> int:
        """How many announcements the region holds."""
        return sum(len(c.entries) for c in self.categories)


def group_by_region(entries: Iterable[E]) -> list[RegionGroup[E]]:
    """Entries grouped by region, then category, each group in the order its first entry came."""
    by_region: dict[str, dict[str, list[E]]] = {}
    for entry in entries:
        region = by_region.setdefault(entry.region or UNKNOWN_REGION, {})
        region.setdefault(entry.category or UNCATEGORISED, []).append(entry)
    return [
        RegionGroup(region, [CategoryGroup(cat, items) for cat, items in cats.items()])
        for region, cats in by_region.items()
    ]


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything one subscription gets in one message."""

    subscription: str
    since: datetime
    until: datetime
    new: list[NewEntry] = field(default_factory=list)
    changed: list[ChangedEntry] = field(default_factory=list)
    withdrawn: list[WithdrawnEntry] = field(default_factory=list)
    health: list[HealthEntry] = field(default_factory=list)
    failing: list[FailingDelivery] = field(default_factory=list)
    link: str | None = None  # where the full digest can be read (set when public_url is configured)
    omitted: int = 0  # items left out of a shortened digest (chat bots' size limits)
    # Section sizes before shortening (new, changed, withdrawn, health, failing), for the subject.
    totals: tuple[int, int, int, int, int] | None = None

    @property
    def item_count(self) -> int:
        """The number of items shown."""
        return len(self.new) + len(self.changed) + len(self.withdrawn) + len(self.health) + len(self.failing)

    @property
    def is_empty(self) -> bool:
        """Whether there is nothing to tell."""
        return self.item_count == 0

    @property
    def alert_ids(self) -> list[int]:
        """The ids of the alerts shown."""
        ids = [e.alert_id for e in self.new] + [e.alert_id for e in self.changed]
        ids += [e.alert_id for e in self.withdrawn] + [e.alert_id for e in self.health]
        return ids

    @property
    def subject(self) -> str:
        """A one-line subject such as `【教育公告摘要】3 条新公告 · 1 条变更 · 1 条撤回`."""
        new, changed, withdrawn, health, failing = self.totals or self._sizes()
        parts = []
        if new:
            parts.append(f"{new} 条新公告")
        if changed:
            parts.append(f"{changed} 条变更")
        if withdrawn:
            parts.append(f"{withdrawn} 条撤回")
        if health:
            parts.append(f"{health} 项站点状态变化")
        if failing:
            parts.append(f"{failing} 项投递失败")
        summary = " · ".join(parts) if parts else "无新内容"
        return f"【教育公告摘要】{summary}（{self.subscription}）"

    def _sizes(self) -> tuple[int, int, int, int, int]:
        return (len(self.new), len(self.changed), len(self.withdrawn), len(self.health), len(self.failing))

    def regions(self) -> list[RegionGroup[NewEntry]]:
        """New announcements grouped by region, then category, in first-seen order."""
        return group_by_region(self.new)

    def shortened(self, keep: int) -> Digest:
        """The digest with only its first `keep` items (in section order); the rest are counted."""
        sections: list[list] = [self.new, self.changed, self.withdrawn, self.health, self.failing]
        kept: list[list] = []
        left = max(keep, 0)
        for items in sections:
            kept.append(items[:left])
            left -= len(kept[-1])
        omitted = self.omitted + self.item_count - sum(len(k) for k in kept)
        return replace(
            self,
            new=kept[0],
            changed=kept[1],
            withdrawn=kept[2],
            health=kept[3],
            failing=kept[4],
            omitted=omitted,
            totals=self.totals or self._sizes(),
        )


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """A digest ready to send: the digest itself, its renderings and the key receivers dedupe by."""

    digest: Digest
    subject: str
    text: str
    html: str
    idempotency_key: str
