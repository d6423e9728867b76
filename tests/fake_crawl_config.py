"""tests/fake_crawl.py preceded by what a real crawl does first: reading the configuration it is given.

Usage: fake_crawl_config.py DIR SOURCE CONFIG — exits 2 with the loader's message when CONFIG is
bad, else behaves as fake_crawl.py. A script of its own so the plain fake crawl stays quick to
start (the timing tests send it signals within half a second).
"""

from __future__ import annotations

import sys

from fake_crawl import main as fake_crawl

from core.config import ConfigError
from countywatch.config import load_config

if __name__ == "__main__":
    try:
        load_config(sys.argv[3])
    except ConfigError as exc:
        print(f"countywatch: {exc}", file=sys.stderr)
        sys.exit(2)
    del sys.argv[3]
    fake_crawl()
