#!/usr/bin/env bash
# Install everything and run the app on its embedded defaults (SQLite, in-process
# live store, offline interviewer): no key and no database server needed.
# Extra arguments go to `interview serve` (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_python_env
build_client
say "Open http://127.0.0.1:${PORT:-8000} (API docs at /docs)"
exec "$PYTHON_VENV/bin/interview" serve --port "${PORT:-8000}" "$@"
