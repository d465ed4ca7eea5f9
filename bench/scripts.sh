#!/usr/bin/env bash
# EVALSHA throughput of `redoubt node` beside redis-server, with redis-benchmark.
#
#   bench/scripts.sh                          # builds the release binary, prints a table
#   REQUESTS=50000 PIPELINES=1 bench/scripts.sh
#   REDOUBT_BIN=target/release/redoubt bench/scripts.sh   # skip the build
#
# The script (three commands: INCR, a GET and an EXPIRE of a random key) is loaded with SCRIPT
# LOAD on both servers, then redis-benchmark sends `EVALSHA <sha> 1 key:__rand_int__ <ttl>` with
# 50 clients at each pipeline depth. A plain SET row gives the baseline. The ratio column is
# redoubt / redis-server (>= 1.0 means redoubt is as fast).
set -euo pipefail

cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
PIPELINES=${PIPELINES:-"1 16"}
SCRIPT="local n = redis.call('incr', KEYS[1]) redis.call('get', KEYS[1]) redis.call('expire', KEYS[1], ARGV[1]) return n"

for tool in redis-benchmark redis-cli redis-server; do
  command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done
if [ -n "${REDOUBT_BIN:-}" ]; then
  BIN=$REDOUBT_BIN
else
  cargo build --release --quiet --bin redoubt
  BIN=${CARGO_TARGET_DIR:-target}/release/redoubt
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_ready() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }

REDOUBT_PORT=$(free_port)
"$BIN" node --port "$REDOUBT_PORT" --dir "$(mktemp -d)" --save '' >/dev/null 2>&1 &
pids+=($!)
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --save '' --appendonly no --daemonize no >/dev/null &
pids+=($!)
wait_ready "$REDOUBT_PORT"
wait_ready "$REDIS_PORT"

# Prints the requests per second of one redis-benchmark run: port, pipeline, command words.
rps() {
  local port=$1 pipeline=$2
  shift 2
  redis-benchmark -p "$port" -c "$CLIENTS" -n "$REQUESTS" -r 100000 -P "$pipeline" --csv "$@" 2>/dev/null \
    | tail -n 1 | tr -d '"' | awk -F, '{ print $2 }' || true
}

printf '%-14s %8s %14s %14s %7s\n' test pipeline redoubt_ops/s redis_ops/s ratio
for p in $PIPELINES; do
  for test in evalsha set; do
    row=()
    for port in "$REDOUBT_PORT" "$REDIS_PORT"; do
      if [ "$test" = evalsha ]; then
        # The SET row before leaves strings the script's INCR would refuse.
        redis-cli -p "$port" flushall >/dev/null
        sha=$(redis-cli -p "$port" script load "$SCRIPT")
        row+=("$(rps "$port" "$p" evalsha "$sha" 1 key:__rand_int__ 100)")
      else
        row+=("$(rps "$port" "$p" set key:__rand_int__ value)")
      fi
    done
    ratio=$(awk -v a="${row[0]}" -v b="${row[1]}" 'BEGIN { printf "%.2f", a / b }')
    printf '%-14s %8s %14s %14s %7s\n' "$test" "$p" "${row[0]}" "${row[1]}" "$ratio"
  done
done
