#!/usr/bin/env bash
# `systemd-analyze verify` on units/, which must print nothing. The units name the installed binary
# (/usr/local/bin/galaxyd); verify checks that ExecStart is executable, so a copy whose ExecStart points at a stub
# is verified instead of requiring an installation.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
printf '#!/bin/sh\nexit 0\n' >"$scratch/galaxyd"
chmod +x "$scratch/galaxyd"
for unit in units/*.service units/*.socket units/*.timer; do
    [[ -e "$unit" ]] || continue
    sed "s#/usr/local/bin/galaxy#$scratch/galaxy#g" "$unit" >"$scratch/$(basename "$unit")"
done
printf '#!/bin/sh\nexit 0\n' >"$scratch/galaxyctl"
chmod +x "$scratch/galaxyctl"
output=$(cd "$scratch" && systemd-analyze verify ./*.socket ./*.service 2>&1 || true)
if [[ -n "$output" ]]; then
    echo "systemd-analyze verify units/ reported:" >&2
    echo "$output" >&2
    exit 1
fi
echo "units: systemd-analyze verify clean"
