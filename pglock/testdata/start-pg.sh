#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for pglock's tests, on 127.0.0.1, and
# prints the settings that the tests (and psql) read, as shell exports:
#
#   eval "$(pglock/testdata/start-pg.sh /tmp/pg)"    # start; DIR is created
#   pglock/testdata/start-pg.sh stop /tmp/pg          # stop, and remove DIR
#
# It installs PostgreSQL from Debian when it is missing. Run as root, it runs
# the server as the postgres user, as the server refuses to run as root.
set -euo pipefail

as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if [ "${1:-}" = stop ]; then
  dir=${2:?usage: start-pg.sh stop DIR}
  bin=$(pg_bin)
  [ -d "$dir/data" ] && as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  rm -rf "$dir"
  exit 0
fi

dir=${1:?usage: start-pg.sh DIR}
bin=$(pg_bin)
if [ -z "$bin" ]; then
  echo "start-pg.sh: installing PostgreSQL from Debian" >&2
  sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq >&2 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends postgresql >&2
  bin=$(pg_bin)
fi
"$bin/postgres" --version >&2

mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
fi
as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }

# A free port: one that nothing accepts on.
port=
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    port=$p
    break
  fi
done
[ -n "$port" ] || { echo "start-pg.sh: no free port" >&2; exit 1; }

as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >&2 ||
  { cat "$dir/server.log" >&2; exit 1; }

echo "export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres"
