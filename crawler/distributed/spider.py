"""The distributed spider: the list spider's navigation, fed from the shared Redis queue.

Everything a single crawl does per run (the known articles and their re-check times, the pages
already requested, the list budget) is done here per *cycle*: each `enqueue_sources` run stamps
its start entries with a cycle number, child requests inherit it, and the first response of a newer
cycle of a source starts that source's bookkeeping afresh with the known pages read from the
database at that moment. The cycle's crawl run (opened by the push, one per source) is where this
worker's counts of the source go from then on (runs.py). Across workers, an article URL is
requested once per seen-filter ttl (the shared ExpiringDupeFilter keyed by `seen_key`).

Stored articles are asked again through the entries the push schedules (enqueue.py: due ones and
recent ones, conditionally, with one entry per stored attachment), not where a worker finds them
on a list: one request per article and cycle, whichever worker reads which list page, and never
dropped by the seen filter (entries are claimed from the queue, not filtered). A sitemap's newer
<lastmod> is the exception, news the push could not know of. Answers go through the same callbacks
and storage as in one process: a 304 to an early re-check writes nothing, a changed page is a new
version, a replaced attachment a change of its article. The spider never closes when idle: a
worker runs until it is stopped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from sqlalchemy import Engine
from twisted.python.failure import Failure

from core.config import Source, Topic
from core.urls import canonicalize_url
from crawler.distributed.claims import META_CYCLE, ClaimTracker
from crawler.distributed.queue import META_CLAIM, START_ENTRY
from crawler.distributed.runs import META_RUN
from crawler.runtime.items import AttachmentItem, CheckedItem, GoneItem, PageItem
from crawler.runtime.spiders.lists import KnownPage, ListSpider, parse_lastmod
from crawler.runtime.tally import META_SOURCE
from storage.db import make_engine, make_session_factory
from storage.repository import known_pages_of

LIST_KINDS = ("list", "feed", "sitemap")
META_ADVERTISED = "cw_advertised"  # a feed found on a list page, not configured


class DistributedSpider(ListSpider):
    """ListSpider reading its requests from Redis, one crawl cycle after another."""

    name = "countywatch-worker"

    def __init__(
        self,
        sources: Sequence[Source] = (),
        topics: Mapping[str, Topic] | None = None,
        database_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(sources=sources, known={}, topics=topics, **kwargs)
        self.known: dict[str, Mapping[str, KnownPage]] = {}
        self.claims = ClaimTracker()
        self.database_url = database_url
        self._cycles: dict[str, int] = {}
        self._runs: dict[str, int] = {}
        self._engine: Engine | None = None
        self._budget = {s.name: self._list_budget[s.name] for s in sources}
        self._early_by_run: dict[int, list[str]] = {}  # early re-checks answered 304, per run, not yet sent

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._keep_alive, signal=signals.spider_idle)
        return spider

    def _keep_alive(self) -> None:
        raise DontCloseSpider("a worker waits for more requests until it is stopped")

    def closed(self, reason: str) -> None:
        if self._engine is not None:
            self._engine.dispose()

    async def start(self) -> AsyncIterator[Request]:
        # Nothing of its own: every request comes from the shared queue.
        nothing: tuple[Request, ...] = ()
        for request in nothing:
            yield request

    # --- cycles ------------------------------------------------------------------------------

    def _load_known(self, sources: Sequence[str]) -> Mapping[str, Mapping[str, KnownPage]]:
        if not self.database_url:
            return {name: {} for name in sources}
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        with make_session_factory(self._engine)() as session:
            return known_pages_of(session, sources)

    def current_run(self, source: str) -> int | None:
        """The crawl run of the newest cycle of `source` this worker has entered."""
        return self._runs.get(source)

    def enter_cycle(self, source: Source, cycle: int | None, run: int | None = None) -> None:
        """Start `source`'s per-cycle bookkeeping afresh when `cycle` is newer than its current one."""
        if cycle is not None:
            self.enter_cycles([(source, cycle, run)])

    def enter_cycles(self, cycles: Iterable[tuple[Source, int, int | None]]) -> None:
        """`enter_cycle` for several (source, cycle, run) at once: the known pages of every source
        entering a newer cycle are read in one go (a claimed batch holds the start entries of
        several sources of one push)."""
        newer: dict[str, tuple[int, int | None]] = {}
        for source, cycle, run in cycles:
            if cycle > max(self._cycles.get(source.name, -1), newer.get(source.name, (-1, None))[0]):
                newer[source.name] = (cycle, run)
        if not newer:
            return
        known = self._load_known(list(newer))
        self.now = datetime.now(UTC)
        for name, (cycle, run) in newer.items():
            self._cycles[name] = cycle
            if run is not None:
                self._runs[name] = run
            else:
                self._runs.pop(name, None)
            self.known[name] = known[name]
            self._queued.pop(name, None)
            self._articles_requested.pop(name, None)
            self._list_budget[name] = self._budget[name]
            self._lists_seen = {url for url in self._lists_seen if not self.scope.allows_url(name, url)}

    def entering(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Queue entries were claimed: enter the newer cycles they belong to, all at once."""
        cycles: list[tuple[Source, int, int | None]] = []
        for entry in entries:
            if entry.get(START_ENTRY):
                name, cycle, run = entry.get("source"), entry.get("cycle"), entry.get("run")
            else:
                meta = entry.get("meta") or {}
                name, cycle, run = meta.get(META_SOURCE), meta.get(META_CYCLE), meta.get(META_RUN)
            source = self.sources.get(str(name))
            if source is not None and cycle is not None:
                cycles.append((source, int(cycle), int(run) if run is not None else None))
        self.enter_cycles(cycles)

    def _in_cycle(self, response: Response) -> Source:
        source = self._source(response)
        self._enter_from_meta(source, response.meta)
        return source

    def _enter_from_meta(self, source: Source, meta: Mapping[str, Any]) -> None:
        cycle, run = meta.get(META_CYCLE), meta.get(META_RUN)
        self.enter_cycle(
            source, int(cycle) if cycle is not None else None, int(run) if run is not None else None
        )

    def claimed(self, request: Request) -> None:
        """A request was claimed from the queue: enter its cycle before anything counts for it.

        Middlewares count some outcomes (blocked pages, errors) before any callback runs.
        """
        source = self.sources.get(str(request.meta.get(META_SOURCE, "")))
        if source is not None:
            self._enter_from_meta(source, request.meta)

    # --- requests ----------------------------------------------------------------------------

    def make_request(
        self,
        source: Source,
        url: str,
        kind: str,
        callback: Callable[[Response], Any],
        *,
        priority: int = 0,
        **meta: Any,
    ) -> Request:
        """The list spider's request; an article request goes through the shared seen filter."""
        request = super().make_request(source, url, kind, callback, priority=priority, **meta)
        if kind == "article":
            # Redirects and retries of it keep their claim and bypass the filter (scheduler).
            request = request.replace(dont_filter=False)
        return request

    def advertised_feed_request(self, request: Request) -> Request:
        """A feed advertised on a list page, asked for once per cycle across all workers.

        Every page of a list advertises the same feed, and the pages of one list are read by
        different workers: each worker's own memory of the run would let each of them fetch it.
        """
        return request.replace(dont_filter=False, meta={**request.meta, META_ADVERTISED: True})

    def seen_key(self, request: Request) -> str:
        """What identifies a request in the shared seen filter: an article's canonical URL, an
        advertised feed's URL within its cycle (feeds are read again every cycle)."""
        source = self.sources.get(str(request.meta.get(META_SOURCE, "")))
        mobile = source.mobile_hosts if source is not None else None
        canonical = canonicalize_url(request.url, mobile_hosts=mobile)
        if request.meta.get(META_ADVERTISED):
            return f"{canonical} cycle {request.meta.get(META_CYCLE)}"
        return canonical

    def recheck_linked(self, known: KnownPage, lastmod: str | None) -> bool:
        """Only a sitemap's <lastmod> newer than the last check: other re-checks are the push's."""
        changed_at = parse_lastmod(lastmod)
        return changed_at is not None and known.last_checked is not None and changed_at > known.last_checked

    def _attachment_entry_request(self, source: Source, entry: Mapping[str, Any]) -> Request | None:
        """The re-check of a stored attachment of a stored (active) article, as the push asked."""
        article = canonicalize_url(str(entry["article"]), mobile_hosts=source.mobile_hosts)
        known = self.known.get(source.name, {}).get(article)
        limits = self.attachment_limits
        if known is None or known.status != "active" or not limits.enabled:
            return None
        url = str(entry["url"])
        for attachment in known.attachments[: limits.per_article]:
            if attachment.url == url:
                return self.attachment_recheck(source, article, attachment)
        return None  # no longer stored with the article (the page changed since the push)

    def request_from_entry(self, entry: Mapping[str, Any]) -> Request | None:
        """The request of a start entry pushed by `enqueue_sources` (None: unknown source, or done)."""
        source = self.sources.get(str(entry.get("source")))
        if source is None:
            self.logger.error(
                "queue entry for source %r, which this worker's configuration does not have",
                entry.get("source"),
            )
            return None
        cycle = int(entry["cycle"])
        run = int(entry["run"]) if entry.get("run") is not None else None
        self.enter_cycle(source, cycle, run)
        kind = str(entry["kind"])
        url = str(entry["url"])
        request: Request | None
        if kind in LIST_KINDS:
            request = self._list_request(source, url, kind)
        elif kind == "attachment":
            request = self._attachment_entry_request(source, entry)
        else:
            # The article alone: its attachments have entries of their own.
            request = next(self._article_requests(source, url, None, attachments=False, scheduled=True), None)
        if request is not None:
            request.meta[META_CYCLE] = cycle
            if run is not None:
                request.meta[META_RUN] = run
        return request

    # --- callbacks: enter the response's cycle, then navigate as the list spider does ---------

    def parse_list(self, response: Response) -> Iterator[Request]:
        self._in_cycle(response)
        return super().parse_list(response)

    def parse_feed(self, response: Response) -> Iterator[Request]:
        self._in_cycle(response)
        return super().parse_feed(response)

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        self._in_cycle(response)
        return super().parse_sitemap(response)

    def parse_article(self, response: Response) -> Iterator[PageItem | CheckedItem]:
        source = self._in_cycle(response)
        yield from super().parse_article(response)
        # An early re-check answered 304: the list spider keeps its URL for the end of the crawl;
        # a worker's crawl never ends, so the URL goes to the run's set in Redis with the claim's
        # acknowledgement, and the run's finish records the check (runs.py).
        early = self.early_unchanged.pop(source.name, None)
        run = self._runs.get(source.name)
        if early and run is not None:
            self._early_by_run.setdefault(run, []).extend(early)

    def take_early_checked(self) -> dict[int, list[str]]:
        """The early re-checks that answered 304 since the last call, per crawl run (and forget them)."""
        early, self._early_by_run = self._early_by_run, {}
        return early

    def parse_attachment(self, response: Response) -> Iterator[AttachmentItem]:
        self._in_cycle(response)
        return super().parse_attachment(response)

    def on_error(self, failure: Failure) -> Iterator[GoneItem]:
        """The list spider's error handling, with the failed request's claim tracked.

        Errbacks of download failures do not pass through spider middlewares, so the claim of
        the failed request is tracked here.
        """
        request: Request = failure.request  # type: ignore[attr-defined]
        claim = request.meta.get(META_CLAIM)
        if claim is None:
            yield from super().on_error(failure)
            return
        self.claims.begin(claim)
        try:
            for item in super().on_error(failure):
                self.claims.track(claim, item)
                yield item
        finally:
            self.claims.end(claim)
