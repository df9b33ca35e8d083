#!/usr/bin/env bash
# Collector benchmark (prints figures; not a timed test): one year of `price` (~250 trading days, every calendar
# day asked) from krx-sim with no rate limit, through galaxy-collector's whole path (libcurl → strict parser → COPY
# into a temp table → upsert → ledger, one transaction per day), beside the `psql \copy` baseline of the same rows
# into an empty table of the same shape, in the same run. Release build, private PostgreSQL cluster and simulator,
# all started (and stopped) here.
#
#   scripts/bench-collect.sh [YEAR]        (default 2023)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d /opt/swift/usr/bin ]] && export PATH="/opt/swift/usr/bin:$PATH"
year=${1:-2023}
[[ "$year" =~ ^[0-9]{4}$ ]] || { echo "usage: $0 [YEAR]" >&2; exit 64; }

scripts/install-deps.sh >&2

echo "==> building galaxy-collector and krx-sim (release)" >&2
swift build -c release --product galaxy-collector >&2
swift build -c release --product krx-sim >&2
bin=$(swift build -c release --show-bin-path)

work=$(mktemp -d /tmp/galaxy-bench-collect.XXXXXX)
chmod 755 "$work"
sim_pid=""
cleanup() {
    [[ -n "$sim_pid" ]] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null || true
    scripts/pg-cluster.sh stop "$work/pg" || true
    rm -rf "$work"
}
trap cleanup EXIT

url=$(scripts/pg-cluster.sh start "$work/pg")
echo "==> PostgreSQL at $url" >&2

# krx-sim prints its base URL as the first line on stdout.
mkfifo "$work/sim.out"
# Not --quiet: its per-request log (ms=…) says how much of the fetch time is the simulator rendering answers.
"$bin/krx-sim" --port 0 --today "$((year + 1))-01-15" >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
exec 3<"$work/sim.out"
read -r -t 60 sim_url <&3 || { echo "krx-sim did not start:" >&2; cat "$work/sim.err" >&2; exit 1; }
echo "==> krx-sim at $sim_url" >&2

now() { date +%s%N; }  # nanoseconds
seconds_between() { python3 -c "print(($2 - $1) / 1e9)"; }
export GALAXY_DATABASE_URL="$url" GALAXY_PORTAL_URL="$sim_url" GALAXY_OPENAPI_URL="$sim_url" GALAXY_RATE=0
export GALAXY_SOURCE=portal GALAXY_LOG_LEVEL=warning
"$bin/galaxy-collector" stock --date "$year-12-31" --migrate >&2  # schema (not timed)
curl -fsS -X POST "$sim_url/_sim/stats/reset" >/dev/null

echo "==> galaxy-collector price --from $year-01-01 --to $year-12-31 (GALAXY_RATE=0)" >&2
start=$(now)
GALAXY_LOG_LEVEL=info "$bin/galaxy-collector" price --from "$year-01-01" --to "$year-12-31" 2>"$work/collector.log"
end=$(now)
# The collector's own split: time in fetch (HTTP + simulator + JSON parsing) and in the day transactions.
finished=$(grep "collector finished" "$work/collector.log" | tail -n 1)
fetch_seconds=$(sed -n 's/.*fetchSeconds=\([0-9.]*\).*/\1/p' <<<"$finished")
store_seconds=$(sed -n 's/.*storeSeconds=\([0-9.]*\).*/\1/p' <<<"$finished")
collect_seconds=$(seconds_between "$start" "$end")

sim_seconds=$(grep 'route=portal/MDCSTAT01501' "$work/sim.err" | grep -o ' ms=[0-9.]*' | sed 's/ ms=//' |
    python3 -c 'import sys; print(sum(float(line) for line in sys.stdin) / 1000)')
requests=$(curl -fsS "$sim_url/_sim/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
psql_q() { psql "$url" -XAtq -v ON_ERROR_STOP=1 "$@"; }
rows=$(psql_q -c "SELECT count(*) FROM prices WHERE date BETWEEN '$year-01-01' AND '$year-12-31'")
days=$(psql_q -c "SELECT count(*) FILTER (WHERE status = 'collected') || ' collected, ' ||
                         count(*) FILTER (WHERE status = 'no_session') || ' no_session, ' ||
                         count(*) FILTER (WHERE status = 'failed') || ' failed'
                  FROM collection_days WHERE dataset = 'price'")

echo "==> baseline: psql \\copy of the same rows into an empty table of the same shape" >&2
columns="ticker, date, isin, name, market, open, high, low, close, change, change_rate, change_code, volume, value,
         market_cap, shares"
psql_q -c "\\copy (SELECT $columns FROM prices WHERE date BETWEEN '$year-01-01' AND '$year-12-31') TO '$work/prices.copy'"
psql_q -c "CREATE TABLE prices_baseline (LIKE prices INCLUDING ALL)"
start=$(now)
psql_q -c "\\copy prices_baseline ($columns) FROM '$work/prices.copy'"
end=$(now)
copy_seconds=$(seconds_between "$start" "$end")
copied=$(psql_q -c "SELECT count(*) FROM prices_baseline")

python3 - "$year" "$rows" "$requests" "$collect_seconds" "$copied" "$copy_seconds" "$days" "$fetch_seconds" \
    "$store_seconds" "$sim_seconds" <<'PY'
import sys
year, rows, requests, seconds, copied, copy_seconds, days, fetch, store, simulator = sys.argv[1:]
simulator = float(simulator or 0)
fetch, store = float(fetch or 0), float(store or 0)
rows, requests, copied = int(rows), int(requests), int(copied)
seconds, copy_seconds = float(seconds), float(copy_seconds)
print(f"price {year}: {days}")
print(f"galaxy-collector: {rows:,} rows, {requests} requests in {seconds:.2f} s "
      f"= {rows / seconds:,.0f} rows/s, {requests / seconds:.1f} requests/s")
if store > 0:
    print(f"  of which fetching (HTTP, simulator, JSON parsing): {fetch:.2f} s = {requests / fetch:.1f} requests/s; "
          f"storing (COPY to temp, upsert, ledger; one transaction per day): {store:.2f} s = {rows / store:,.0f} rows/s")
    print(f"  the simulator itself spent {simulator:.2f} s rendering the {requests} answers "
          f"({simulator / fetch * 100:.0f}% of the fetch time)")
print(f"psql \\copy baseline: {copied:,} rows in {copy_seconds:.2f} s = {copied / copy_seconds:,.0f} rows/s")
print(f"ratio: the collector stores at {rows / seconds / (copied / copy_seconds) * 100:.1f}% of \\copy's row rate "
      f"(\\copy is {copied / copy_seconds / (rows / seconds):.1f}x faster; it parses no JSON, waits on no HTTP, "
      f"and writes no ledger)")
if store > 0:
    print(f"write path alone: {rows / store / (copied / copy_seconds) * 100:.1f}% of \\copy's row rate")
PY
