#!/usr/bin/env bash
# Installs and starts a local PostgreSQL for the tests, idempotently: Debian's packages, the
# default cluster, trust authentication on loopback, and a database `test` at
# 127.0.0.1:5432 (user postgres). Safe to run again on a machine where it already ran.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v pg_createcluster >/dev/null; then
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
fi

version="$(ls -d /usr/lib/postgresql/*/bin/postgres | cut -d/ -f5 | sort -V | tail -1)"
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
  pg_createcluster "$version" main >/dev/null
fi
conf="/etc/postgresql/$version/main"

# Trust on loopback (a throwaway test server), and listen on it.
if ! grep -q '^# herald-ci' "$conf/pg_hba.conf"; then
  {
    echo '# herald-ci: trust on loopback for the test suite'
    echo 'local all all trust'
    echo 'host all all 127.0.0.1/32 trust'
    echo 'host all all ::1/128 trust'
    cat "$conf/pg_hba.conf"
  } > "$conf/pg_hba.conf.new"
  mv "$conf/pg_hba.conf.new" "$conf/pg_hba.conf"
  chown postgres:postgres "$conf/pg_hba.conf"
fi
# Enough connections for the tests' parallel fresh databases; fsync stays on.
printf "listen_addresses = '127.0.0.1'\nport = 5432\nmax_connections = 300\n" > "$conf/conf.d/herald-ci.conf"

if pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
  pg_ctlcluster "$version" main reload
  # max_connections needs a restart to change; only restart when it differs.
  if [ "$(psql -h 127.0.0.1 -U postgres -Atc 'show max_connections' 2>/dev/null || true)" != "300" ]; then
    pg_ctlcluster "$version" main restart
  fi
else
  # A cluster that was not shut down cleanly replays its log first, which can take minutes
  # on a slow disk: wait for that instead of pg_ctl's default minute.
  pg_ctlcluster "$version" main start -- -t 600
fi

for _ in $(seq 1 50); do
  if pg_isready -q -h 127.0.0.1 -p 5432; then break; fi
  sleep 0.2
done
pg_isready -h 127.0.0.1 -p 5432
if [ "$(psql -h 127.0.0.1 -U postgres -Atc "select 1 from pg_database where datname = 'test'")" != "1" ]; then
  psql -h 127.0.0.1 -U postgres -qc 'create database test'
fi
psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null
echo "PostgreSQL $version ready at 127.0.0.1:5432 (database test)"
