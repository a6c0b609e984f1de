#!/usr/bin/env bash
# Installs everything, starts PostgreSQL and Redis if needed, then lint, type-check and the whole test suite.
# With LEADGRAM_PYTHON=/path/to/python3.13 UV_PROJECT_ENVIRONMENT=.venv-3.13 it tests under that Python instead.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${UV_PROJECT_ENVIRONMENT:-.venv}
bash scripts/install.sh "[dev]" || exit 1
bash scripts/services.sh || exit 1
"$VENV/bin/ruff" check . || exit 1
"$VENV/bin/mypy" core bot workers leadgram || exit 1
"$VENV/bin/python" -m pytest -q "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi
exit "$rc"
