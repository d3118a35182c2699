#!/usr/bin/env bash
# The pinned Python requirements in .venv: all that make lint and make unit need (no Go, no apt,
# no cluster). Repeat runs take no time: a stamp names the requirements installed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "Python 3.11+ is needed (found $("$python" --version))" >&2; exit 1; }
if [ ! -x "$repo/.venv/bin/python" ]; then
  "$python" -m venv "$repo/.venv"
fi
stamp="$repo/.venv/.requirements-$(cat "$repo/requirements.txt" "$repo/requirements-dev.txt" "$repo/pyproject.toml" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$repo/.venv/bin/pip" install -q --upgrade pip
  "$repo/.venv/bin/pip" install -q -r "$repo/requirements-dev.txt"
  "$repo/.venv/bin/pip" install -q --no-deps -e "$repo"
  rm -f "$repo"/.venv/.requirements-*; touch "$stamp"
fi
