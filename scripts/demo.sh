#!/usr/bin/env bash
# The demo (the README's first command): on a fresh Debian machine with Swift, installs what is missing, builds,
# starts a private PostgreSQL, the KRX simulator (krx-sim) and galaxyd in dev mode, then drives them with galaxyctl:
# a backfill with live progress, a daily run, `galaxyctl status`, then `galaxyctl coverage` (the ledger as a calendar)
# and `galaxyctl check` and `galaxyctl metrics` (monitoring). Everything it started is stopped on exit
# (Ctrl-C included) unless --keep is given.
#
#   scripts/demo.sh                 release build, backfill of last year and this one (price, etf_price)
#   scripts/demo.sh --debug         the same with a debug build (faster to build, slower to run)
#   scripts/demo.sh --quick         CI's short variant: scripts/test.sh's debug build, this year's price only,
#                                   a smaller simulated market
#   scripts/demo.sh --keep          leave PostgreSQL, krx-sim and galaxyd running and say how to stop them
#   scripts/demo.sh --start-year N  backfill from N instead
#
# Exit status: 0 when every run succeeded, 1 when a run failed (the demo still shows the status), 2 for bad
# arguments, other values when a step could not start (its log is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d /opt/swift/usr/bin ]] && export PATH="/opt/swift/usr/bin:$PATH"

configuration=release
quick=0
keep=0
start_year=$(($(date +%Y) - 1))
datasets=()
while (($#)); do
    case "$1" in
    --debug) configuration=debug ;;
    --quick) quick=1 configuration=debug ;;
    --keep) keep=1 ;;
    --start-year)
        start_year=${2:?--start-year needs a year}
        shift
        ;;
    -h | --help)
        sed -n '2,15s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        echo "demo.sh: unknown argument '$1' (see scripts/demo.sh --help)" >&2
        exit 2
        ;;
    esac
    shift
done
sim_market=()
if ((quick)); then
    start_year=$(date +%Y)
    datasets=(--dataset price)
    sim_market=(--stocks 200 --etfs 50) # a smaller market: the same requests, a tenth of the rows
fi

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
if [[ ! -t 1 ]]; then step() { printf '\n==> %s\n' "$*"; }; fi

step "installing missing packages"
scripts/install-deps.sh

# Everything the demo makes lives here (short path: a Unix socket address must fit in 107 bytes).
work=$(mktemp -d /tmp/galaxy-demo.XXXXXX)
chmod 755 "$work" # the PostgreSQL server runs as `postgres` when we are root and must reach its directory
sim_pid=
daemon_pid=

stop_all() {
    if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$daemon_pid" 2>/dev/null || true
    fi
    if [[ -n "$sim_pid" ]] && kill -0 "$sim_pid" 2>/dev/null; then
        kill -TERM "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    scripts/pg-cluster.sh stop "$work/pg"
}

on_exit() {
    local status=$?
    if ((keep)) && ((status == 0 || status == 1)); then
        cat >"$work/stop.sh" <<EOF
#!/usr/bin/env bash
# Stops what scripts/demo.sh --keep left running and removes its files.
kill -TERM $daemon_pid $sim_pid 2>/dev/null
while kill -0 $daemon_pid 2>/dev/null; do sleep 0.1; done
"$PWD/scripts/pg-cluster.sh" stop "$work/pg"
rm -rf "$work"
EOF
        chmod +x "$work/stop.sh"
        step "still running (--keep)"
        echo "galaxyd pid $daemon_pid, krx-sim pid $sim_pid, PostgreSQL in $work/pg"
        echo "stop everything and remove $work with:"
        echo "  $work/stop.sh"
    else
        step "stopping galaxyd, krx-sim and PostgreSQL"
        stop_all
        rm -rf "$work"
        echo "stopped; nothing is left running"
    fi
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

step "building ($configuration; the first build takes a few minutes)"
build_started=$SECONDS
if ((quick)); then
    # Exactly scripts/test.sh's build, so CI (tests, then this) compiles once.
    swift build --build-tests -Xswiftc -warnings-as-errors >"$work/build.log" 2>&1 ||
        { tail -n 60 "$work/build.log" >&2; echo "demo.sh: the build failed" >&2; exit 4; }
else
    for product in galaxyd galaxyctl galaxy-collector krx-sim; do
        echo "$product"
        swift build -c "$configuration" --product "$product" >"$work/build.log" 2>&1 ||
            { tail -n 60 "$work/build.log" >&2; echo "demo.sh: building $product failed" >&2; exit 4; }
    done
fi
bin=$(swift build -c "$configuration" --show-bin-path)
echo "built in $((SECONDS - build_started)) s: $bin"
galaxyctl="$bin/galaxyctl"


# Prints a log to stderr and fails: the one place a step that could not start explains itself.
fail_with_log() {
    echo "demo.sh: $1; its log ($2):" >&2
    tail -n 40 "$2" >&2 || true
    exit 3
}

step "starting a private PostgreSQL in $work/pg"
cluster_url=$(scripts/pg-cluster.sh start "$work/pg")
psql "$cluster_url" -qAt -c "CREATE DATABASE galaxy" >/dev/null
database_url="postgresql:///galaxy?host=$work/pg&port=$(cat "$work/pg/port")&user=postgres"
echo "$database_url"

step "starting krx-sim (portal login required, account demo)"
"$bin/krx-sim" --port 0 --require-login --account demo:demo-password --quiet "${sim_market[@]}" \
    >"$work/krx-sim.out" 2>"$work/krx-sim.log" &
sim_pid=$!
for _ in $(seq 300); do
    [[ -s "$work/krx-sim.out" ]] && break
    kill -0 "$sim_pid" 2>/dev/null || fail_with_log "krx-sim exited" "$work/krx-sim.log"
    sleep 0.1
done
sim_url=$(head -n 1 "$work/krx-sim.out")
[[ "$sim_url" == http://* ]] || fail_with_log "krx-sim printed no base URL" "$work/krx-sim.log"
echo "$sim_url"

step "starting galaxyd (dev mode: it binds $work/control.sock itself)"
# Credentials go through the environment, never the command line (argv is visible to every user in ps).
env GALAXY_DATABASE_URL="$database_url" GALAXY_SOCKET="$work/control.sock" \
    GALAXY_PORTAL_URL="$sim_url" GALAXY_OPENAPI_URL="$sim_url" KRX_ID=demo KRX_PW=demo-password \
    KRX_AUTH_KEY=demo-auth-key GALAXY_RATE=0 GALAXY_MAX_CHILDREN=2 GALAXY_METRICS_FILE="$work/galaxy.prom" \
    "$bin/galaxyd" serve --runtime-directory "$work/run" >"$work/galaxyd.log" 2>&1 &
daemon_pid=$!
export GALAXY_SOCKET="$work/control.sock"
for _ in $(seq 600); do
    "$galaxyctl" status --json >/dev/null 2>&1 && break
    kill -0 "$daemon_pid" 2>/dev/null || fail_with_log "galaxyd exited" "$work/galaxyd.log"
    sleep 0.1
done
"$galaxyctl" version

failed=0
step "galaxyctl backfill --start-year $start_year${datasets[*]:+ ${datasets[*]}} --follow"
"$galaxyctl" backfill --start-year "$start_year" "${datasets[@]}" --follow || failed=1

step "galaxyctl run-daily --wait"
"$galaxyctl" run-daily --wait || failed=1

step "galaxyctl status"
"$galaxyctl" status

step "what is in the database"
queries=(
    "SELECT dataset, status, count(*) AS days, sum(rows) AS rows FROM collection_days GROUP BY 1, 2 ORDER BY 1, 2"
    "SELECT date, count(*) AS tickers, sum(value) AS traded_won FROM prices GROUP BY date ORDER BY date DESC LIMIT 5"
    "SELECT ticker, name, close, volume, value FROM prices WHERE date = (SELECT max(date) FROM prices)
     ORDER BY value DESC LIMIT 5"
)
for query in "${queries[@]}"; do
    echo "$query;"
    psql "$database_url" -P pager=off -c "$query"
done

step "galaxyctl coverage${datasets[*]:+ ${datasets[*]}}"
"$galaxyctl" coverage "${datasets[@]}" || failed=1

# A monitoring-plugin check (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN): the last trading day whose 19:00 has passed is
# in for every dataset, and the leader, database and breaker are fine.
step "galaxyctl check --verbose"
check_status=0
"$galaxyctl" check --verbose || check_status=$?
echo "(exit status $check_status)"

step "galaxyctl metrics (an excerpt; galaxyd also keeps them in $work/galaxy.prom for node_exporter)"
"$galaxyctl" metrics | grep -E '^galaxy_(runs_total\{kind="(daily|backfill)",outcome="succeeded"\}|rows_stored_total\{|krx_requests_total\{|dataset_age_trading_days\{|leader |database_reachable )'

step "explore"
if ((keep)); then
    cat <<EOF
PostgreSQL (try the queries above, or \dt):
  psql '$database_url'
galaxyctl (status, run-daily --wait, backfill --start-year $((start_year - 1)) --follow, coverage, check, metrics, cancel RUN, --help):
  export GALAXY_SOCKET=$work/control.sock
  $galaxyctl status
The simulator: $sim_url/_sim/stats (requests per route), $sim_url/_sim/health
Logs: $work/galaxyd.log, $work/krx-sim.log
EOF
else
    cat <<EOF
To explore it yourself, run \`scripts/demo.sh --keep\`: PostgreSQL, krx-sim and galaxyd then stay up, and it
prints the psql URL, the galaxyctl socket and the command that stops everything.
EOF
fi
if ((failed)); then
    echo "demo.sh: a run did not succeed (see above); the last errors galaxyd logged:" >&2
    [[ -f "$work/galaxyd.log" ]] && grep -E '<[0-3]>|error|failed' "$work/galaxyd.log" | tail -n 20 >&2 || true
    exit 1
fi
