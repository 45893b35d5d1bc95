#!/usr/bin/env bash
# Peer harness: installs Redis from Debian's packages if missing, then runs
# the `peers` bench, which starts redis-server on a free loopback port,
# measures Redis, SQLite and seatbook in one run, stops the server and
# prints the ratio table (also appended to target/seatbook-bench/peers.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools
    # The Debian package starts a system service on 6379; the harness uses
    # its own server on a free port, so stop that one if it was started.
    $SUDO service redis-server stop >/dev/null 2>&1 || true
fi
exec cargo bench -p seatbook-benches --bench peers "$@"
