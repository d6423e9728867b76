"""`ReplicaNetwork`: the local county-site network tests, the demo and benchmarks crawl.

    with ReplicaNetwork(slow_seconds=0.2) as net:
        config = config_from_dict(net.config_dict("sqlite:///test.db"))
        ...crawl...
        net.advance()          # cycle 2: one article changes, three disappear, two are new
        ...crawl again...
        assert not net.requests.records("offsite")

See the `replica` package docstring for the whole API and `replica.expected` for the ground truth.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Self

from replica import urls
from replica.catalog import SiteSpec, load_catalog
from replica.core import OFFSITE, NetworkCore, SiteInfo
from replica.expected import Expected, expected_article
from replica.server import RequestLog, RequestRecord

Catalog = Callable[[int], tuple[SiteSpec, ...]]


def replica_catalog(cycle: int) -> tuple[SiteSpec, ...]:
    """The hand-made network's sites (the same in every cycle; articles carry their own cycles)."""
    return load_catalog()


def _child_main(conn: Connection, catalog: Catalog, slow_seconds: float, cycle: int) -> None:
    core = NetworkCore(catalog, slow_seconds=slow_seconds, cycle=cycle)
    try:
        core.start()
    except Exception as exc:  # the parent reports it as a one-line error
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", core.sites, core.offsite_url, core.cycle))
    while True:
        try:
            command, args = conn.recv()
        except EOFError:  # the parent went away
            core.stop()
            return
        if command == "advance":
            conn.send(core.advance())
        elif command == "records":
            conn.send(core.log.records(*args))
        elif command == "clear":
            core.log.clear()
            conn.send(None)
        elif command == "stop":
            core.stop()
            conn.send(None)
            return


class RemoteRequestLog:
    """The request log of a network served by a child process (same methods as RequestLog)."""

    def __init__(self, call: Callable[..., Any]) -> None:
        self._call = call

    def records(self, site: str | None = None) -> list[RequestRecord]:
        """A snapshot of the records (of one site when `site` is given)."""
        result: list[RequestRecord] = self._call("records", site)
        return result

    def paths(self, site: str) -> list[str]:
        """The paths requested on `site`, in order."""
        return [r.path for r in self.records(site)]

    def clear(self) -> None:
        """Forget every record."""
        self._call("clear")

    def __len__(self) -> int:
        return len(self.records())

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.records())


class NetworkBase:
    """Start/stop, cycles and the request log, in this process or in a child process."""

    def __init__(self, catalog: Catalog, *, slow_seconds: float, cycle: int, in_process: bool) -> None:
        if slow_seconds < 0:
            raise ValueError(f"slow_seconds must not be negative, got {slow_seconds}")
        self._catalog = catalog
        self.slow_seconds = slow_seconds
        self._start_cycle = cycle
        self._in_process = in_process
        self._core: NetworkCore | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._conn_lock = threading.Lock()
        self._cycle = cycle
        self._log: RequestLog | RemoteRequestLog | None = None
        self.sites: dict[str, SiteInfo] = {}
        self.offsite_url = ""

    # lifecycle
    def start(self) -> Self:
        """Bind and start every site (idempotent)."""
        if self._log is not None:
            return self
        if self._in_process:
            core = NetworkCore(self._catalog, slow_seconds=self.slow_seconds, cycle=self._start_cycle)
            core.start()
            self._core, self._log = core, core.log
            self.sites, self.offsite_url = core.sites, core.offsite_url
            return self
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        process = ctx.Process(
            target=_child_main, args=(child, self._catalog, self.slow_seconds, self._start_cycle), daemon=True
        )
        process.start()
        child.close()
        try:
            reply = parent.recv()
        except EOFError:
            process.join(timeout=5)
            raise RuntimeError(
                f"replica network process exited with status {process.exitcode} before serving "
                "(a script starting it must guard its code with `if __name__ == '__main__':`)"
            ) from None
        if reply[0] == "error":
            process.join(timeout=5)
            raise RuntimeError(f"replica network did not start: {reply[1]}")
        _, self.sites, self.offsite_url, self._cycle = reply
        self._process, self._conn = process, parent
        self._log = RemoteRequestLog(self._call)
        return self

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._core is not None:
            self._core.stop()
            self._core = None
        if self._conn is not None and self._process is not None:
            with contextlib.suppress(EOFError, OSError):  # the child may already be gone
                self._call("stop")
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.terminate()
            self._conn.close()
            self._conn = self._process = None
        self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _call(self, command: str, *args: Any) -> Any:
        if self._conn is None:
            raise RuntimeError("the replica network is not running")
        with self._conn_lock:
            self._conn.send((command, args))
            return self._conn.recv()

    # state
    @property
    def cycle(self) -> int:
        """The current crawl cycle (1 after start)."""
        return self._core.cycle if self._core is not None else self._cycle

    @property
    def requests(self) -> RequestLog | RemoteRequestLog:
        """Every request answered so far: `.records(site=None)`, `.paths(site)`, `.clear()`."""
        if self._log is None:
            raise RuntimeError("the replica network is not running; use it as a context manager")
        return self._log

    def advance(self) -> int:
        """Move to the next cycle's content; returns the new cycle number."""
        if self._core is not None:
            return self._core.advance()
        self._cycle = int(self._call("advance"))
        return self._cycle

    def offsite_hits(self) -> list[RequestRecord]:
        """Requests that reached the off-domain host (a correct crawl makes none)."""
        return self.requests.records(OFFSITE)

    def _require_running(self) -> None:
        if not self.sites:
            raise RuntimeError("the replica network is not running; use it as a context manager")

    def config_dict(self, database_url: str, *, data_dir: str | None = None) -> dict[str, Any]:
        """A countywatch configuration with one source per site (valid for config_from_dict)."""
        self._require_running()
        sources = []
        for spec in self._catalog(self.cycle):
            info = self.sites[spec.name]
            sources.append(
                {
                    "name": spec.name,
                    "kind": spec.kind,
                    **({"region": spec.region} if spec.region else {}),
                    "start_urls": list(info.start_urls),
                    "feeds": list(info.feeds),
                    "sitemaps": list(info.sitemaps),
                    "allow": [],
                    "deny": [],
                    "max_pages": 10,
                    "schedule": "1h",
                }
            )
        config: dict[str, Any] = {
            "database": database_url,
            "sources": sources,
            "crawl": crawl_settings(self.slow_seconds),
        }
        if data_dir is not None:
            config["data_dir"] = data_dir
        return config

    @property
    def expected(self) -> Expected:
        """The ground truth of every cycle up to the current one (see replica.expected)."""
        self._require_running()
        specs = self._catalog(self.cycle)
        articles = tuple(
            expected_article(spec, self.sites[spec.name].base_url, a) for spec in specs for a in spec.articles
        )
        never = {s.name: (s.disallow + "index.html",) for s in specs if s.disallow}
        calendars = {
            s.name: self.sites[s.name].base_url + urls.CALENDAR_PATH + "?date=2024-04-19"
            for s in specs
            if s.calendar
        }
        return Expected(articles, never, self.offsite_url, calendars)


def crawl_settings(slow_seconds: float) -> dict[str, Any]:
    """The `crawl:` section for crawling loopback sites fast (the slow page still arrives)."""
    return {
        "download_delay": 0,
        "autothrottle": False,
        "concurrent_requests": 32,
        "concurrent_per_domain": 8,
        "timeout": slow_seconds + 10,
        "retries": 0,
        "http_cache": False,
    }


class ReplicaNetwork(NetworkBase):
    """The hand-made network: seven sites, the off-domain host, and every hostile case."""

    def __init__(self, *, slow_seconds: float = 3.0, cycle: int = 1, in_process: bool = True) -> None:
        super().__init__(replica_catalog, slow_seconds=slow_seconds, cycle=cycle, in_process=in_process)
