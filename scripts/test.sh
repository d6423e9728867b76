#!/usr/bin/env bash
# Installs everything (Python packages, and the PostgreSQL, Redis, SMTP-free test services and
# Chromium the tests use) and runs the whole suite: ruff, mypy, import contracts, pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh dev
bash scripts/system-packages.sh
# shellcheck source=/dev/null
source scripts/services.sh
start_services
trap stop_services EXIT
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python -m pytest -n 2 "$@"
