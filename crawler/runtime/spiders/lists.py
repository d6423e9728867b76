"""The generic list spider: navigation only.

For every configured source it reads the start (list) pages, feeds and sitemaps, finds article
links, next pages and advertised feeds with the discovery strategies (`crawler.discovery`: generic
links and pagers plus Hanweb, TRS, site-cluster and DedeCMS lists), follows pagination up to
`max_pages`, and requests the article pages that are new or due for a re-check. Every response is
decoded by `crawler.html.decoding`, the way articles are. What a page says is the page layer's and the
pipelines' business; the spider only decides what to fetch.

All requests are built by `ListSpider.make_request`, so a distributed (scrapy-redis) spider can
subclass this one and share the navigation.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

from scrapy import FormRequest, Request, Spider
from scrapy.http import Response, TextResponse
from scrapy.statscollectors import StatsCollector
from twisted.python.failure import Failure

from core.config import Source, Topic
from core.timezone import CHINA_TZ
from core.urls import canonicalize_url
from crawler.article import Attachment
from crawler.discovery import Form
from crawler.discovery.feeds import FeedError, parse_feed, parse_sitemap
from crawler.discovery.links import LinkRules, is_listing_url
from crawler.discovery.registry import read_list
from crawler.errors import ExtractionError
from crawler.html.decoding import decode_html, header_charset
from crawler.runtime.items import AttachmentItem, CheckedItem, GoneItem, PageItem
from crawler.runtime.middlewares.scope import SourceScope
from crawler.runtime.pipelines.attachment_fetch import AttachmentLimits
from crawler.runtime.settings import COUNTYWATCH_RECHECK_RECENT as RECHECK_RECENT
from crawler.runtime.settings import COUNTYWATCH_RECHECK_RECENT_EVERY as RECHECK_RECENT_EVERY
from crawler.runtime.spiders.failures import failure_kind, http_status
from crawler.runtime.tally import META_KIND, META_REMEMBERED, META_SOURCE, count, count_error, source_of
from storage.rules import is_recent

logger = logging.getLogger(__name__)
# Request meta of Scrapy's RetryMiddleware: retries of this request, instead of RETRY_TIMES.
MAX_RETRY_TIMES = "max_retry_times"

MAX_CHILD_SITEMAPS = 50  # per sitemap index: a bound on sitemap traps
MAX_ADVERTISED_FEEDS = 3  # per source and run: feeds found on list pages (a bound on feed traps)
META_PAGE = "cw_page"
META_LIST_DATE = "cw_list_date"
META_KNOWN = "cw_known"
# A conditional re-check of a recent article that its decaying schedule does not ask for yet: a
# 304 to it does not reschedule it; only the time of the check is recorded, after the crawl.
META_EARLY = "cw_early"
META_ARTICLE = "cw_article"  # an attachment request: the canonical URL of its article
META_TITLE = "cw_title"  # an attachment request: the attachment's title
GONE_STATUSES = frozenset({404, 410})


class KnownAttachment(Protocol):
    """A fetched attachment of a stored article (storage.recheck.KnownAttachment)."""

    @property
    def url(self) -> str: ...

    @property
    def title(self) -> str | None: ...

    @property
    def etag(self) -> str | None: ...

    @property
    def last_modified(self) -> str | None: ...


class KnownPage(Protocol):
    """What the incremental crawl needs to know of a stored article (storage.repository.KnownPage)."""

    @property
    def first_seen(self) -> datetime: ...

    @property
    def published_at(self) -> str | None: ...

    @property
    def etag(self) -> str | None: ...

    @property
    def last_modified(self) -> str | None: ...

    @property
    def last_checked(self) -> datetime | None: ...

    @property
    def next_check_at(self) -> datetime | None: ...

    @property
    def status(self) -> str: ...

    @property
    def attachments(self) -> Sequence[KnownAttachment]: ...


def parse_lastmod(value: str | None) -> datetime | None:
    """A sitemap <lastmod> as an aware datetime (China time when it has no zone), or None."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=CHINA_TZ)


class ListSpider(Spider):
    """Crawls the list pages, feeds and sitemaps of the configured sources."""

    name = "countywatch"

    def __init__(
        self,
        sources: Sequence[Source] = (),
        known: Mapping[str, Mapping[str, KnownPage]] | None = None,
        topics: Mapping[str, Topic] | None = None,
        now: datetime | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sources: dict[str, Source] = {s.name: s for s in sources}
        self.scope = SourceScope(sources)
        self.known: Mapping[str, Mapping[str, KnownPage]] = known or {}
        self.topics: dict[str, Topic] = dict(topics or {})
        self.now = now or datetime.now(UTC)
        # What a reading depends on besides the page: the source's configuration (link rules, hosts).
        self._reading_keys = {
            s.name: hashlib.sha256(s.model_dump_json().encode()).hexdigest()[:16] for s in sources
        }
        self._rules = {
            s.name: LinkRules(
                allow=s.allow, deny=s.deny, link_selector=s.link_selector, link_xpath=s.link_xpath
            )
            for s in sources
        }
        # Per-run bookkeeping only: what was already requested in this run.
        self._queued: defaultdict[str, set[str]] = defaultdict(set)
        self._lists_seen: set[str] = set()
        self._articles_requested: Counter[str] = Counter()
        self._advertised: Counter[str] = Counter()
        self._offsite_feeds: set[str] = set()
        # Canonical URLs, per source, of recent articles whose early re-check answered 304: the
        # runner records the check (storage.recheck.mark_early_checked) once the crawl is done.
        self.early_unchanged: defaultdict[str, list[str]] = defaultdict(list)
        self._list_budget: dict[str, int] = {
            s.name: s.max_pages * len(s.start_urls)
            + len(s.feeds)
            + len(s.sitemaps) * (1 + MAX_CHILD_SITEMAPS)
            for s in sources
        }

    @property
    def stats(self) -> StatsCollector:
        """The crawl's stats collector, where the per-source counters live."""
        stats = self.crawler.stats
        assert stats is not None
        return stats

    # --- requests -----------------------------------------------------------------------------

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
        """Every request of the crawl: tagged with its source and kind, errors to `on_error`.

        `dont_filter`: duplicates are filtered here by canonical URL, and a redirect loop must
        run into REDIRECT_MAX_TIMES (and be recorded) rather than vanish in the dupefilter.
        """
        return Request(
            url,
            callback=callback,
            errback=self.on_error,
            priority=priority,
            dont_filter=True,
            meta={META_SOURCE: source.name, META_KIND: kind, **meta},
        )

    def _list_request(
        self, source: Source, url: str, kind: str, page: int = 1, form: Form = ()
    ) -> Request | None:
        """A list page, feed or sitemap request; with `form`, a POST of it (Hanweb's dataproxy.jsp)."""
        seen_as = url + "\n" + urlencode(form) if form else url
        if seen_as in self._lists_seen or self._list_budget[source.name] <= 0:
            return None
        self._lists_seen.add(seen_as)
        self._list_budget[source.name] -= 1
        callback = {"list": self.parse_list, "feed": self.parse_feed, "sitemap": self.parse_sitemap}[kind]
        request = self.make_request(source, url, kind, callback, **{META_PAGE: page})
        if form:
            # The form is the body: Scrapy's fingerprint, so the HTTP cache, tells the groups apart.
            request = request.replace(cls=FormRequest, formdata=form, method="POST")
            # Twisted's connection pool sends a request again by itself when the kept-alive
            # connection it chose turns out closed, but only an idempotent one: a POST fails with
            # ResponseNeverReceived instead. Servers that close after an answer without saying
            # `Connection: close` (HTTP/1.0 ones, keep-alive timeouts) make that happen under load;
            # it lost a dataproxy.jsp group about once in 20 loaded crawls with `retries: 0`. This
            # POST only reads a list, so it keeps at least the one retry a GET would have had.
            request.meta[MAX_RETRY_TIMES] = max(1, self._retry_times())
        return request

    def _retry_times(self) -> int:
        crawler = getattr(self, "crawler", None)
        return crawler.settings.getint("RETRY_TIMES") if crawler is not None else 0

    def _entry_requests(
        self, source: Source, url: str, list_date: str | None, lastmod: str | None = None
    ) -> Iterator[Request]:
        """Requests for a feed or sitemap entry (sitemaps list column pages too: those are skipped)."""
        if not self.scope.allows_url(source.name, url):
            count_error(self.stats, source.name, "offsite")
            return
        allow = self._rules[source.name].allow
        if url in self._lists_seen or url in source.start_urls:
            return
        if is_listing_url(url) and not any(re.search(p, url) for p in allow):
            return
        yield from self._article_requests(source, url, list_date, lastmod)

    def _article_requests(
        self,
        source: Source,
        url: str,
        list_date: str | None,
        lastmod: str | None = None,
        *,
        attachments: bool = True,
        scheduled: bool = False,
    ) -> Iterator[Request]:
        """The request of an article (new, due, or recent and revalidatable), and of its stored
        attachments unless `attachments` is False. `scheduled`: a re-check the distributed push
        scheduled, not a link found on a list, feed or sitemap (see `recheck_linked`)."""
        known_pages = self.known.get(source.name, {})
        # A link already in the stored (canonical) form of a known page is taken as it is: canonical
        # forms are their own canonical forms (tests/test_urls.py), and in a cycle where nothing
        # changed every link is one, so the lists' links are not all canonicalised again.
        canonical = url if url in known_pages else canonicalize_url(url, mobile_hosts=source.mobile_hosts)
        queued = self._queued[source.name]
        if canonical in queued:
            return
        known = known_pages.get(canonical)
        if known is not None and not scheduled and not self.recheck_linked(known, lastmod):
            # Not marked as requested: the re-check scheduled for it may still come this cycle.
            count(self.stats, source.name, "skipped_known")
            return
        queued.add(canonical)
        due = known is None or self._due(known, lastmod)
        early = known is not None and not due and self._early(known)
        if not due and not early:
            count(self.stats, source.name, "skipped_known")
            return
        if source.max_articles is not None and self._articles_requested[source.name] >= source.max_articles:
            return
        self._articles_requested[source.name] += 1
        meta: dict[str, Any] = {META_LIST_DATE: list_date, META_KNOWN: known is not None, META_EARLY: early}
        # Articles before more list pages: items flow to the pipelines early and memory stays flat.
        request = self.make_request(source, url, "article", self.parse_article, priority=1, **meta)
        if known is not None and self._revalidatable(known):
            _ask_if_changed(request, known)
        yield request
        if known is not None and known.status == "active" and attachments:
            # A file replaced under the same link leaves the page as it was: ask for each file too.
            yield from self._attachment_requests(source, canonical, known)

    def _attachment_requests(self, source: Source, article_url: str, known: KnownPage) -> Iterator[Request]:
        limits = self.attachment_limits
        if not limits.enabled:
            return
        for attachment in known.attachments[: limits.per_article]:
            request = self.attachment_recheck(source, article_url, attachment)
            if request is not None:
                yield request

    def attachment_recheck(
        self, source: Source, article_url: str, attachment: KnownAttachment
    ) -> Request | None:
        """A stored attachment asked for again (conditionally when it had validators); None off scope."""
        if not self.scope.allows_url(source.name, attachment.url):
            return None
        request = self.make_request(
            source,
            attachment.url,
            "attachment",
            self.parse_attachment,
            priority=1,
            download_maxsize=self.attachment_limits.max_bytes,
            **{META_ARTICLE: article_url, META_TITLE: attachment.title or ""},
        )
        if attachment.etag or attachment.last_modified:
            _ask_if_changed(request, attachment)
        return request

    @property
    def attachment_limits(self) -> AttachmentLimits:
        """The crawl's attachment settings (defaults when the spider runs without a crawler)."""
        settings = getattr(self, "settings", None)
        return AttachmentLimits.from_settings(settings) if settings is not None else AttachmentLimits()

    @property
    def recheck_recent(self) -> timedelta:
        """How long after its first sighting an article is asked for every cycle (RECHECK_RECENT)."""
        settings = getattr(self, "settings", None)
        seconds = (
            settings.getfloat("COUNTYWATCH_RECHECK_RECENT", RECHECK_RECENT) if settings else RECHECK_RECENT
        )
        return timedelta(seconds=seconds)

    @property
    def recheck_recent_every(self) -> timedelta:
        """The least time between two early re-checks of one recent article (RECHECK_RECENT_EVERY)."""
        settings = getattr(self, "settings", None)
        seconds = (
            settings.getfloat("COUNTYWATCH_RECHECK_RECENT_EVERY", RECHECK_RECENT_EVERY)
            if settings
            else RECHECK_RECENT_EVERY
        )
        return timedelta(seconds=seconds)

    def recheck_linked(self, known: KnownPage, lastmod: str | None) -> bool:
        """Whether a stored article may be asked for again where a list, feed or sitemap links it
        (`lastmod`: the sitemap's). In one process, always (when due or recent); the distributed
        spider leaves that to the re-checks its push schedules."""
        return True

    @staticmethod
    def _revalidatable(known: KnownPage) -> bool:
        # Not a withdrawn page: its validators are the article's, and a 304 must not reactivate it.
        return known.status == "active" and bool(known.etag or known.last_modified)

    def _early(self, known: KnownPage) -> bool:
        """A recent article the site can answer 304 for, last checked at least RECHECK_RECENT_EVERY ago.

        Asked every cycle of a daemon (as cheap as a list page), but not again by a cycle that runs
        right after the one that checked it: a 304 then would tell nothing new.
        """
        checked = known.last_checked
        return (
            self._revalidatable(known)
            and (checked is None or self.now - checked >= self.recheck_recent_every)
            and is_recent(known.first_seen, known.published_at, self.now, self.recheck_recent)
        )

    def _due(self, known: KnownPage, lastmod: str | None) -> bool:
        changed_at = parse_lastmod(lastmod)
        if changed_at is not None and known.last_checked is not None and changed_at > known.last_checked:
            return True
        # None: too old to be re-checked (storage's RecheckPolicy.max_age).
        return known.next_check_at is not None and known.next_check_at <= self.now

    def _due_known_requests(self, source: Source) -> Iterator[Request]:
        # Known articles due for a re-check are fetched even when no list links them any more:
        # that is how a page removed from its list but answering 410 is found withdrawn. Recent
        # ones are asked every cycle (conditionally), wherever the list shows them now.
        for url, known in self.known.get(source.name, {}).items():
            if self._due(known, None) or self._early(known):
                yield from self._article_requests(source, url, None)

    async def start(self) -> AsyncIterator[Request]:
        for source in self.sources.values():
            kinds = (("list", source.start_urls), ("feed", source.feeds), ("sitemap", source.sitemaps))
            for kind, urls in kinds:
                for url in urls:
                    request = self._list_request(source, url, kind)
                    if request is not None:
                        yield request
        for source in self.sources.values():
            for request in self._due_known_requests(source):
                yield request

    # --- callbacks ----------------------------------------------------------------------------

    def _source(self, response: Response) -> Source:
        return self.sources[response.meta[META_SOURCE]]

    def _count_list_page(self, source: Source, response: Response) -> None:
        count(self.stats, source.name, "list_pages")
        if "cached" in response.flags:  # revalidated: the server answered 304 Not Modified
            count(self.stats, source.name, "list_unchanged")

    def _charset(self, source: Source, response: Response) -> str | None:
        """The charset to try first: the source's configured one, else the HTTP header's."""
        return source.encoding or header_charset(response.headers.get(b"Content-Type"))

    def parse_list(self, response: Response) -> Iterator[Request]:
        """A list page: its article links, the feeds it advertises, then the next page."""
        source = self._source(response)
        self._count_list_page(source, response)
        remembered = self._remembered(source, response)
        if remembered is not None:
            for url, date, _ in remembered.links:
                yield from self._article_requests(source, url, date)
            yield from self._advertised_feed_requests(source, remembered.follow("feed"))
            return
        if not isinstance(response, TextResponse):
            count_error(self.stats, source.name, "binary")
            return
        if not response.body.strip():
            return  # an empty list page lists nothing; it is not an error of the site
        # Decoded by evidence like every page: a GBK list declaring UTF-8 keeps its 下一页 link.
        try:
            html = decode_html(response.body, http_charset=self._charset(source, response)).text
        except ExtractionError as exc:
            count_error(self.stats, source.name, "extraction")
            logger.warning("list page %s of %s: %s", response.url, source.name, exc)
            return
        in_scope = partial(self.scope.allows_url, source.name)
        reading = read_list(
            html,
            response.url,
            self._rules[source.name],
            in_scope=in_scope,
            form=_posted_form(response),
            today=self.now.astimezone(CHINA_TZ).date(),
        )
        count(self.stats, source.name, "links_found", len(reading.links))
        links = [(link.url, link.date, None) for link in reading.links]
        self._remember(source, response, links, [("feed", url) for url in reading.discovery.feeds])
        for link in reading.links:
            yield from self._article_requests(source, link.url, link.date)
        yield from self._advertised_feed_requests(source, reading.discovery.feeds)
        page = int(response.meta.get(META_PAGE, 1))
        # An unchanged (304) page means the pages after it hold nothing new either: new articles
        # enter a list at the top and push the rest down, changing every page they pass.
        if page < source.max_pages and "cached" not in response.flags:
            following = reading.discovery.next_page
            if following is not None and in_scope(following):
                form = reading.discovery.next_form
                request = self._list_request(source, following, "list", page + 1, form)
                if request is not None:
                    yield request

    def _advertised_feed_requests(self, source: Source, feeds: Sequence[str]) -> Iterator[Request]:
        for url in feeds:
            # A configured feed is read from the start requests (by some worker, when distributed).
            if url in self._lists_seen or url in self._offsite_feeds or url in source.feeds:
                continue
            if not self.scope.allows_url(source.name, url):
                self._offsite_feeds.add(url)  # advertised on every page of the list: counted once
                count_error(self.stats, source.name, "offsite")
                continue
            if self._advertised[source.name] >= MAX_ADVERTISED_FEEDS:
                return
            self._advertised[source.name] += 1
            self._list_budget[source.name] += 1  # a feed does not use up the list pages' budget
            request = self._list_request(source, url, "feed")
            if request is not None:
                yield self.advertised_feed_request(request)

    def advertised_feed_request(self, request: Request) -> Request:
        """A feed found on a list page, as it is scheduled (the distributed spider shares it)."""
        return request  # this run's `_lists_seen` already asks for it once

    def parse_feed(self, response: Response) -> Iterator[Request]:
        """An RSS or Atom feed: its entries are articles, dated."""
        source = self._source(response)
        self._count_list_page(source, response)
        remembered = self._remembered(source, response)
        if remembered is not None:
            for url, date, _ in remembered.links:
                yield from self._entry_requests(source, url, date)
            return
        try:
            entries = parse_feed(response.body, response.url, self._charset(source, response))
        except FeedError as exc:
            count_error(self.stats, source.name, "feed")
            logger.warning("feed %s of %s: %s", response.url, source.name, exc)
            return
        count(self.stats, source.name, "links_found", len(entries))
        self._remember(source, response, [(entry.url, entry.date, None) for entry in entries], [])
        for entry in entries:
            yield from self._entry_requests(source, entry.url, entry.date)

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        """A sitemap (or sitemap index): articles, with <lastmod> deciding re-checks."""
        source = self._source(response)
        self._count_list_page(source, response)
        remembered = self._remembered(source, response)
        if remembered is not None:
            yield from self._child_sitemap_requests(source, remembered.follow("sitemap"))
            for url, _, lastmod in remembered.links:
                yield from self._entry_requests(source, url, None, lastmod)
            return
        maxsize = int(self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        try:
            content = parse_sitemap(
                response.body, response.url, max_bytes=maxsize, http_charset=self._charset(source, response)
            )
        except FeedError as exc:
            count_error(self.stats, source.name, "feed")
            logger.warning("sitemap %s of %s: %s", response.url, source.name, exc)
            return
        children = content.sitemaps[:MAX_CHILD_SITEMAPS]
        yield from self._child_sitemap_requests(source, children)
        count(self.stats, source.name, "links_found", len(content.entries))
        entries = [(entry.url, None, entry.lastmod) for entry in content.entries]
        self._remember(source, response, entries, [("sitemap", url) for url in children])
        for entry in content.entries:
            yield from self._entry_requests(source, entry.url, None, entry.lastmod)

    def _child_sitemap_requests(self, source: Source, urls: Sequence[str]) -> Iterator[Request]:
        for child in urls:
            if self.scope.allows_url(source.name, child):
                request = self._list_request(source, child, "sitemap")
                if request is not None:
                    yield request
            else:
                count_error(self.stats, source.name, "offsite")

    def reading_key(self, source: str) -> str:
        """The configuration of a source that its kept readings were made under (a short hash)."""
        return self._reading_keys[source]

    def _remember(
        self, source: Source, response: Response, links: Sequence[Link], leads: Sequence[tuple[str, str]]
    ) -> None:
        """Leave what reading the page gave in its request's meta, for the cache to keep on commit."""
        response.meta[META_REMEMBERED] = {
            "key": self._reading_keys[source.name],
            "links": list(links),
            "leads": list(leads),
        }

    def _remembered(self, source: Source, response: Response) -> Remembered | None:
        """What reading this page gave last time, when the server says it is unchanged (304).

        An unchanged page is not decoded and parsed again: its links (with their list dates or
        lastmods) and the feeds and child sitemaps it leads to are taken from its cache entry and
        go through the same decisions as a fresh reading (new, due, recent, limits), so a link
        whose article failed last time is asked again. None: parse the page (also when the source's
        configuration changed since: its link rules decide what a reading finds).
        """
        if "cached" not in response.flags:
            response.meta.pop(META_REMEMBERED, None)  # the page changed: read afresh below
            return None
        remembered = Remembered.from_meta(response.meta.get(META_REMEMBERED), self._reading_keys[source.name])
        if remembered is not None:
            count(self.stats, source.name, "links_found", len(remembered.links))
        return remembered

    def parse_article(self, response: Response) -> Iterator[PageItem | CheckedItem]:
        """An article page: handed to the pipelines as bytes, with what the list said of it."""
        source = self._source(response)
        redirects = response.meta.get("redirect_urls") or [response.url]
        if response.status == 304:
            # The answer to our own conditional re-check (If-None-Match / If-Modified-Since).
            count(self.stats, source.name, "not_modified")
            if response.meta.get(META_EARLY):
                # Not rescheduled (the decaying schedule stays as it was); only the time of the
                # check is recorded, in one statement after the crawl.
                canonical = canonicalize_url(redirects[0], mobile_hosts=source.mobile_hosts)
                self.early_unchanged[source.name].append(canonical)
            else:
                yield CheckedItem(source=source.name, url=redirects[0])
            return
        if (
            "cached" in response.flags
            and response.meta.get(META_KNOWN)
            and not self._withdrawn(source, redirects[0])
        ):
            # 304 Not Modified to the re-check of a stored article: nothing to extract. Not for a
            # withdrawn one: the cached copy may be the deleted notice, which must not reactivate it.
            count(self.stats, source.name, "not_modified")
            yield CheckedItem(source=source.name, url=redirects[0])
            return
        count(self.stats, source.name, "articles_fetched")
        charset = self._charset(source, response)
        yield PageItem(
            source=source.name,
            url=response.url,
            requested_url=redirects[0],
            body=response.body,
            http_charset=charset,
            list_date=response.meta.get(META_LIST_DATE),
            known=bool(response.meta.get(META_KNOWN)),
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
        )

    def parse_attachment(self, response: Response) -> Iterator[AttachmentItem]:
        """A stored article's attachment asked for again: unchanged (304), or its bytes to be read."""
        source = self._source(response)
        if response.status == 304:
            count(self.stats, source.name, "attachments_unchanged")
            return
        count(self.stats, source.name, "attachments_fetched")
        yield AttachmentItem(
            source=source.name,
            article_url=response.meta[META_ARTICLE],
            attachment=Attachment(
                title=response.meta.get(META_TITLE) or "",
                url=(response.meta.get("redirect_urls") or [response.url])[0],
            ),
            body=response.body,
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
        )

    def _withdrawn(self, source: Source, url: str) -> bool:
        canonical = canonicalize_url(url, mobile_hosts=source.mobile_hosts)
        known = self.known.get(source.name, {}).get(canonical)
        return known is not None and known.status == "withdrawn"

    def on_error(self, failure: Failure) -> Iterator[GoneItem]:
        """Count a failed request under its error kind; a vanished known article is `gone`."""
        request: Request = failure.request  # type: ignore[attr-defined]
        source = source_of(request)
        status = http_status(failure)
        if (
            status in GONE_STATUSES
            and request.meta.get(META_KIND) == "article"
            and request.meta.get(META_KNOWN)
        ):
            count(self.stats, source, "gone")
            original = (request.meta.get("redirect_urls") or [request.url])[0]
            yield GoneItem(source=source or "-", url=original, status=status)
            return
        kind = failure_kind(failure)
        count_error(self.stats, source, kind)
        logger.warning("%s: %s %s: %s", source, kind, request.url, failure.getErrorMessage())


Link = tuple[str, str | None, str | None]  # URL, list date, sitemap lastmod


@dataclass(frozen=True, slots=True)
class Remembered:
    """What reading a list page, feed or sitemap gave (kept with its cache entry)."""

    links: list[Link]  # the article links (feed entries, sitemap entries) found
    leads: list[tuple[str, str]]  # (kind, URL) of the feeds and child sitemaps it leads to

    def follow(self, kind: str) -> list[str]:
        """The URLs of one kind the page leads to (feed, sitemap)."""
        return [url for lead, url in self.leads if lead == kind]

    @classmethod
    def from_meta(cls, value: object, key: str) -> Remembered | None:
        """The reading kept in request meta by `_remember` under the source configuration `key`.

        None when absent, not of that shape, or made under another configuration of the source.
        """
        if not isinstance(value, dict) or value.get("key") != key:
            return None
        links, leads = value.get("links"), value.get("leads")
        if not isinstance(links, list) or not isinstance(leads, list):
            return None
        try:
            return cls([(str(u), d, m) for u, d, m in links], [(str(k), str(u)) for k, u in leads])
        except (TypeError, ValueError):
            return None


def _ask_if_changed(request: Request, known: KnownPage | KnownAttachment) -> None:
    """Make a re-check conditional on the stored validators; a 304 then reaches the callback."""
    if known.etag:
        request.headers[b"If-None-Match"] = known.etag.encode("latin-1", "replace")
    if known.last_modified:
        request.headers[b"If-Modified-Since"] = known.last_modified.encode("latin-1", "replace")
    request.meta["handle_httpstatus_list"] = [304]


def _posted_form(response: Response) -> Form:
    """The form fields a list page was POSTed with (a list-data answer), empty for a GET."""
    request = response.request
    if request is None or request.method != "POST" or not request.body:
        return ()
    return tuple(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))


def _header(response: Response, name: bytes) -> str | None:
    """A response header as text (validators are ASCII; anything else is kept as Latin-1), or None."""
    value = response.headers.get(name)
    return value.decode("latin-1").strip()[:200] or None if value else None
