#!/usr/bin/env bash
# Ingest benchmark (prints figures; not a timed test): upserts N synthetic price days (~2,800 rows each) through
# galaxy's write path and compares with `psql \copy` of the same rows into an empty table of the same shape, on a
# private PostgreSQL cluster started (and stopped) here, with a release build.
#
#   scripts/bench-ingest.sh [--days N] [--rows R]      (defaults: 50 days × 2,800 rows)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d /opt/swift/usr/bin ]] && export PATH="/opt/swift/usr/bin:$PATH"

scripts/install-deps.sh

echo "==> building galaxy-bench (release)" >&2
swift build -c release --product galaxy-bench >&2
bench="$(swift build -c release --show-bin-path)/galaxy-bench"

pgdir=$(mktemp -d /tmp/galaxy-bench-pg.XXXXXX)
cleanup() { scripts/pg-cluster.sh stop "$pgdir"; rm -rf "$pgdir"; }
trap cleanup EXIT
url=$(scripts/pg-cluster.sh start "$pgdir")
echo "==> PostgreSQL at $url" >&2

args=("$@")
[[ " ${args[*]-} " == *" --days "* ]] || args+=(--days 50)
"$bench" ingest --database-url "$url" "${args[@]}"
