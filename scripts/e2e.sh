#!/usr/bin/env bash
# Browser end-to-end tests: build the client, start a real server that serves it
# (PostgreSQL + Redis when reachable, else the embedded defaults) with the offline
# interviewer, and drive Debian's Chromium through it. Used by scripts/test.sh.
# Arguments go to vitest (e.g. `bash scripts/e2e.sh e2e/takeover.e2e.ts`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

work=$(mktemp -d)
port=$("$PYTHON_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
db=""
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  if [ -n "$db" ]; then
    "$PYTHON_VENV/bin/python" - "$db" <<'PY' || true
import asyncio, sys, asyncpg
async def main() -> None:
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    await conn.execute(f'DROP DATABASE IF EXISTS "{sys.argv[1]}" WITH (FORCE)')
    await conn.close()
asyncio.run(main())
PY
  fi
  rm -rf "$work"
}
trap cleanup EXIT

export INTERVIEW_DATA_DIR="$work/data"
export INTERVIEW_CLIENT_DIST="$PWD/client/dist"
export INTERVIEW_OFFLINE_PACE_MS=5
export INTERVIEW_REGISTER_LIMIT_PER_IP=10000
export INTERVIEW_LOGIN_LIMIT_PER_IP=10000
export INTERVIEW_JWT_SECRET="e2e-only-secret-$(date +%s%N)-0123456789abcdef"
# The takeover tests start (and kill) interview processes of their own, on the same stores.
export E2E_INTERVIEW_BIN="${E2E_INTERVIEW_BIN:-$PYTHON_VENV/bin/interview}"
if postgres_up && redis_up; then
  db="interview_e2e_$$"
  "$PYTHON_VENV/bin/python" - "$db" <<'PY'
import asyncio, sys, asyncpg
async def main() -> None:
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    await conn.execute(f'CREATE DATABASE "{sys.argv[1]}"')
    await conn.close()
asyncio.run(main())
PY
  export INTERVIEW_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/$db"
  export INTERVIEW_REDIS_URL="redis://127.0.0.1:6379/0"
  export INTERVIEW_REDIS_KEY_PREFIX="e2e:$$:"
  "$PYTHON_VENV/bin/interview" migrate
  say "End-to-end in Chromium against PostgreSQL + Redis"
else
  say "End-to-end in Chromium against the embedded defaults"
fi
(cd "$work" && exec "$PYTHON_VENV/bin/interview" serve --port "$port" --migrate > "$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/server.log"; exit 1; }
(cd client && E2E_BASE_URL="http://127.0.0.1:$port" npm run e2e -- "$@") || { tail -50 "$work/server.log"; exit 1; }
if [ -n "${INTERVIEW_REDIS_KEY_PREFIX:-}" ]; then
  redis-cli --scan --pattern "${INTERVIEW_REDIS_KEY_PREFIX}*" 2>/dev/null | xargs -r redis-cli del >/dev/null 2>&1 || true
fi
