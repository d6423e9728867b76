"""Alert rules: which articles may announce a story, and which member of a story is canonical."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from core.config import Crawl, Source, SourceKind, Topic
from core.timezone import CHINA_TZ

# Lower is more official: the canonical member of a story is the one with the lowest rank.
KIND_RANK: dict[str, int] = {
    "government": 0,
    "education_bureau": 1,
    "newspaper": 2,
    "other": 3,
    "mirror": 4,
    "document_sharing": 5,
}
# Kinds whose copies never announce a story on their own, whatever the topic rules say.
SILENT_KINDS = frozenset({"mirror", "document_sharing"})
# Flags of a copy that cannot stand for the announcement: a part, a template, a shared document,
# or not an article at all.
SILENT_FLAGS = frozenset({"truncated", "template", "document_sharing", "not_article"})


@dataclass(frozen=True, slots=True)
class SourceRef:
    """What storage needs to know about the source a page came from."""

    name: str
    kind: SourceKind = "government"
    mobile_hosts: Mapping[str, str] = field(default_factory=dict)
    region: str | None = None  # the configured region, for pages that name no place themselves

    @classmethod
    def from_config(cls, source: Source) -> SourceRef:
        """The reference of a configured source."""
        return cls(
            name=source.name, kind=source.kind, mobile_hosts=dict(source.mobile_hosts), region=source.region
        )


@dataclass(frozen=True, slots=True)
class RecheckPolicy:
    """When a known article is fetched again: `after` its first sighting, then doubling, until `max_age`."""

    after: timedelta = timedelta(days=1)
    max_age: timedelta = timedelta(days=30)

    @classmethod
    def from_config(cls, crawl: Crawl) -> RecheckPolicy:
        """The policy of config.crawl (recheck_after, recheck_max)."""
        return cls(after=crawl.recheck_after, max_age=crawl.recheck_max)


def is_recent(first_seen: datetime, published_at: str | None, now: datetime, window: timedelta) -> bool:
    """Whether an article is recent enough to be asked every cycle (`crawl.recheck_recent`).

    First seen within the window, and published within it when the date is known: a bureau edits
    a notice in the days after it is issued, and the first crawl of a site finds years of old
    notices, first seen that day, that need no such care.
    """
    if now - first_seen > window:
        return False
    try:
        published = date.fromisoformat((published_at or "")[:10])
    except ValueError:
        return True  # no readable date: the first sighting is all there is to go by
    # Whole days in China time, so a notice dated today is never in the future.
    return (now.astimezone(CHINA_TZ).date() - published).days <= window.days


def kind_rank(kind: str) -> int:
    """How official a source kind is (lower is more official)."""
    return KIND_RANK.get(kind, KIND_RANK["other"])


def may_alert(
    kind: str,
    topics: Sequence[str],
    categories: Sequence[str],
    flags: Sequence[str],
    rules: Mapping[str, Topic],
) -> bool:
    """Whether an article may raise new/changed/withdrawn alerts by itself."""
    if kind in SILENT_KINDS or SILENT_FLAGS.intersection(flags):
        return False
    for name in topics:
        topic = rules.get(name)
        if topic is None or not topic.alert or kind not in topic.alert_kinds:
            continue
        if not topic.alert_categories or set(topic.alert_categories).intersection(categories):
            return True
    return False


def next_check(first_seen: datetime, checked_at: datetime, policy: RecheckPolicy) -> datetime | None:
    """When to fetch a known article again: the wait doubles with its age; None once it is too old."""
    due = checked_at + max(policy.after, checked_at - first_seen)
    return None if due - first_seen > policy.max_age else due
