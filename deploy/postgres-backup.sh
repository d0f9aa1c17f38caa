#!/usr/bin/env bash
# Back up the interview database to one file (PostgreSQL's custom format, compressed).
#   deploy/postgres-backup.sh DATABASE_URL FILE
# DATABASE_URL as INTERVIEW_DATABASE_URL (postgresql+asyncpg://...) or libpq's postgresql://...
# pg_dump's major version must be at least the server's.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 DATABASE_URL FILE" >&2
  exit 2
fi
url="${1/postgresql+asyncpg:/postgresql:}"
pg_dump --format=custom --compress=6 --no-owner --no-privileges --dbname="$url" --file="$2"
# A file pg_restore cannot list is not a backup.
pg_restore --list "$2" >/dev/null
echo "backed up to $2 ($(wc -c <"$2") bytes)"
