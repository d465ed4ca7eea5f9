#!/usr/bin/env bash
# The kill test, measured: write outage and acknowledged writes lost when the primary is
# SIGKILLed, in synchronous and asynchronous modes (defaults: probe every 100 ms, down after
# 500 ms). Prints one table.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
cargo build --release --quiet --example failover_bench
REDOUBT_BIN=target/release/redoubt target/release/examples/failover_bench
