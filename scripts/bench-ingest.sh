#!/usr/bin/env bash
# Ingest benchmark (prints figures; not a timed test): stores N synthetic price days (~2,800 rows each) through
# galaxy's write path (new days, then the same days again) and compares with `psql \copy` of the same rows into an
# empty table of the same shape, on a private PostgreSQL cluster started (and stopped) here, with a release build.
# The comparison runs --repeat times (default 3), alternating which side goes first; each run prints its ratio and
# the CPU per day of galaxy-bench and of its server backend (load from other builds stretches wall time, not CPU).
#
#   scripts/bench-ingest.sh [--days N] [--rows R] [--repeat K]      (defaults: 50 days × 2,800 rows, 3 runs)
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
