#!/usr/bin/env bash
# Installs the Debian packages galaxy builds and tests against, only those that are missing.
# Safe to run again; does nothing when everything is present.
set -euo pipefail

packages=(postgresql libpq-dev libcurl4-openssl-dev libsystemd-dev zlib1g-dev libdeflate-dev tzdata pkg-config systemd
          curl python3-pip pgbouncer)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "==> installing ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python packages for the protocol check (scripts/check-openrpc.py) and the metrics tests' parser
# (scripts/parse-prometheus.py: the official client's, not ours).
python3 -c 'import jsonschema, openrpc, prometheus_client' 2>/dev/null ||
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore jsonschema openrpc \
        prometheus_client >/dev/null

if ! command -v swift >/dev/null 2>&1; then
    if [[ -x /opt/swift/usr/bin/swift ]]; then
        echo "swift is at /opt/swift/usr/bin; add it to PATH" >&2
    else
        echo "swift is not installed: install Swift 6.1 or later from swift.org" >&2
    fi
    exit 1
fi
