#!/usr/bin/env bash
# Throughput of the bitmap, HyperLogLog and geo commands of `redoubt node` beside redis-server
# on this machine, with redis-benchmark running each command as given (`__rand_int__` is
# replaced by a random zero-padded 12-digit number below -r, which a bit offset may not be:
# SETBIT writes one bit in the middle of the 1 MB bitmap).
#
#   bench/types.sh                      # builds the release binary, prints a table
#   REQUESTS=20000 PIPELINES=1 bench/types.sh
#   BIN=target/debug/redoubt bench/types.sh   # an existing binary, no build
#
# Both servers run on loopback with persistence off and get the same data first: a 1 MB
# bitmap, three HyperLogLogs of 10 000 random elements each, and 20 000 random points over
# Sicily. The ratio column is redoubt / redis-server (>= 1.0 means redoubt is as fast).
set -euo pipefail

cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-100000}
CLIENTS=${CLIENTS:-50}
PIPELINES=${PIPELINES:-"1 16"}

command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found (apt-get install redis-tools)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server not found" >&2; exit 1; }
[ -n "${BIN:-}" ] || cargo build --release --quiet --bin redoubt
BIN=${BIN:-target/release/redoubt}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_ready() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }

REDOUBT_PORT=$(free_port)
"$BIN" node --port "$REDOUBT_PORT" --dir "$(mktemp -d)" --save '' 2>/dev/null >/dev/null &
pids+=($!)
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --save '' --appendonly no --daemonize no >/dev/null &
pids+=($!)
wait_ready "$REDOUBT_PORT"
wait_ready "$REDIS_PORT"

# The same data in both servers (awk's fixed seed makes the points identical).
POINTS=$(mktemp)
trap 'cleanup; rm -f "$POINTS"' EXIT
awk 'BEGIN { srand(42); for (i = 0; i < 20000; i++)
  printf "GEOADD geo %.6f %.6f p%d\n", 12 + 4 * rand(), 36.5 + 2.5 * rand(), i
  for (k = 1; k <= 3; k++) for (line = 0; line < 100; line++) {
    printf "PFADD h%d", k; for (i = 0; i < 100; i++) printf " e%d", int(rand() * 1e9); print "" } }' >"$POINTS"
for port in "$REDOUBT_PORT" "$REDIS_PORT"; do
  redis-cli -p "$port" SETBIT bm1m 8388607 1 >/dev/null
  redis-cli -p "$port" <"$POINTS" >/dev/null
done

# name | requests | random range | command
TESTS=(
  "setbit|$REQUESTS|1|SETBIT bm1m 4194303 1"
  "bitcount_1mb|$((REQUESTS / 10))|1|BITCOUNT bm1m"
  "pfadd|$REQUESTS|100000000|PFADD hll __rand_int__"
  "pfcount_3keys|$((REQUESTS / 10))|1|PFCOUNT h1 h2 h3"
  "geoadd|$REQUESTS|100000000|GEOADD geoadd 13.__rand_int__ 38.5 m__rand_int__"
  "geosearch|$((REQUESTS / 2))|1|GEOSEARCH geo FROMLONLAT 14 37.5 BYRADIUS 20 km ASC COUNT 10"
)

# Requests per second of one command on one server at one pipeline depth.
rps() {
  local port=$1 n=$2 r=$3 p=$4; shift 4
  # shellcheck disable=SC2086
  redis-benchmark -p "$port" -c "$CLIENTS" -n "$n" -r "$r" -P "$p" --csv $* 2>/dev/null \
    | tail -n 1 | tr -d '"' | awk -F, '$2 ~ /^[0-9.]+$/ { print $2 }' || true
}

printf '%-14s %8s %14s %14s %7s\n' test pipeline redoubt_ops/s redis_ops/s ratio
for p in $PIPELINES; do
  for t in "${TESTS[@]}"; do
    IFS='|' read -r name n r command <<<"$t"
    mine=$(rps "$REDOUBT_PORT" "$n" "$r" "$p" "$command")
    theirs=$(rps "$REDIS_PORT" "$n" "$r" "$p" "$command")
    ratio=$(awk -v a="$mine" -v b="$theirs" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    printf '%-14s %8s %14s %14s %7s\n' "$name" "$p" "$mine" "$theirs" "$ratio"
  done
done
# Both servers answered alike on the data they were given.
for q in "BITCOUNT bm1m" "PFCOUNT h1 h2 h3" "GEOSEARCH geo FROMLONLAT 14 37.5 BYRADIUS 20 km ASC COUNT 3"; do
  # shellcheck disable=SC2086
  a=$(redis-cli -p "$REDOUBT_PORT" $q | tr '\n' ' ')
  # shellcheck disable=SC2086
  b=$(redis-cli -p "$REDIS_PORT" $q | tr '\n' ' ')
  [ "$a" = "$b" ] && echo "same reply: $q" || echo "DIFFERENT reply to $q: redoubt [$a] redis [$b]"
done
