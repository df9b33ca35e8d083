#!/usr/bin/env bash
# The test command (README): installs what is missing, starts a private PostgreSQL, builds with warnings as errors,
# runs every test, and stops the cluster whatever happened. Extra arguments go to `swift test` (e.g. --filter X).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d /opt/swift/usr/bin ]] && export PATH="/opt/swift/usr/bin:$PATH"

scripts/install-deps.sh

pgdir=$(mktemp -d /tmp/galaxy-test-pg.XXXXXX)
cleanup() { scripts/pg-cluster.sh stop "$pgdir"; rm -rf "$pgdir"; }
trap cleanup EXIT
export GALAXY_TEST_DATABASE_URL=$(scripts/pg-cluster.sh start "$pgdir")
export GALAXY_TEST_PG_DIR=$pgdir
echo "==> PostgreSQL at $GALAXY_TEST_DATABASE_URL"

echo "==> checking protocol/galaxyd.openrpc.json and units/"
python3 scripts/check-openrpc.py
scripts/check-units.sh

echo "==> building (warnings are errors)"
swift build --build-tests -Xswiftc -warnings-as-errors
echo "==> testing"
export GALAXY_TEST_RESPONSES_DIR=$pgdir/responses
mkdir -p "$GALAXY_TEST_RESPONSES_DIR"
# One test at a time: many tests run real daemons, collectors, simulators and databases, and on two cores running them
# all at once turns their deadlines (heartbeats, idle timeouts) into a measure of the machine's load.
swift test --skip-build --no-parallel "$@"
python3 scripts/check-openrpc.py --responses "$GALAXY_TEST_RESPONSES_DIR"
# The units under a real systemd (skipped, saying why, where the machine cannot boot an isolated one). Not when a
# --filter picks some tests: a full run only.
if [[ $# -eq 0 ]]; then
    echo "==> the systemd tier (scripts/systemd-tier.sh)"
    scripts/systemd-tier.sh "$(swift build --show-bin-path)"
fi
