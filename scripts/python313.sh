#!/usr/bin/env bash
# Prints the path of a working Python 3.13 interpreter (PATH, pyenv, Debian), or nothing and exit 1.
for c in "$(command -v python3.13 || true)" "$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python3.13 \
         "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 /usr/bin/python3.13 /usr/local/bin/python3.13; do
  [ -n "$c" ] && [ -x "$c" ] && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null \
    && { echo "$c"; exit 0; }
done
exit 1
