#!/usr/bin/env bash
# Creates .venv with Python 3.11 and installs Leadgram (with dev tools when asked). Idempotent, fast with uv.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null 2>&1 || python3 -m pip install -q uv
PY=$(command -v python3.11 || command -v python3)
[ -x .venv/bin/python ] || uv venv -q .venv --python "$PY"
# --compile-bytecode: write .pyc at install time. Some machines set PYTHONDONTWRITEBYTECODE, and without cached
# bytecode every `leadgram` process recompiles aiogram's ~400 models (~20 s per start instead of ~1 s).
uv pip install -q --compile-bytecode --python .venv/bin/python -e ".${1:-}"
# Also covers a venv installed before (uv skips satisfied packages); compileall skips what is up to date.
.venv/bin/python -m compileall -q -j 0 .venv/lib/python3.11/site-packages >/dev/null 2>&1 || true
