#!/usr/bin/env bash
# Start Debian's PostgreSQL cluster on 127.0.0.1 and create the test database; prints its URL.
set -euo pipefail
# Only the URL goes to stdout (the caller captures it); every tool's chatter, such as pg_ctlcluster's
# "Removed stale pid file.", goes to stderr.
exec 3>&1 1>&2
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
pg_lsclusters -h | grep -q "^$version main" || pg_createcluster "$version" main >/dev/null
# 3>&-: the server must not hold the caller's capture pipe open, or $(.ci/postgres.sh) never returns.
pg_ctlcluster "$version" main start 3>&- 2>/dev/null || true
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -q && break; sleep 1; done
su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_roles WHERE rolname='reidlab'\"" | grep -q 1 || su postgres -c "psql -q -c \"CREATE ROLE reidlab LOGIN PASSWORD 'reidlab' CREATEDB\""
su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_database WHERE datname='reidlab_test'\"" | grep -q 1 || su postgres -c "createdb -O reidlab reidlab_test"
echo "postgresql://reidlab:reidlab@127.0.0.1:5432/reidlab_test" >&3
