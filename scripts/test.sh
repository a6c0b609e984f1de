#!/usr/bin/env bash
# Installs everything, starts PostgreSQL and Redis if needed, then lint, type-check and the whole test suite.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh "[dev]" || exit 1
bash scripts/services.sh || exit 1
.venv/bin/ruff check . || exit 1
.venv/bin/mypy core bot workers leadgram || exit 1
.venv/bin/python -m pytest -q "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi
exit "$rc"
