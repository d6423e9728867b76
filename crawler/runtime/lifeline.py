"""Helper processes that die with the crawl process that started them.

The extraction workers and the store writer are children of multiprocessing's fork server, not of
the crawl, and each holds the fork server's "alive" pipe, so none notices on its own when a crawl
is SIGKILLed: they would linger (holding the crawl's stdout, which a supervising daemon reads to
EOF) until the crawl's time limit. A thread in each waits on a pidfd of the crawl process instead.
"""

from __future__ import annotations

import os
import resource
import select
import threading


def die_with(parent: int) -> None:
    """Exit this process as soon as process `parent` is gone; never dump core."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        pidfd = os.pidfd_open(parent)
    except ProcessLookupError:
        os._exit(1)
    threading.Thread(target=_wait_and_exit, args=(pidfd,), name="parent-watch", daemon=True).start()


def _wait_and_exit(pidfd: int) -> None:
    select.select([pidfd], [], [])  # readable once the process has exited
    os._exit(1)
