#!/usr/bin/env bash
# MULTI/EXEC and PUBLISH fan-out throughput of `redoubt node` beside redis-server.
#
#   bench/transactions_pubsub.sh          # builds the release binary, prints a table
#   SECONDS_PER_TEST=5 bench/transactions_pubsub.sh
#   NODE_ARGS="--threads 2" bench/transactions_pubsub.sh   # flags for `redoubt node`
#
# Measured by bench/transactions_pubsub.py (raw RESP, Python clients): transactions of 5 SETs
# per second, and messages per second delivered to 1 and to 100 subscribers. Both servers run
# on loopback with persistence off. The ratio column is redoubt / redis-server.
set -euo pipefail

cd "$(dirname "$0")/.."
SECONDS_PER_TEST=${SECONDS_PER_TEST:-3}
command -v redis-server >/dev/null || { echo "redis-server not found" >&2; exit 1; }
if [ -z "${REDOUBT_BIN:-}" ]; then
  cargo build --release --quiet --bin redoubt
fi
BIN=${REDOUBT_BIN:-target/release/redoubt}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_ready() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }

REDOUBT_PORT=$(free_port)
"$BIN" node --port "$REDOUBT_PORT" --dir "$(mktemp -d)" --save '' ${NODE_ARGS:-} >/dev/null 2>&1 &
pids+=($!)
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
pids+=($!)
wait_ready "$REDOUBT_PORT"
wait_ready "$REDIS_PORT"

run() { python3 bench/transactions_pubsub.py --port "$1" --seconds "$SECONDS_PER_TEST"; }
ours=$(run "$REDOUBT_PORT")
theirs=$(run "$REDIS_PORT")
printf '%-18s %14s %14s %7s\n' test redoubt redis-server ratio
paste <(echo "$ours") <(echo "$theirs") | while read -r name a unit _ b _; do
  ratio=$(python3 -c "print(f'{$a / max($b, 1):.2f}')")
  printf '%-18s %10s %-4s %10s %-4s %6s\n' "$name" "$a" "$unit" "$b" "$unit" "$ratio"
done
