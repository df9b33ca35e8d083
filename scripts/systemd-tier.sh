#!/usr/bin/env bash
# The systemd tier: galaxy installed as docs/install.md says, under a real systemd (PID 1 of isolated namespaces, see
# scripts/systemd-sandbox.sh), with the shipped units unchanged except where a check says so. It checks socket
# activation and READY, run-daily and backfill under the full sandbox and User=galaxy over a Unix socket and over TCP,
# the watchdog's restart of a hung galaxyd, a collector killed by SIGKILL (the OOM killer's signal), `systemctl stop`
# mid-backfill, the socket's permissions, and `systemd-analyze security`. Prints one line per check and the figures;
# exits 1 if a check failed. Skips (exit 0, saying why) on a machine that cannot boot it.
#
#   scripts/systemd-tier.sh [BIN_DIR]     BIN_DIR: built galaxyd, galaxyctl, galaxy-collector, krx-sim
#                                         (default: `swift build --show-bin-path`, the test build)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
source scripts/systemd-sandbox.sh

reason=$(sandbox_unavailable)
if [[ -n $reason ]]; then
    echo "systemd tier: SKIPPED — this machine cannot boot an isolated systemd ($reason)"
    exit 0
fi
[[ -d /opt/swift/usr/bin ]] && export PATH="/opt/swift/usr/bin:$PATH"
bin=${1:-$(swift build --show-bin-path)}
for product in galaxyd galaxyctl galaxy-collector krx-sim; do
    [[ -x $bin/$product ]] || { echo "systemd tier: $bin/$product is missing: build first" >&2; exit 2; }
done

host=$(mktemp -d /tmp/galaxy-systemd-tier.XXXXXX)
failures=0
finish() {
    local status=$?
    if ((failures > 0 || status != 0)) && [[ -n $SANDBOX_PID ]]; then
        echo "--- galaxyd's journal (last 60 lines) ---"
        sandbox journalctl --no-pager -o short-monotonic -n 60 -u galaxyd.service -u galaxyd.socket 2>&1 || true
    fi
    if [[ -n ${GALAXY_TIER_KEEP:-} && -n $SANDBOX_PID ]]; then
        echo "GALAXY_TIER_KEEP: the sandbox stays up; enter it with 'nsenter -t $SANDBOX_PID -a', end it with" \
            "'kill -KILL $SANDBOX_PID'"
        return
    fi
    sandbox_stop
    rm -rf "$host"
}
trap finish EXIT

ok() { echo "  ok    $*"; }
failed() { echo "  FAIL  $*"; failures=$((failures + 1)); }
# check WHAT CMD...: runs CMD, ok when it succeeds.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else failed "$what"; fi
}
section() { echo "==> $*"; }
# prints PATTERN CMD...: CMD's output matches the extended regex PATTERN; lacks: it does not.
prints() {
    local pattern=$1 output
    shift
    output=$("$@" 2>&1) || true
    grep -qE -- "$pattern" <<<"$output"
}
lacks() { ! prints "$@"; }
as() { local user=$1; shift; sandbox runuser -u "$user" -- "$@"; }
unit_property() { sandbox systemctl show -P "$2" "$1"; }
# Seconds (3 decimals) on the sandbox's monotonic clock, from systemd's own timestamps and the journal.
monotonic_now() { sandbox awk '{ printf "%.3f\n", $1 }' /proc/uptime; }
# unit_log SINCE [MAX_PRIORITY [PID]]: "SECONDS MESSAGE" for every journal entry of galaxyd.service (galaxyd, its
# collectors, and systemd about it) logged at or after SINCE (monotonic seconds; journalctl's --after-cursor combined
# with -u misses entries in systemd 252, so the filtering is done here).
unit_log() {
    sandbox journalctl --no-pager -o json -u galaxyd.service | python3 -c '
import json, sys
since, top = float(sys.argv[1]), int(sys.argv[2])
for line in sys.stdin:
    e = json.loads(line)
    at = int(e["__MONOTONIC_TIMESTAMP"]) / 1e6
    if at < since or int(e.get("PRIORITY", 6)) > top or (sys.argv[3] and e.get("_PID") != sys.argv[3]):
        continue
    message = e.get("MESSAGE")
    if isinstance(message, list):
        message = bytes(message).decode("utf-8", "replace")
    print("%.3f %s" % (at, message))
' "$1" "${2:-7}" "${3:-}"
}
# journal_time SINCE REGEX: the time of galaxyd.service's first entry since SINCE matching REGEX, or nothing.
journal_time() { unit_log "$1" | python3 -c '
import re, sys
pattern = re.compile(sys.argv[1])
for line in sys.stdin:
    at, _, message = line.rstrip("\n").partition(" ")
    if pattern.search(message):
        print(at)
        break
' "$2"; }
# Waits up to SECONDS for CMD to succeed.
wait_for() {
    local seconds=$1 deadline
    shift
    deadline=$((SECONDS + seconds))
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}
galaxyd_pid() { unit_property galaxyd.service MainPID; }
# sql QUERY: one value from the tier's database, as the postgres superuser.
sql() { as postgres psql -qAt galaxy_test -c "$1"; }
# exits CODE CMD...: CMD fails with exactly exit status CODE (its output dropped).
exits() {
    local code=$1 status=0
    shift
    "$@" >/dev/null 2>&1 || status=$?
    ((status == code))
}

section "booting systemd in isolated namespaces"
sandbox_boot "$host"
ok "systemd $(sandbox systemctl --version | head -n 1 | cut -d' ' -f2) is PID 1 of the sandbox (host pid $SANDBOX_PID)"

section "installing as docs/install.md says (§2–§5, and 'Trying it against a non-production source')"
# §1 builds; the tier installs the test build (debug) instead of a release build.
# put MODE FILE DEST: copies a host file into the sandbox through stdin. The checkout and the build may live under
# /tmp, which the sandbox replaces with its own.
put() { sandbox install -m "$1" /dev/stdin "$3" <"$2"; }
for product in galaxyd galaxy-collector galaxyctl; do put 0755 "$bin/$product" "/usr/local/bin/$product"; done
put 0644 "$repo/units/galaxy.sysusers" /usr/lib/sysusers.d/galaxy.conf
sandbox systemd-sysusers
put 0644 "$repo/units/galaxyd.socket" /etc/systemd/system/galaxyd.socket
put 0644 "$repo/units/galaxyd.service" /etc/systemd/system/galaxyd.service
sandbox install -d -m 0755 /usr/local/share/doc/galaxy
put 0644 "$repo/README.md" /usr/local/share/doc/galaxy/README.md
check "user galaxy, groups galaxy-ctl and galaxy-admin exist (systemd-sysusers)" \
    sandbox sh -c 'getent passwd galaxy >/dev/null && getent group galaxy-ctl >/dev/null && getent group galaxy-admin >/dev/null'

# The local PostgreSQL the guide assumes: Debian's cluster, under systemd, on /var/run/postgresql and 127.0.0.1.
pg_version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
sandbox install -d -o postgres -g postgres -m 2775 /run/postgresql
sandbox sh -c "pg_lsclusters -h | grep -q '^$pg_version main' && pg_dropcluster $pg_version main; true"
sandbox pg_createcluster "$pg_version" main --port 5432 --start-conf manual >/dev/null 2>&1
sandbox systemctl start "postgresql@$pg_version-main.service"
as postgres createuser galaxy
as postgres createdb -O galaxy galaxy
as postgres createdb -O galaxy galaxy_test
check "PostgreSQL $pg_version runs as postgresql@$pg_version-main.service" \
    sandbox systemctl is-active --quiet "postgresql@$pg_version-main.service"

# The non-production source: krx-sim, login required, as the guide runs it (here as a transient unit).
put 0755 "$bin/krx-sim" /usr/local/bin/krx-sim
sandbox systemd-run --quiet --unit=krx-sim --property=DynamicUser=yes \
    /usr/local/bin/krx-sim --port 8700 --require-login --account tester:sim-password --stocks 120 --etfs 40 --quiet
check "krx-sim answers on 127.0.0.1:8700" wait_for 20 sandbox curl -fs -o /dev/null http://127.0.0.1:8700/_sim/health

sandbox install -d -m 0755 /etc/galaxy
sandbox install -d -m 0700 /etc/galaxy/credentials
sandbox sh -c 'cat >/etc/galaxy/galaxyd.env' <<'EOF'
GALAXY_DATABASE_URL=postgresql:///galaxy_test?host=/var/run/postgresql
GALAXY_PORTAL_URL=http://127.0.0.1:8700
GALAXY_OPENAPI_URL=http://127.0.0.1:8700
GALAXY_SOURCE=portal
GALAXY_RATE=0
EOF
sandbox sh -c "printf '%s' tester | install -m 0600 /dev/stdin /etc/galaxy/credentials/krx-id"
sandbox sh -c "printf '%s' sim-password | install -m 0600 /dev/stdin /etc/galaxy/credentials/krx-pw"
sandbox install -m 0600 /dev/null /etc/galaxy/credentials/krx-auth-key

sandbox systemctl daemon-reload
sandbox systemctl enable --now galaxyd.socket 2>/dev/null
sandbox systemctl enable galaxyd.service 2>/dev/null
# §6: who may do what. alice administers, carol only reads, dave is in neither group.
sandbox useradd --groups galaxy-ctl,galaxy-admin alice
sandbox useradd --groups galaxy-ctl carol
sandbox useradd dave

section "1. socket activation and READY"
check "galaxyd.socket listens at /run/galaxyd/control.sock (root:galaxy-ctl 0660)" \
    test "$(sandbox stat -c '%U:%G %a %F' /run/galaxyd/control.sock)" == "root:galaxy-ctl 660 socket"
check "galaxyd.service is not running before the first connection" \
    test "$(unit_property galaxyd.service ActiveState)" == inactive
started=$(monotonic_now)
if as carol galaxyctl status >"$host/status.txt" 2>&1; then
    ok "the first 'galaxyctl status' (carol, galaxy-ctl) started galaxyd and got an answer"
else
    failed "the first 'galaxyctl status' failed: $(head -n 3 "$host/status.txt")"
fi
check "galaxyd.service is active (running)" \
    test "$(unit_property galaxyd.service ActiveState)/$(unit_property galaxyd.service SubState)" == active/running
activated=$(sandbox systemctl show -P ActiveEnterTimestampMonotonic galaxyd.service)
# galaxyd takes the scheduler lock (and logs it) before it sends READY.
before_ready=$(journal_time 0 'leader: this galaxyd runs the schedule')
check "Type=notify: active only after galaxyd's start-up (lock taken at ${before_ready:-?} s, active at $(
    python3 -c "print('%.3f' % ($activated / 1e6))") s)" \
    python3 -c "import sys; sys.exit(0 if '$before_ready' and $activated / 1e6 >= float('$before_ready') else 1)"
status_text=$(unit_property galaxyd.service StatusText)
shows_status() { sandbox systemctl status --no-pager galaxyd.service | grep -qF -- "Status: \"$status_text\""; }
check "systemctl status shows galaxyd's STATUS= line ('$status_text')" shows_status
echo "  figure: socket to first answer $(python3 -c "print(round($activated / 1e6 - $started, 2))") s (activation + migrations)"

section "2. work under the shipped sandbox, User=galaxy, PostgreSQL over a Unix socket"
check "galaxyd runs as galaxy" test "$(sandbox ps -o user= -p "$(galaxyd_pid)")" == galaxy
since=$(monotonic_now)
if as alice galaxyctl run-daily --wait >"$host/daily.txt" 2>&1; then
    ok "alice (galaxy-admin): galaxyctl run-daily --wait succeeded: $(grep -m1 -E 'succeeded' "$host/daily.txt" | tr -s ' ')"
else
    failed "galaxyctl run-daily --wait: $(tail -n 5 "$host/daily.txt")"
fi
unit_log "$since" >"$host/daily.journal"
check "the journal of the daily run has no denial (EPERM, EACCES, Permission denied, errno=13)" \
    lacks 'EPERM|EACCES|[Pp]ermission denied|[Oo]peration not permitted|errno=(1|13)\b' cat "$host/daily.journal"
unit_log "$since" 4 >"$host/daily.warnings"
check "the journal of the daily run has no warning lines" test ! -s "$host/daily.warnings"
[[ -s $host/daily.warnings ]] && head -n 5 "$host/daily.warnings" | sed 's/^/        /'
one_run_in_the_journal() {
    sandbox journalctl --no-pager -o json RUN_ID=1 | python3 -c '
import json, sys
entries = [json.loads(line) for line in sys.stdin]
print("        journalctl RUN_ID=1: %d entries, from %s" % (
    len(entries), sorted({e.get("SYSLOG_IDENTIFIER") for e in entries})), file=sys.stderr)
sys.exit(0 if entries and all(e.get("RUN_ID") == "1" for e in entries)
         and any(e.get("SYSLOG_IDENTIFIER") == "galaxy-collector" and e.get("TRADE_DATE") for e in entries)
         and any(e.get("MESSAGE_ID") for e in entries) else 1)'
}
check "journalctl RUN_ID=1 shows that run: galaxyd's and its collectors' entries, with TRADE_DATE and MESSAGE_ID" \
    one_run_in_the_journal
rows=$(sql "SELECT count(*) FROM prices")
check "price rows stored: $rows" test "$rows" -gt 0

section "2. PostgreSQL over TCP (password from a credential, PGPASSFILE=%d/pgpass)"
sandbox sh -c "printf '127.0.0.1:5432:galaxy_test:galaxy:tier-secret\n' | install -m 0600 /dev/stdin /etc/galaxy/credentials/pgpass"
as postgres psql -q -c "ALTER ROLE galaxy PASSWORD 'tier-secret'"
sandbox mkdir -p /etc/systemd/system/galaxyd.service.d
# A later EnvironmentFile= wins over the guide's (and over Environment=).
sandbox sh -c 'echo GALAXY_DATABASE_URL=postgresql://galaxy@127.0.0.1:5432/galaxy_test >/etc/galaxy/tcp.env'
sandbox sh -c 'cat >/etc/systemd/system/galaxyd.service.d/tcp.conf' <<'EOF'
[Service]
LoadCredential=pgpass:/etc/galaxy/credentials/pgpass
EnvironmentFile=/etc/galaxy/tcp.env
Environment=PGPASSFILE=%d/pgpass
EOF
sandbox systemctl daemon-reload
sandbox systemctl restart galaxyd.service
tcp_sessions() { sql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'galaxy' AND client_addr = '127.0.0.1'"; }
check "galaxyd's sessions come over TCP from 127.0.0.1 ($(tcp_sessions) in pg_stat_activity)" test "$(tcp_sessions)" -gt 0
if as alice galaxyctl backfill --start-year 2026 --dataset price --follow >"$host/backfill.txt" 2>&1; then
    ok "galaxyctl backfill --start-year 2026 --follow succeeded: $(grep -m1 -E 'succeeded' "$host/backfill.txt" | tr -s ' ')"
else
    failed "galaxyctl backfill --follow: $(tail -n 5 "$host/backfill.txt")"
fi
check "no secret in galaxyd's environment block as systemd shows it" \
    lacks tier-secret sandbox systemctl show -P Environment galaxyd.service
check "no secret in galaxyd's journal" lacks 'tier-secret|sim-password' unit_log 0
sandbox rm /etc/systemd/system/galaxyd.service.d/tcp.conf
sandbox systemctl daemon-reload

section "2. a missing KRX credential is reported at start, not at 18:00"
sandbox install -m 0600 /dev/null /etc/galaxy/credentials/krx-pw
since=$(monotonic_now)
sandbox systemctl restart galaxyd.service
check "galaxyd says so in one journal line at start (priority err) naming the file and the directive" \
    prints 'KRX credentials: .*krx-pw is missing or empty.*LoadCredential=krx-pw:/etc/galaxy/credentials/krx-pw' \
    unit_log "$since" 3
check "and galaxyctl status shows it" prints 'problem: the data portal source has a member ID but no password' \
    sandbox galaxyctl status
sandbox sh -c "printf '%s' sim-password | install -m 0600 /dev/stdin /etc/galaxy/credentials/krx-pw"
sandbox systemctl restart galaxyd.service
check "with the credential back, status shows no problem" lacks 'problem:' sandbox galaxyctl status

section "2. monitoring as docs/install.md §9 sets it up: GALAXY_METRICS_FILE for node_exporter, galaxyctl check"
textfile=/var/lib/node_exporter/textfile_collector/galaxy
sandbox install -d -o galaxy -g galaxy -m 0755 "$textfile"
sandbox sh -c "echo GALAXY_METRICS_FILE=$textfile/galaxy.prom >>/etc/galaxy/galaxyd.env"
since=$(monotonic_now)
sandbox systemctl restart galaxyd.service 2>/dev/null || true
check "without ReadWritePaths= the sandbox keeps galaxyd from writing the file: it says so and exits 78" \
    prints 'GALAXY_METRICS_FILE: cannot write .*galaxy\.prom\.tmp: Read-only file system' unit_log "$since"
check "and systemd does not restart it (RestartPreventExitStatus=78): $(unit_property galaxyd.service Result)" \
    test "$(unit_property galaxyd.service ExecMainStatus)/$(unit_property galaxyd.service ActiveState)" == 78/failed
sandbox sh -c "printf '[Service]\nReadWritePaths=$textfile\n' >/etc/systemd/system/galaxyd.service.d/metrics.conf"
sandbox systemctl daemon-reload
sandbox systemctl reset-failed galaxyd.service
sandbox systemctl restart galaxyd.service
# leads_in_the_file: the file, read by the official Prometheus client's parser, says galaxyd leads (it is first
# written at start, before the lock is taken, and again on every beat).
leads_in_the_file() {
    sandbox cat "$textfile/galaxy.prom" >"$host/galaxy.prom" 2>/dev/null &&
        python3 "$repo/scripts/parse-prometheus.py" "$host/galaxy.prom" >"$host/galaxy.json" &&
        grep -qE '\["galaxy_leader", \{\}, 1(\.0)?\]' "$host/galaxy.json"
}
check "with the drop-in it writes $textfile/galaxy.prom, which Prometheus' parser reads: galaxy_leader 1" \
    wait_for 20 leads_in_the_file
check "the file is galaxy's, mode 0644 (node_exporter runs as another user)" \
    test "$(sandbox stat -c '%U %a' "$textfile/galaxy.prom")" == "galaxy 644"
check "it has each dataset's age in trading days" grep -qF '"galaxy_dataset_age_trading_days", {"dataset": "price"}' \
    "$host/galaxy.json"
as carol galaxyctl check --dataset price >"$host/check.txt" 2>&1 || true
check "carol: galaxyctl check --dataset price exits 0: $(head -c 110 "$host/check.txt")" \
    exits 0 as carol galaxyctl check --dataset price
check "dave (no access to the socket): galaxyctl check exits 3 (UNKNOWN), not 2" exits 3 as dave galaxyctl check

# A backfill that takes minutes at GALAXY_RATE=4 (a later EnvironmentFile= wins over the guide's), so the checks
# below always find collectors at work.
sandbox sh -c 'printf "GALAXY_RATE=4\n" >/etc/galaxy/tier-slow.env'
sandbox sh -c 'printf "[Service]\nEnvironmentFile=/etc/galaxy/tier-slow.env\nWatchdogSec=6s\n" \
    >/etc/systemd/system/galaxyd.service.d/tier.conf'
# (WatchdogSec: the shipped 30 s, shortened so the tier waits less; the mechanism is the same.)
sandbox systemctl daemon-reload
sandbox systemctl restart galaxyd.service
backfill_id=$(as alice galaxyctl backfill --start-year 2023 --dataset etf_price --json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["runId"])')
collector_pids() { sandbox pgrep -P "$(galaxyd_pid)" || true; }
has_collector() { [[ -n $(collector_pids) ]]; }
# Days of etf_price the ledger holds settled: a backfill makes progress when this grows.
ledger_days() { sql \
    "SELECT count(*) FROM collection_days WHERE dataset = 'etf_price' AND status IN ('collected', 'no_session')"; }
making_progress() { (($(ledger_days) > $1)); }
check "backfill run $backfill_id (etf_price since 2023, GALAXY_RATE=4) is collecting" wait_for 30 making_progress "$(($(ledger_days) + 3))"

section "3. the watchdog ends a hung galaxyd at once and systemd restarts it"
restarts_before=$(unit_property galaxyd.service NRestarts)
hung_pid=$(galaxyd_pid)
done_before=$(ledger_days)
since=$(monotonic_now)
sandbox kill -STOP "$hung_pid"
restarted() {
    local pid
    pid=$(galaxyd_pid)
    [[ $pid != 0 && $pid != "$hung_pid" && $(unit_property galaxyd.service SubState) == running ]]
}
check "galaxyd (pid $hung_pid, SIGSTOP) replaced by a new galaxyd" wait_for 60 restarted
timeout_at=$(journal_time "$since" 'Watchdog timeout')
exited_at=$(journal_time "$since" 'Main process exited')
started_at=$(journal_time "$since" '^Started .*galaxy collector supervisor')
lapse() { python3 -c "print('%.1f' % (float('$2') - float('$1')))" 2>/dev/null || echo 999; }
gone=$(lapse "$timeout_at" "$exited_at")
back=$(lapse "$timeout_at" "$started_at")
echo "  figure: watchdog timeout → galaxyd gone ${gone} s → running again ${back} s (RestartSec=2s)"
check "systemd logged the watchdog timeout" test -n "$timeout_at"
check "galaxyd was gone within 3 s of the watchdog's SIGABRT (${gone} s)" \
    python3 -c "import sys; sys.exit(0 if $gone <= 3 else 1)"
check "and running again within 10 s of the timeout (${back} s)" \
    python3 -c "import sys; sys.exit(0 if $back <= 10 else 1)"
check "it dumped core (code=dumped, status=6/ABRT)" prints 'code=dumped, status=6/ABRT' \
    unit_log "$since"
if [[ $(cat /proc/sys/kernel/core_pattern) == core* ]]; then
    check "the core is in galaxyd's working directory /var/lib/galaxyd" prints '^core' sandbox ls /var/lib/galaxyd
fi
# Collectors started by the hung galaxyd after systemd declared it hung (its journal lines carry its pid).
started_collectors() { unit_log "${timeout_at:-0}" 7 "$hung_pid" | grep -c 'collector started' || true; }
check "the hung galaxyd started no collector after the watchdog timeout" test "$(started_collectors)" == 0
check "NRestarts went up by one" test "$(unit_property galaxyd.service NRestarts)" == $((restarts_before + 1))
check "the restarted galaxyd resumed backfill run $backfill_id from the ledger" \
    wait_for 30 making_progress "$done_before"

section "3. a collector killed by SIGKILL (as the OOM killer does) costs its task, not the service"
main_pid=$(galaxyd_pid)
wait_for 20 has_collector || true
victim=$(collector_pids | head -n 1)
# What the OOM killer would choose: galaxyd gives each collector oom_score_adj 1000 (galaxyd keeps the unit's).
check "collector pid $victim is the OOM killer's first choice (oom_score_adj $(sandbox cat /proc/"$victim"/oom_score_adj))" \
    test "$(sandbox cat /proc/"$victim"/oom_score_adj)" == 1000
sandbox kill -KILL "$victim"
killed_task_recorded() {
    sandbox galaxyctl status --json | python3 -c '
import json, sys
run = [r for r in json.load(sys.stdin)["runs"] if r["id"] == int(sys.argv[1])][0]
sys.exit(0 if any(t.get("signal") == 9 for t in run["tasks"]) else 1)' "$backfill_id"
}
check "collector pid $victim killed: its task records signal 9" wait_for 20 killed_task_recorded
check "galaxyd is the same process (pid $main_pid), still active" \
    test "$(galaxyd_pid)/$(unit_property galaxyd.service ActiveState)" == "$main_pid/active"
check "and the backfill goes on" wait_for 30 making_progress "$(ledger_days)"

section "4. systemctl stop during a backfill is clean; start resumes it"
wait_for 20 has_collector || true
done_before=$(ledger_days)
since=$(monotonic_now)
stop_started=$SECONDS
sandbox systemctl stop galaxyd.socket galaxyd.service
echo "  figure: systemctl stop took $((SECONDS - stop_started)) s (TimeoutStopSec=45s)"
check "galaxyd stopped by itself: Result=success, exit status 0" \
    test "$(unit_property galaxyd.service Result)/$(unit_property galaxyd.service ExecMainStatus)" == success/0
check "systemd never had to SIGKILL galaxyd" lacks 'SIGKILL|Killing process|timed out' \
    unit_log "$since"
interrupted_tasks=$(sql "SELECT count(*) FROM job_tasks WHERE run_id = $backfill_id AND state = 'interrupted'")
running_tasks=$(sql "SELECT count(*) FROM job_tasks WHERE run_id = $backfill_id AND state = 'running'")
check "its tasks are recorded interrupted ($interrupted_tasks), none left running ($running_tasks)" \
    test "$interrupted_tasks" -gt 0 -a "$running_tasks" == 0
sandbox systemctl start galaxyd.socket galaxyd.service
check "after systemctl start, backfill run $backfill_id goes on where it stopped" \
    wait_for 30 making_progress "$done_before"

section "5. permissions through the real socket"
check "carol (galaxy-ctl) reads the status" as carol galaxyctl status
check "carol gets 'permission denied' (exit 4, -32003) for run-daily" exits 4 as carol galaxyctl run-daily
check "alice (galaxy-admin) cancels the backfill" as alice galaxyctl cancel "$backfill_id"
check "dave (in neither group) cannot connect (exit 4)" exits 4 as dave galaxyctl status

section "6. systemd-analyze security"
exposure=$(sandbox systemd-analyze security --no-pager galaxyd.service 2>/dev/null |
    sed -n 's/.*Overall exposure level for galaxyd.service: \([0-9.]*\).*/\1/p')
echo "  figure: exposure level ${exposure:-?} (0 = most sandboxed, 10 = none)"
check "exposure level ${exposure:-?} ≤ 2.0" python3 -c "import sys; sys.exit(0 if '$exposure' and float('$exposure') <= 2.0 else 1)"

echo
if ((failures > 0)); then
    echo "systemd tier: $failures check(s) FAILED"
    exit 1
fi
echo "systemd tier: every check passed"
