#!/usr/bin/env bash
# Installs countywatch and its pinned dependencies into .venv at the repository root.
# Idempotent: a second run only checks that everything is in place.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "countywatch needs Python 3.11 (found $("$python" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=.venv/.countywatch-installed
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)${1:-}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    # An old pip mis-resolves lxml's extras; a current one does not.
    .venv/bin/python -m pip install --quiet --upgrade "pip>=25"
    extras=""
    [ "${1:-}" = "dev" ] && extras="[dev]"
    .venv/bin/python -m pip install --quiet -c constraints.txt -e ".${extras}"
    echo "$want" > "$stamp"
fi
