#!/usr/bin/env bash
# Creates the venv (.venv, or $UV_PROJECT_ENVIRONMENT) and installs Leadgram from uv.lock, exactly the locked
# versions. `--locked`: nothing is re-resolved, and a uv.lock that no longer matches pyproject.toml is an error
# (run `uv lock` and commit it), never silently ignored. `install.sh "[dev]"` adds the test and lint tools.
# Python: $LEADGRAM_PYTHON, else python3.11, else python3 (3.11–3.13 supported). Idempotent, fast with uv.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null 2>&1 || python3 -m pip install -q uv
PY=${LEADGRAM_PYTHON:-$(command -v python3.11 || command -v python3)}
case "${1:-}" in
  "") extras=() ;;
  "[dev]") extras=(--extra dev) ;;
  *) echo "install.sh: unknown extra '$1' (use \"[dev]\" or nothing)" >&2; exit 2 ;;
esac
# --inexact: installing without [dev] (scripts/run.sh) keeps the dev tools a developer installed before.
# --compile-bytecode: write .pyc at install time. Some machines set PYTHONDONTWRITEBYTECODE, and without cached
# bytecode every `leadgram` process recompiles aiogram's ~400 models (~20 s per start instead of ~1 s).
uv sync -q --locked --inexact --compile-bytecode --python "$PY" "${extras[@]}"
VENV=${UV_PROJECT_ENVIRONMENT:-.venv}
# Also covers a venv installed before (uv skips satisfied packages); compileall skips what is up to date.
"$VENV/bin/python" -m compileall -q -j 0 "$VENV"/lib/python3.*/site-packages >/dev/null 2>&1 || true
