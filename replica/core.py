"""The running network: binds one server per site, renders each cycle, keeps validators stable.

Used by `ReplicaNetwork` and `GeneratedNetwork`, in the calling process or in a child process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial

from replica import cms_lists, urls
from replica.catalog import SiteSpec
from replica.pages import HTML_UTF8, Page
from replica.render import EPOCH, SiteContext, calendar_page, jpage_listings, render_site
from replica.server import RequestLog, SiteServer, SiteState, serve_all

OFFSITE_ADDRESS = "127.0.0.99"
OFFSITE = "offsite"


@dataclass(frozen=True)
class SiteInfo:
    """Where a running site lives and what a crawl of it starts from."""

    name: str
    title: str
    kind: str  # government | education_bureau | newspaper | mirror | document_sharing
    region: str | None
    base_url: str  # http://127.0.0.11:40123
    encoding: str
    template: str
    start_urls: tuple[str, ...]
    feeds: tuple[str, ...]
    sitemaps: tuple[str, ...]

    @property
    def host(self) -> str:
        """The host name (loopback address) without the port."""
        return self.base_url.split("//", 1)[1].rsplit(":", 1)[0]


def bind_or_fallback(address: str, make: Callable[[tuple[str, int]], SiteServer]) -> SiteServer:
    """A server made on `address` (free port), or on 127.0.0.1 where `address` cannot be bound.

    Linux routes all of 127.0.0.0/8 to lo; elsewhere only 127.0.0.1 may exist.
    """
    try:
        return make((address, 0))
    except OSError:
        return make(("127.0.0.1", 0))


def _offsite_page() -> Page:
    return Page(200, "<html><body><p>合作伙伴推广页</p></body></html>".encode(), HTML_UTF8, conditional=False)


class NetworkCore:
    """Servers, per-cycle rendering and the request log of a set of sites."""

    def __init__(
        self,
        catalog: Callable[[int], tuple[SiteSpec, ...]],
        *,
        slow_seconds: float,
        cycle: int = 1,
    ) -> None:
        if cycle < 1:
            raise ValueError(f"cycle must be 1 or more, got {cycle}")
        self._catalog = catalog
        self.slow_seconds = slow_seconds
        self.cycle = cycle
        self.log = RequestLog()
        self._stopping = threading.Event()
        self._servers: dict[str, SiteServer] = {}
        self._threads: list[threading.Thread] = []
        self._states: dict[str, SiteState] = {}
        self._contexts: dict[str, SiteContext] = {}
        self._article_pages: dict[str, dict[tuple[str, bool], Page]] = {}
        self._signatures: dict[str, tuple[object, ...]] = {}
        self._lock = threading.Lock()
        self.sites: dict[str, SiteInfo] = {}
        self.offsite_url = ""

    def _server(self, name: str, address: tuple[str, int]) -> SiteServer:
        return SiteServer(
            address,
            site=name,
            state=partial(self._state, name),
            log=self.log,
            slow_seconds=self.slow_seconds,
            stopping=self._stopping,
        )

    def _state(self, name: str) -> SiteState:
        return self._states[name]

    def start(self) -> None:
        """Bind every site, render the current cycle and start serving."""
        specs = self._catalog(self.cycle)
        offsite = bind_or_fallback(OFFSITE_ADDRESS, partial(self._server, OFFSITE))
        self._servers[OFFSITE] = offsite
        self.offsite_url = offsite.base_url
        self._states[OFFSITE] = SiteState(pages={}, last_modified={}, fallback=_offsite_page())
        for spec in specs:
            self._servers[spec.name] = bind_or_fallback(spec.address, partial(self._server, spec.name))
        friends = tuple((s.title, self._servers[s.name].base_url + "/") for s in specs[:4])
        friends += (("省政府门户网站", self.offsite_url + "/"),)
        for spec in specs:
            base = self._servers[spec.name].base_url
            self._contexts[spec.name] = SiteContext(spec, base, self.offsite_url, friends)
            self.sites[spec.name] = _site_info(spec, base)
        self._render_all(specs, previous={})
        thread = threading.Thread(
            target=serve_all,
            args=(list(self._servers.values()), self._stopping),
            name="replica-accept",
            daemon=True,
        )
        thread.start()
        self._threads.append(thread)

    def _render_all(self, specs: tuple[SiteSpec, ...], previous: dict[str, SiteState]) -> None:
        changed_at = EPOCH + timedelta(days=self.cycle - 1)
        for spec in specs:
            signature = _signature(spec, self.cycle)
            if spec.name in previous and self._signatures.get(spec.name) == signature:
                continue  # nothing about this site differs from the last cycle: keep its pages
            self._signatures[spec.name] = signature
            ctx = replace(self._contexts[spec.name], site=spec)
            self._contexts[spec.name] = ctx
            pages = render_site(ctx, self.cycle, self._article_pages.setdefault(spec.name, {}))
            old = previous.get(spec.name)
            last_modified = {}
            for path, page in pages.items():
                if not page.conditional:
                    continue
                old_page = old.pages.get(path) if old else None
                if old is not None and old_page is not None and old_page.etag == page.etag:
                    last_modified[path] = old.last_modified.get(path, changed_at)
                    pages[path] = old_page  # keep the very object, so the ETag is not recomputed
                else:
                    last_modified[path] = EPOCH if old is None else changed_at
            dynamic: dict[str, Callable[[dict[str, list[str]]], Page]] = {}
            if spec.calendar:
                dynamic[urls.CALENDAR_PATH] = partial(_calendar, ctx)
            proxies = cms_lists.dynamic_pages(jpage_listings(ctx, self.cycle))
            dynamic.update(proxies)
            self._states[spec.name] = SiteState(pages, last_modified, dynamic, posted=frozenset(proxies))

    def advance(self) -> int:
        """Move every site to the next cycle's content; returns the new cycle number."""
        with self._lock:
            self.cycle += 1
            specs = self._catalog(self.cycle)
            for spec in specs:
                if spec.name not in self._servers:
                    raise RuntimeError(f"site {spec.name} appeared after start; networks keep their sites")
            self._render_all(specs, previous=dict(self._states))
            return self.cycle

    def stop(self) -> None:
        """Stop every server and wake slow requests."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        for server in self._servers.values():
            server.server_close()


def _signature(spec: SiteSpec, cycle: int) -> tuple[object, ...]:
    """What a site's pages depend on in `cycle`: its spec and each article's state."""
    states = tuple(
        (a.listed_in(cycle), a.exists_in(cycle), a.change is not None and cycle >= a.change.cycle)
        for a in spec.articles
    )
    return (spec, states)


def _calendar(ctx: SiteContext, query: dict[str, list[str]]) -> Page:
    days = query.get("date")
    return calendar_page(ctx, days[0] if days else None)


def _site_info(spec: SiteSpec, base: str) -> SiteInfo:
    start = tuple(base + urls.column_path(spec, c) for c in spec.columns)
    feeds = (base + urls.FEED_PATH,) if spec.feed else ()
    sitemaps = (base + urls.SITEMAP_PATH,) if spec.sitemap else ()
    return SiteInfo(
        spec.name,
        spec.title,
        spec.kind,
        spec.region,
        base,
        spec.encoding,
        spec.template,
        start,
        feeds,
        sitemaps,
    )
