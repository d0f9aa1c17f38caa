#!/usr/bin/env bash
# Restore a backup made by postgres-backup.sh into an EMPTY database (create it first:
# createdb, or CREATE DATABASE). One transaction: on any error nothing is restored.
#   deploy/postgres-restore.sh DATABASE_URL FILE
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 DATABASE_URL FILE" >&2
  exit 2
fi
url="${1/postgresql+asyncpg:/postgresql:}"
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$url" "$2"
echo "restored $2"
