#!/usr/bin/env bash
# Creates .venv with Python 3.11 and installs Leadgram (with dev tools when asked). Idempotent, fast with uv.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null 2>&1 || python3 -m pip install -q uv
PY=$(command -v python3.11 || command -v python3)
[ -x .venv/bin/python ] || uv venv -q .venv --python "$PY"
uv pip install -q --python .venv/bin/python -e ".${1:-}"
