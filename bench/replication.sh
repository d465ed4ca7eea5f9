#!/usr/bin/env bash
# Replication figures: throughput with standbys (async and synchronous), standby lag under
# load, full-sync rate and latency impact. Prints one table. See bench/replication.py.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found (apt-get install redis-tools)" >&2; exit 1; }
cargo build --release --quiet
REDOUBT_BIN=${REDOUBT_BIN:-target/release/redoubt} python3 bench/replication.py
