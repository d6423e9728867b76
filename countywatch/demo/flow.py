"""The demo's steps: serve the replica network, crawl it twice, show the digest and a summary.

Crawl 1 visits every site; then the replica changes (two articles added, one edited, one replaced
by a "该信息已删除" page, one answering 404 and one 410) and crawl 2, re-checking every known
article, finds the additions and the edit, withdraws the deleted one at once, and misses the
404/410 pages a first time (one 404 may be a hiccup, so storage withdraws on the second miss,
which a later crawl would bring). Unchanged list pages and feeds answer 304 Not Modified.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from alerts.digest import build_digest
from alerts.model import Digest
from alerts.render import render_html, render_text
from core.config import Config, ConfigError
from countywatch.config import load_config
from countywatch.demo.crawls import Progress, outcome_error, run_demo_crawl
from countywatch.demo.summary import (
    CrawlSummary,
    CrawlTotals,
    alert_counts,
    aware,
    crawls_table,
    error_lines,
    missed_pages,
    source_lines,
    source_table,
    store_line,
    store_totals,
)
from countywatch.demo.workdir import (
    DATA_DIR,
    DATABASE_NAME,
    SUBSCRIPTION,
    DemoError,
    Workdir,
    demo_config,
    prepare_workdir,
    write_config,
)
from replica.expected import ExpectedArticle
from replica.network import ReplicaNetwork
from storage.db import StorageError, error_reason, make_session_factory, open_existing, upgrade
from storage.repository import known_pages

CRAWLS = 2
Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """How to run the demo."""

    workdir: Path
    keep: bool = False
    slow_seconds: float = 1.0  # the replica's deliberately slow page
    crawl_time_limit: float = 90.0


@dataclass(slots=True)
class DemoResult:
    """What a finished demo produced."""

    workdir: Workdir
    crawls: list[CrawlSummary] = field(default_factory=list)
    digest: Digest | None = None


class Reporter:
    """Progress lines stamped with the seconds since the demo started."""

    def __init__(self, echo: Echo) -> None:
        self._echo = echo
        self._started = time.monotonic()

    def step(self, message: str) -> None:
        """A line for a step of the demo."""
        self._echo(f"[{time.monotonic() - self._started:5.1f}s] {message}")

    def detail(self, message: str) -> None:
        """A line belonging to the step above it (indented under its message)."""
        self._echo(" " * 9 + message)

    def block(self, text: str) -> None:
        """Text printed as it is (tables, the digest)."""
        self._echo(text)


def _start_network(slow_seconds: float) -> ReplicaNetwork:
    network = ReplicaNetwork(slow_seconds=slow_seconds)
    try:
        network.start()
    except (OSError, RuntimeError) as exc:
        raise DemoError(f"cannot start the replica site network on 127.0.0.x: {exc}") from None
    return network


def _load(workdir: Workdir) -> Config:
    try:
        return load_config(workdir.config_path)
    except ConfigError as exc:
        raise DemoError(f"the demo configuration is invalid: {str(exc).splitlines()[0]}") from None


def _migrate(config: Config) -> None:
    try:
        upgrade(config.database_url)
    except SQLAlchemyError as exc:
        raise DemoError(f"cannot prepare the database: {error_reason(exc)}") from None


@contextmanager
def _database(config: Config) -> Iterator[Session]:
    """A session on the demo database, its engine disposed of afterwards."""
    try:
        engine = open_existing(config.database_url)
    except StorageError as exc:
        raise DemoError(str(exc)) from None
    try:
        with make_session_factory(engine)() as session:
            yield session
    except SQLAlchemyError as exc:
        raise DemoError(f"cannot read the database: {error_reason(exc)}") from None
    finally:
        engine.dispose()


class _Demo:
    """One run of the demo: the network, the folder, the configuration and the report."""

    def __init__(
        self, network: ReplicaNetwork, workdir: Workdir, options: DemoOptions, out: Reporter
    ) -> None:
        self.network = network
        self.workdir = workdir
        self.options = options
        self.out = out
        network_config = network.config_dict(f"sqlite:///{DATABASE_NAME}", data_dir=DATA_DIR)
        write_config(workdir, demo_config(network_config))
        self.config = _load(workdir)
        # The hostile pages log the same warnings in every crawl; each is shown once.
        self._warned: set[str] = set()

    def show_sites(self) -> None:
        self.out.step(f"serving {len(self.network.sites)} replica sites (they stop when the demo ends):")
        width = max(len(name) for name in self.network.sites)
        for info in self.network.sites.values():
            self.out.detail(f"  {info.name:<{width}}  {info.kind:<16}  {info.base_url}/  {info.title}")

    def show_changes(self) -> None:
        cycle = self.network.advance()
        expected = self.network.expected
        added, edited, gone = expected.new(cycle), expected.changed(cycle), expected.gone(cycle)
        self.out.step(
            f"the sites changed: {len(added)} articles added, {len(edited)} edited, {len(gone)} taken down"
        )
        for mark, articles in (("+", added), ("~", edited), ("-", gone)):
            for article in articles:
                self.out.detail(f"  {mark} {article.site}: {article.title}{_how_gone(article)}")

    def crawl(self, number: int, purpose: str) -> CrawlSummary:
        self.out.step(f"crawl {number} of {CRAWLS}: {purpose}")
        log = self.workdir.crawl_log(number)
        requests = self.network.requests
        before = len(requests)
        shown = 0

        def progress(p: Progress) -> None:
            nonlocal shown
            for warning in p.warnings:
                if warning not in self._warned:
                    self._warned.add(warning)
                    self.out.detail(f"  ! {warning}")
            answered = requests.records()[before:]
            if len(answered) != shown:
                shown = len(answered)
                not_modified = sum(r.status == 304 for r in answered)
                self.out.step(
                    f"  … {len(answered)} requests answered so far ({not_modified} were 304 Not Modified)"
                )

        since = datetime.now(UTC)
        outcome = run_demo_crawl(
            self.workdir.config_path, log, time_limit=self.options.crawl_time_limit, on_progress=progress
        )
        until = datetime.now(UTC)
        error = outcome_error(outcome, self.workdir.display(log))
        if error is not None or outcome.report is None:
            raise DemoError(error or f"crawl {number} printed no report")
        report = outcome.report
        lines = source_lines(report)
        with _database(self.config) as session:
            alerts = alert_counts(session, since=since, until=until)
            stored = store_totals(session)
        summary = CrawlSummary(
            number,
            outcome.duration,
            int(report.get("requests", 0)),
            int(report.get("responses_304", 0)),
            CrawlTotals.of(lines),
            alerts,
        )
        self.out.step(summary.line())
        self.out.block(source_table(lines, indent=" " * 11))
        for line in error_lines(lines, indent=" " * 11 + "errors of "):
            self.out.block(line)
        self.out.detail(f"{store_line(stored)}; {alerts.line()}")
        return summary

    def wait_for_rechecks(self, since: datetime) -> None:
        """Wait until every article this demo found is due again: the wait doubles with its age."""
        with _database(self.config) as session:
            # Articles of an earlier demo (--keep) were served on other ports and are not linked now.
            due_times = [
                aware(page.next_check_at)
                for source in self.config.sources
                for page in known_pages(session, source.name).values()
                if page.status == "active"
                and page.next_check_at is not None
                and aware(page.first_seen) >= since
            ]
        wait = (max(due_times, default=datetime.now(UTC)) - datetime.now(UTC)).total_seconds()
        if wait > 0:
            self.out.step(
                f"waiting {wait:.1f}s until every known article is due for its next re-check "
                "(the wait doubles with an article's age)"
            )
            # The due time is a known instant, not a condition that could come sooner.
            time.sleep(wait)

    def missed_once(self, since: datetime) -> None:
        """Say which vanished pages a crawl missed once and keeps (a second miss withdraws them)."""
        with _database(self.config) as session:
            count = missed_pages(session, [s.name for s in self.config.sources], since=since)
        if count:
            self.out.detail(
                f"{count} pages answering 404/410 were missed once and stay active: "
                "a later crawl that misses them again withdraws them"
            )

    def digest(self, since: datetime) -> Digest:
        subscription = next(s for s in self.config.notify.subscriptions if s.name == SUBSCRIPTION)
        with _database(self.config) as session:
            digest = build_digest(session, self.config, subscription, since=since, until=datetime.now(UTC))
        if digest.is_empty:
            raise DemoError(
                "the crawls raised no alert, so the digest is empty; see the crawl logs in "
                + self.workdir.display(self.workdir.root)
            )
        text, html = render_text(digest), render_html(digest)
        try:
            self.workdir.digest_text.write_text(text, encoding="utf-8")
            self.workdir.digest_html.write_text(html, encoding="utf-8")
        except OSError as exc:
            raise DemoError(f"cannot write the digest: {exc.strerror or exc}") from None
        self.out.step(f'the digest of subscription "{subscription.name}", as its email\'s text part reads:')
        self.out.block("")
        self.out.block(text.rstrip("\n"))
        self.out.block("")
        self.out.step(f"HTML digest written to {self.workdir.display(self.workdir.digest_html)}")
        return digest

    def summary(self, crawls: list[CrawlSummary]) -> None:
        with _database(self.config) as session:
            stored = store_totals(session)
        self.out.step("summary of the crawls:")
        self.out.block(crawls_table(crawls, indent=" " * 11))
        self.out.detail(store_line(stored))
        config = self.workdir.display(self.workdir.config_path)
        self.out.detail("next: look at what was stored, and write a sources.yaml for your own county sites:")
        self.out.detail(f"  countywatch articles --config {config} --format table")
        self.out.detail(f"  countywatch status --config {config}")
        self.out.detail("  deploy/sources.example.yaml documents every key")
        self.out.detail(
            "open it in a browser: the changed notice with its diff, the withdrawn one, the stories"
        )
        self.out.detail("and the Atom feed (then open http://127.0.0.1:8730/):")
        self.out.detail(f"  countywatch serve --config {config}")


def _how_gone(article: ExpectedArticle) -> str:
    if article.gone_in is None:
        return ""
    if article.deleted_notice:
        return " (now a “该信息已删除” page)"
    return f" (now answers {article.gone_status})"


def run_demo(options: DemoOptions, echo: Echo) -> DemoResult:
    """Run the whole demo, printing as it goes; DemoError (one line) when a step fails."""
    out = Reporter(echo)
    workdir = prepare_workdir(options.workdir, keep=options.keep)
    kept = options.keep and workdir.database_path.exists()
    out.step(
        f"demo folder: {workdir.display(workdir.root)} "
        + ("(keeping the database of the previous demo)" if kept else "(fresh database)")
    )
    result = DemoResult(workdir)
    started = datetime.now(UTC)
    with _start_network(options.slow_seconds) as network:
        demo = _Demo(network, workdir, options, out)
        demo.show_sites()
        out.step(f"configuration written to {workdir.display(workdir.config_path)}")
        _migrate(demo.config)
        out.step(f"database ready: {workdir.display(workdir.database_path)}")
        result.crawls.append(demo.crawl(1, "first visit to every site"))
        demo.show_changes()
        demo.wait_for_rechecks(started)
        result.crawls.append(
            demo.crawl(2, "find what changed: conditional GETs, every known article re-checked")
        )
        demo.missed_once(started)
    result.digest = demo.digest(started)
    demo.summary(result.crawls)
    return result
