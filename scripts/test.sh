#!/usr/bin/env bash
# Install everything and run the whole test suite: lint and types, every server test
# on the embedded defaults (SQLite + in-process live store) and again on
# PostgreSQL + Redis (started here if installed but stopped), the client's unit and
# contract tests, and the browser end-to-end tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_python_env
ensure_client_deps
# flite speaks and sox resamples the spoken answers of the voice tests; nginx runs the shipped
# proxy configuration and pg_dump the backup runbook in tests/deploy.
ensure_apt_packages chromium:chromium chromedriver:chromium-driver curl:curl flite:flite sox:sox \
  nginx:nginx pg_dump:postgresql-client \
  || [ "${CI:-}" != "true" ]

say "ruff"
"$PYTHON_VENV/bin/ruff" check server tests migrations deploy
"$PYTHON_VENV/bin/ruff" format --check server tests migrations deploy
say "mypy --strict server"
"$PYTHON_VENV/bin/mypy" server

say "compose.yaml"
if ensure_apt_packages docker-compose:docker-compose; then
  INTERVIEW_JWT_SECRET=validation-only docker-compose -f compose.yaml config -q
elif [ "${CI:-}" = "true" ]; then
  exit 1
fi

say "Tests on the embedded defaults (SQLite + in-process live store)"
TEST_BACKEND=embedded "$PYTHON_VENV/bin/pytest" "$@"

if ensure_services; then
  say "Tests on PostgreSQL + Redis"
  TEST_BACKEND=services "$PYTHON_VENV/bin/pytest" "$@"
else
  warn "PostgreSQL (127.0.0.1:5432) or Redis (127.0.0.1:6379) is not reachable:"
  warn "the PostgreSQL + Redis pass of the suite did NOT run."
  warn "Set TEST_POSTGRES_DSN / TEST_REDIS_URL, or install and start both, then rerun."
  if [ "${CI:-}" = "true" ]; then exit 1; fi
fi
say "Client: types, unit and contract tests, build"
(cd client && npm run typecheck && npm test && npm run build)

if command -v chromium >/dev/null 2>&1 || [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  bash scripts/e2e.sh
else
  warn "Chromium is not installed: the browser end-to-end tests did NOT run (apt-get install chromium)."
  if [ "${CI:-}" = "true" ]; then exit 1; fi
fi
say "All tests passed."
