#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL cluster on 127.0.0.1 in a temp dir.
# The cluster's URL is exported as WEIXI_TEST_PG_URL; the cluster is stopped and removed on exit.
# Without PostgreSQL binaries the command runs anyway and the PostgreSQL tests are skipped,
# unless WEIXI_REQUIRE_PG=1 (set in CI), which makes a missing server an error.
set -euo pipefail

pg_bin=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && pg_bin="$d"
done
if [ -z "$pg_bin" ]; then
  if [ "${WEIXI_REQUIRE_PG:-0}" = "1" ]; then
    echo "with-postgres: no PostgreSQL server binaries (run 'make postgres' to install them)" >&2
    exit 1
  fi
  echo "with-postgres: PostgreSQL not installed; PostgreSQL tests will be skipped" >&2
  exec "$@"
fi

tmp=$(mktemp -d /tmp/weixi-pg.XXXXXX)
chmod 755 "$tmp"
run_as=()
if [ "$(id -u)" = "0" ]; then
  # initdb refuses to run as root: the cluster belongs to the postgres system user.
  chown postgres "$tmp"
  run_as=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')

cleanup() {
  "${run_as[@]}" "$pg_bin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"${run_as[@]}" "$pg_bin/initdb" -D "$tmp/data" -U weixi --auth=trust -E UTF8 --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1 \
  || { cat "$tmp/initdb.log" >&2; exit 1; }
"${run_as[@]}" "$pg_bin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp -c max_connections=100 -c fsync=off" start >/dev/null \
  || { cat "$tmp/server.log" >&2; exit 1; }
"${run_as[@]}" "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U weixi weixi_test

export WEIXI_TEST_PG_URL="postgresql+psycopg://weixi@127.0.0.1:$port/weixi_test"
echo "with-postgres: throwaway cluster at 127.0.0.1:$port" >&2
set +e
"$@"
status=$?
set -e
exit $status
