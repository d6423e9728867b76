"""The ground truth: what a correct crawl of each cycle of the replica network stores and alerts.

Derived from the catalogue and the running sites' base URLs, so it always matches what is served.

Rules a correct crawl follows (and end-to-end tests assert):
- every content article (`Expected.stored(cycle)`) is stored once per URL; articles sharing a
  `story` are one story (the mirror's traditional/pinyin copies included);
- a "new" alert is raised once per story in `Expected.alert_stories(cycle)`: education stories with
  a copy on an official site (government, education bureau, newspaper), first seen that cycle;
  the document-sharing speech and mirror copies never alert on their own;
- `changed(cycle)` lists articles whose body changed materially in that cycle, or whose attachment
  was replaced under the same link (a "changed" alert for education ones); `gone(cycle)` those
  that answer 404/410, or a "deleted" notice, from that cycle on; `withdrawn(cycle)` those
  withdrawn after crawling cycles 1..cycle when every known article is re-checked in each crawl:
  a deleted notice at once, a 404/410 at its second miss (one "withdrawn" alert each for
  education copies on official sites);
- `unstored` pages (500, redirect loop, WAF 412, JS challenge, off-domain redirect, ~20 MB page,
  binary served as text/html) are linked from list pages but store nothing;
- `never_fetched` paths (robots.txt Disallow) and the off-domain host are never requested.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.timezone import CHINA_TZ
from replica import urls
from replica.catalog import DELETED_NOTICE, ArticleSpec, SiteSpec


@dataclass(frozen=True)
class ExpectedArticle:
    """One article page of the network and what a correct crawl makes of it."""

    key: str
    site: str
    url: str
    list_url: str  # first page of the column that links it
    title: str
    story: str
    published_at: str  # ISO 8601, +08:00 (date only when the page gives no time)
    education: bool
    category: str | None  # expected category label (e.g. 招生入学), None when not a notice
    official: bool  # on a government, education-bureau or newspaper site
    behaviour: str | None
    since: int  # first cycle it is served
    changed_in: int | None  # cycle in which its body changes
    attachment_replaced_in: int | None  # cycle in which its attachment is replaced (page unchanged)
    gone_in: int | None  # cycle from which it answers gone_status
    gone_status: int | None  # 404, 410, or DELETED_NOTICE (0): 200 with a "该信息已删除" page
    stored: bool  # whether a correct crawl stores it (content pages only)

    @property
    def deleted_notice(self) -> bool:
        """Whether the article is replaced by a "deleted" notice (rather than answering 404/410)."""
        return self.gone_in is not None and self.gone_status == DELETED_NOTICE

    @property
    def withdrawn_in(self) -> int | None:
        """The cycle whose crawl withdraws it, when every crawl re-checks every known article.

        A deleted notice withdraws at once; one 404/410 may be a hiccup, so the second does.
        """
        if self.gone_in is None:
            return None
        return self.gone_in if self.deleted_notice else self.gone_in + 1

    @property
    def must_alert(self) -> bool:
        """Whether this copy can raise a "new" alert (education, official, stored)."""
        return self.education and self.official and self.stored


def _iso(article: ArticleSpec) -> str:
    published = article.published.replace(tzinfo=CHINA_TZ)
    if len(article.date) == 10:
        return published.date().isoformat()
    return published.isoformat()


def expected_article(site: SiteSpec, base: str, article: ArticleSpec) -> ExpectedArticle:
    """The ground truth for one catalogue article served at `base`."""
    return ExpectedArticle(
        key=article.key,
        site=site.name,
        url=base + urls.article_path(site, article),
        list_url=base + urls.column_path(site, site.column(article.column)),
        title=article.title,
        story=article.story,
        published_at=_iso(article),
        education=article.education,
        category=article.category,
        official=site.official,
        behaviour=article.behaviour,
        since=article.since,
        changed_in=article.change.cycle if article.change else None,
        attachment_replaced_in=article.attachment.replaced if article.attachment else None,
        gone_in=article.gone.cycle if article.gone else None,
        gone_status=article.gone.status if article.gone else None,
        stored=article.has_content,
    )


@dataclass(frozen=True)
class Expected:
    """Ground truth for every cycle of a network (see the module docstring for the rules)."""

    articles: tuple[ExpectedArticle, ...]  # every linked article page, content or hostile
    never_fetched: Mapping[str, tuple[str, ...]]  # site -> paths robots.txt disallows
    offsite_url: str  # base URL of the host nothing may reach
    calendar_urls: Mapping[str, str]  # site -> first URL of its endless calendar trap

    @property
    def unstored(self) -> list[ExpectedArticle]:
        """Linked pages that must not produce a stored article."""
        return [a for a in self.articles if not a.stored]

    def by_key(self, key: str) -> ExpectedArticle:
        """The article with catalogue key `key`."""
        for article in self.articles:
            if article.key == key:
                return article
        raise KeyError(key)

    def stored(self, cycle: int) -> list[ExpectedArticle]:
        """Articles the database holds after crawling cycles 1..`cycle` (withdrawn ones included)."""
        return [a for a in self.articles if a.stored and a.since <= cycle]

    def served(self, cycle: int) -> list[ExpectedArticle]:
        """Content articles answering 200 in `cycle`."""
        return [a for a in self.stored(cycle) if a.gone_in is None or cycle < a.gone_in]

    def new(self, cycle: int) -> list[ExpectedArticle]:
        """Content articles first served in `cycle`."""
        return [a for a in self.stored(cycle) if a.since == cycle]

    def changed(self, cycle: int) -> list[ExpectedArticle]:
        """Articles whose body changed, or whose attachment was replaced, in `cycle`."""
        return [a for a in self.stored(cycle) if cycle in (a.changed_in, a.attachment_replaced_in)]

    def gone(self, cycle: int) -> list[ExpectedArticle]:
        """Articles that answer 404/410 or a deleted notice from `cycle` on (first missed in `cycle`)."""
        return [a for a in self.stored(cycle) if a.gone_in == cycle]

    def withdrawn(self, cycle: int) -> list[ExpectedArticle]:
        """Articles withdrawn after crawling cycles 1..`cycle`, each crawl re-checking every known one."""
        return [a for a in self.stored(cycle) if a.withdrawn_in is not None and a.withdrawn_in <= cycle]

    def stories(self, cycle: int) -> dict[str, list[ExpectedArticle]]:
        """Story key -> its stored copies after `cycle`."""
        out: dict[str, list[ExpectedArticle]] = {}
        for article in self.stored(cycle):
            out.setdefault(article.story, []).append(article)
        return out

    def alert_stories(self, cycle: int) -> set[str]:
        """Stories that raise a "new" alert in `cycle` (first seen then, with an official copy)."""
        earlier = {a.story for a in self.stored(cycle - 1)} if cycle > 1 else set()
        return {a.story for a in self.new(cycle) if a.must_alert and a.story not in earlier}
