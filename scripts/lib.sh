# Shared steps of scripts/run.sh and scripts/test.sh (sourced, not executed).

PYTHON_VENV="$(pwd)/.venv"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33m!!  %s\033[0m\n' "$*" >&2; }

find_python() {
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "Python 3.11 or newer is required (python3.11 not found)." >&2
  return 1
}

ensure_python_env() {
  if [ ! -x "$PYTHON_VENV/bin/python" ]; then
    say "Creating $PYTHON_VENV"
    "$(find_python)" -m venv "$PYTHON_VENV"
  fi
  say "Installing the server and its development tools"
  "$PYTHON_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$PYTHON_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
}

ensure_client_deps() {
  [ -f client/package.json ] || return 0
  command -v npm >/dev/null 2>&1 || { echo "Node.js 20 and npm are required for the client." >&2; return 1; }
  say "Installing client dependencies"
  (cd client && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi)
}

build_client() {
  [ -f client/package.json ] || return 0
  ensure_client_deps
  say "Building the client"
  (cd client && npm run build)
}

postgres_up() { "$PYTHON_VENV/bin/python" - <<'PY'
import asyncio, os, sys
import asyncpg
async def main() -> None:
    conn = await asyncio.wait_for(asyncpg.connect(os.environ.get(
        "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")), 5)
    await conn.close()
try:
    asyncio.run(main())
except Exception:
    sys.exit(1)
PY
}

redis_up() { "$PYTHON_VENV/bin/python" - <<'PY'
import os, sys
import redis
try:
    redis.Redis.from_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
                         socket_timeout=3).ping()
except Exception:
    sys.exit(1)
PY
}

# Start PostgreSQL and Redis when they are installed but not running.
ensure_services() {
  if ! postgres_up && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    say "Starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 30); do postgres_up && break; sleep 1; done
  fi
  if ! redis_up && command -v redis-server >/dev/null 2>&1; then
    say "Starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
    for _ in $(seq 1 30); do redis_up && break; sleep 1; done
  fi
  postgres_up && redis_up
}

# Install Debian packages when missing, if this machine allows it (root + apt-get).
ensure_apt_packages() {
  local missing=()
  for spec in "$@"; do
    local cmd="${spec%%:*}" pkg="${spec#*:}"
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing ${missing[*]}"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    warn "Missing ${missing[*]}; install with your package manager."
    return 1
  fi
}
