#!/usr/bin/env bash
# Streams on `redoubt node` beside redis-server, with redis-benchmark.
#
#   bench/streams.sh                      # builds the release binary, prints two tables
#   REQUESTS=50000 ENTRIES=200000 bench/streams.sh
#
# Throughput (50 clients, pipeline 1 and 16, fixed arguments):
#   xadd          XADD s * f <rand>
#   xadd_maxlen   XADD c MAXLEN ~ 1000 * f <rand>
#   xrange_100    XRANGE r - + COUNT 100             (r holds 1000 entries)
#   xreadgroup_10 XREADGROUP GROUP g c COUNT 10 STREAMS q >   (q holds enough for every call)
#   xack_10       XACK q g <10 IDs>                  (the first call acknowledges them, the
#                                                      rest find nothing pending: command cost)
# Memory: used_memory and RSS growth for ENTRIES (default 1M) `XADD m * f <6 bytes>` entries.
# The ratio column is redoubt / redis-server (>= 1.0: redoubt as fast; for memory, <= 1.0:
# redoubt as small).
set -euo pipefail

cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-100000}
CLIENTS=${CLIENTS:-50}
ENTRIES=${ENTRIES:-1000000}
PIPELINES=${PIPELINES:-"1 16"}

command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found (apt-get install redis-tools)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server not found" >&2; exit 1; }
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet
BIN=target/release/redoubt

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_ready() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }

start_servers() {
  REDOUBT_PORT=$(free_port)
  "$BIN" node --port "$REDOUBT_PORT" --dir "$(mktemp -d)" --save '' 2>/dev/null >/dev/null &
  REDOUBT_PID=$!
  pids+=("$REDOUBT_PID")
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --save '' --appendonly no --daemonize no >/dev/null &
  REDIS_PID=$!
  pids+=("$REDIS_PID")
  wait_ready "$REDOUBT_PORT"
  wait_ready "$REDIS_PORT"
}

stop_servers() {
  kill "$REDOUBT_PID" "$REDIS_PID" 2>/dev/null || true
  wait "$REDOUBT_PID" "$REDIS_PID" 2>/dev/null || true
}

# ops/s of one fixed command: bench <port> <pipeline> <requests> <args...>
bench() {
  local port=$1 pipe=$2 n=$3
  shift 3
  redis-benchmark -p "$port" -c "$CLIENTS" -n "$n" -r 100000 -P "$pipe" --csv "$@" 2>/dev/null \
    | tail -n 1 | tr -d '"' | awk -F, '{ print ($2 + 0) }'
}

# Fills stream <key> with <n> entries.
fill() {
  redis-benchmark -p "$1" -c 10 -n "$3" -P 64 XADD "$2" '*' f v >/dev/null 2>&1
}

prepare() {
  local port=$1
  redis-cli -p "$port" flushall >/dev/null
  fill "$port" r 1000
  fill "$port" q "$((REQUESTS * 10 + 1000))"
  redis-cli -p "$port" XGROUP CREATE q g 0 >/dev/null
  # Ten pending IDs for XACK, delivered once.
  ACK_IDS=$(redis-cli -p "$port" XRANGE q - + COUNT 10 | grep -E '^[0-9]+-[0-9]+$' | tr '\n' ' ')
  redis-cli -p "$port" XREADGROUP GROUP g warm COUNT 10 STREAMS q '>' >/dev/null
}

row() {
  local name=$1 pipe=$2 mine=$3 theirs=$4
  ratio=$(awk -v a="$mine" -v b="$theirs" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  printf '%-14s %8s %14s %14s %7s\n' "$name" "$pipe" "$mine" "$theirs" "$ratio"
}

start_servers
printf '%-14s %8s %14s %14s %7s\n' test pipeline redoubt_ops/s redis_ops/s ratio
for p in $PIPELINES; do
  declare -A result=()
  for side in redoubt redis; do
    if [ "$side" = redis ]; then port=$REDIS_PORT; else port=$REDOUBT_PORT; fi
    prepare "$port"
    result[$side.xadd]=$(bench "$port" "$p" "$REQUESTS" XADD s '*' f __rand_int__)
    result[$side.xadd_maxlen]=$(bench "$port" "$p" "$REQUESTS" XADD c MAXLEN '~' 1000 '*' f __rand_int__)
    result[$side.xrange_100]=$(bench "$port" "$p" "$REQUESTS" XRANGE r - + COUNT 100)
    result[$side.xreadgroup_10]=$(bench "$port" "$p" "$REQUESTS" XREADGROUP GROUP g c COUNT 10 STREAMS q '>')
    # shellcheck disable=SC2086
    result[$side.xack_10]=$(bench "$port" "$p" "$REQUESTS" XACK q g $ACK_IDS)
  done
  for t in xadd xadd_maxlen xrange_100 xreadgroup_10 xack_10; do
    row "$t" "$p" "${result[redoubt.$t]}" "${result[redis.$t]}"
  done
  unset result
done
stop_servers

# Memory of ENTRIES small entries, each server fresh.
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
used() { redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'; }
start_servers
echo
printf '%-26s %14s %14s %7s\n' "memory ($ENTRIES entries)" redoubt redis ratio
declare -A mem=()
for side in redoubt redis; do
  if [ "$side" = redis ]; then port=$REDIS_PORT pid=$REDIS_PID; else port=$REDOUBT_PORT pid=$REDOUBT_PID; fi
  u0=$(used "$port") r0=$(rss_kb "$pid")
  redis-benchmark -p "$port" -c 10 -n "$ENTRIES" -P 64 XADD m '*' f 123456 >/dev/null 2>&1
  # redis-benchmark may send a few more than asked: divide by the real length.
  len=$(redis-cli -p "$port" XLEN m)
  u1=$(used "$port") r1=$(rss_kb "$pid")
  mem[$side.used]=$(( (u1 - u0) / len ))
  mem[$side.rss]=$(( (r1 - r0) * 1024 / len ))
done
for m in used rss; do
  ratio=$(awk -v a="${mem[redoubt.$m]}" -v b="${mem[redis.$m]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  printf '%-26s %14s %14s %7s\n' "$m bytes/entry" "${mem[redoubt.$m]}" "${mem[redis.$m]}" "$ratio"
done
