#!/usr/bin/env bash
# Throughput of `redoubt node` beside redis-server on this machine, with redis-benchmark.
#
#   bench/node.sh            # builds the release binary, prints a table
#   REQUESTS=50000 TESTS=set,get bench/node.sh   # default: strings, then the collection tests
#
# Both servers run on loopback with persistence off; each test runs at pipeline 1 and 16 with
# 50 clients. The ratio column is redoubt / redis-server (>= 1.0 means redoubt is as fast).
set -euo pipefail

cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
TESTS=${TESTS:-set,get,incr,mset,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,lrange_100}
PIPELINES=${PIPELINES:-"1 16"}

command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found (apt-get install redis-tools)" >&2; exit 1; }
cargo build --release --quiet
BIN=target/release/redoubt

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_ready() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }

REDOUBT_PORT=$(free_port)
"$BIN" node --port "$REDOUBT_PORT" --dir "$(mktemp -d)" --save '' 2>/dev/null >/dev/null &
pids+=($!)
wait_ready "$REDOUBT_PORT"

REDIS_PORT=""
if command -v redis-server >/dev/null; then
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --save '' --appendonly no --daemonize no >/dev/null &
  pids+=($!)
  wait_ready "$REDIS_PORT"
fi

# Prints "test ops_per_sec" lines for one server and pipeline depth.
run() {
  redis-benchmark -p "$1" -c "$CLIENTS" -n "$REQUESTS" -r 100000 -P "$2" -t "$TESTS" --csv 2>/dev/null \
    | tail -n +2 | tr -d '"' | awk -F, '{ split($1, w, " "); print tolower(w[1]), $2 }'
}

printf '%-8s %8s %14s %14s %7s\n' test pipeline redoubt_ops/s redis_ops/s ratio
for p in $PIPELINES; do
  mine=$(run "$REDOUBT_PORT" "$p")
  theirs=""
  [ -n "$REDIS_PORT" ] && theirs=$(run "$REDIS_PORT" "$p")
  while read -r test ops; do
    [ -z "$test" ] && continue
    other=$(awk -v t="$test" '$1 == t { print $2; exit }' <<<"$theirs")
    if [ -n "$other" ]; then
      ratio=$(awk -v a="$ops" -v b="$other" 'BEGIN { printf "%.2f", a / b }')
    else
      other="-"; ratio="-"
    fi
    printf '%-8s %8s %14s %14s %7s\n' "$test" "$p" "$ops" "$other" "$ratio"
  done <<<"$mine"
done
