#!/usr/bin/env bash
# A private PostgreSQL cluster in a directory of its own, for tests, the demo and benchmarks.
#
#   scripts/pg-cluster.sh start DIR   creates (if needed) and starts it; prints its libpq URL on stdout
#   scripts/pg-cluster.sh stop DIR    stops it (fast shutdown); silent when it is not running
#   scripts/pg-cluster.sh url DIR     prints the URL of a running cluster
#
# The cluster listens on a Unix socket in DIR (trust for local connections) and on 127.0.0.1:PORT, where
# passwords are checked (scram-sha-256), so tests can exercise authentication failures too.
# initdb refuses to run as root, so the server runs as the `postgres` user when we are root.
set -euo pipefail

command=${1:?usage: pg-cluster.sh start|stop|url DIR}
dir=${2:?usage: pg-cluster.sh start|stop|url DIR}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -n "$bindir" ]] || { echo "PostgreSQL server binaries not found: run scripts/install-deps.sh" >&2; exit 1; }

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

url() { echo "postgresql:///postgres?host=$dir&port=$(cat "$dir/port")&user=postgres"; }

case "$command" in
start)
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
            { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    # A free TCP port (ask the kernel), or GALAXY_PG_PORT to come back on the same one after a stop.
    port=${GALAXY_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
    echo "$port" >"$dir/port"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" >/dev/null ||
        { cat "$dir/server.log" >&2; exit 1; }
    url
    ;;
stop)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
url)
    url
    ;;
*)
    echo "usage: pg-cluster.sh start|stop|url DIR" >&2
    exit 2
    ;;
esac
