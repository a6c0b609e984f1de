#!/usr/bin/env bash
# Installs Leadgram and starts it on embedded defaults: SQLite, in-process queue, demo Instagram data,
# offline scorer and, with no TELEGRAM_BOT_TOKEN, the terminal console against a local Telegram stand-in.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
if [ -n "${TELEGRAM_BOT_TOKEN:-}" ] || grep -qs '^TELEGRAM_BOT_TOKEN=.\+' .env; then
  exec .venv/bin/leadgram run "$@"
fi
exec .venv/bin/leadgram console "$@"
