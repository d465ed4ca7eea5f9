#!/usr/bin/env bash
# Filling past maxmemory under allkeys-lru: `redoubt node` beside redis-server. Each server gets
# `maxmemory MAXMEMORY` and `maxmemory-policy allkeys-lru`; redis-benchmark then runs
# `SET -r 10000000` (random keys among ten million, VALUE_SIZE-byte values) for REQUESTS
# requests while used_memory is sampled every 100 ms. Prints one Markdown table: SET ops/s, the
# highest used_memory seen and the final one as a share of maxmemory, and keys evicted.
#
#   bench/eviction.sh
#   MAXMEMORY=100mb REQUESTS=2000000 PIPELINE=16 bench/eviction.sh
#
# Environment: MAXMEMORY (100mb), REQUESTS (2000000), CLIENTS (50), PIPELINE (16),
# VALUE_SIZE (100), REDOUBT_BIN (skip the release build and use this binary).
set -euo pipefail

cd "$(dirname "$0")/.."
MAXMEMORY=${MAXMEMORY:-100mb}
REQUESTS=${REQUESTS:-2000000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
VALUE_SIZE=${VALUE_SIZE:-100}

log() { echo "bench: $*" >&2; }

if [ -z "${REDOUBT_BIN:-}" ]; then
  log "building the release binary"
  cargo build --release --bin redoubt >&2
  REDOUBT_BIN=target/release/redoubt
fi
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || {
  echo "redis-server and redis-benchmark are needed" >&2
  exit 1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { redis-cli -p "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1==f {print $2}'; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# run NAME PORT: fills the server on PORT and prints its table row.
run() {
  local name=$1 port=$2
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
  redis-cli -p "$port" config set maxmemory "$MAXMEMORY" maxmemory-policy allkeys-lru >/dev/null
  local limit peak=0
  limit=$(redis-cli -p "$port" config get maxmemory | tail -1)
  log "$name: SET -r 10000000, $REQUESTS requests, pipeline $PIPELINE"
  redis-benchmark -p "$port" -t set -r 10000000 -n "$REQUESTS" -c "$CLIENTS" -P "$PIPELINE" \
    -d "$VALUE_SIZE" -q >"/tmp/eviction-bench-$name.out" 2>&1 &
  local bench=$!
  while kill -0 "$bench" 2>/dev/null; do
    local used
    used=$(field "$port" memory used_memory)
    [ -n "$used" ] && [ "$used" -gt "$peak" ] && peak=$used
    sleep 0.1
  done
  wait "$bench" || true
  local ops final evicted
  ops=$(tr '\r' '\n' <"/tmp/eviction-bench-$name.out" | grep -o 'SET: [0-9.]* requests per second' | awk '{print $2}' | tail -1)
  final=$(field "$port" memory used_memory)
  evicted=$(field "$port" stats evicted_keys)
  awk -v n="$name" -v o="$ops" -v p="$peak" -v f="$final" -v l="$limit" -v e="$evicted" \
    'BEGIN { printf "| %s | %.0f | %.2f%% | %.2f%% | %s |\n", n, o, 100*p/l, 100*f/l, e }'
}

redoubt_port=$(free_port)
"$REDOUBT_BIN" node --port "$redoubt_port" --dir /tmp >/dev/null 2>&1 &
pids+=($!)
redis_port=$(free_port)
redis-server --port "$redis_port" --save "" --appendonly no >/dev/null 2>&1 &
pids+=($!)

echo "| server | SET ops/s | peak used_memory / maxmemory | final used_memory / maxmemory | evicted_keys |"
echo "|---|---|---|---|---|"
run "redoubt node" "$redoubt_port"
run "redis-server" "$redis_port"
