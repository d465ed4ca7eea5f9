#!/usr/bin/env bash
# RDB persistence of `redoubt node` beside redis-server on this machine: SAVE time and file
# size, load time at start, and memory and client pauses during a BGSAVE under writes.
#
#   bench/persistence.sh                 # 1M keys, mixed types; prints a Markdown table
#   KEYS=100000 bench/persistence.sh     # smaller run
#   REDOUBT_BIN=target/release/redoubt bench/persistence.sh   # skip the build
#
# Dataset: KEYS keys, 70% strings (`key:<12 digits>` -> 32 bytes), 10% hashes of 8 fields, 10%
# lists of 8 items, 5% sets of 8 members, 5% sorted sets of 8 members, via redis-cli --pipe.
# Memory during BGSAVE: the server's proportional set size (PSS, from /proc/PID/smaps_rollup,
# so a fork's shared pages count once), summed over the server and its children, sampled every
# 20 ms while BGSAVE runs and redis-benchmark overwrites random string keys (SET, 20 clients,
# same key names and value size, so the dataset does not grow);
# "peak/before" is the peak over the PSS just before BGSAVE (after 1 s of those writes). "longest pause" is the slowest
# GET round trip of one client polling in a loop during that BGSAVE.
set -euo pipefail

cd "$(dirname "$0")/.."
KEYS=${KEYS:-1000000}
if [ -z "${REDOUBT_BIN:-}" ]; then
  cargo build --release --quiet --bin redoubt
  REDOUBT_BIN=target/release/redoubt
fi
for tool in redis-server redis-cli redis-benchmark python3; do
  command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 1; }
done

WORK=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
wait_pong() { for _ in $(seq 6000); do [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0; sleep 0.01; done; echo "server on $1 did not answer" >&2; exit 1; }

# The dataset as RESP, generated once.
python3 - "$KEYS" > "$WORK/data.resp" <<'EOF'
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
def cmd(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    out.write(b"".join(parts))
strings = n * 7 // 10
for i in range(strings):
    # redis-benchmark's key format, so its SETs (-r strings) overwrite these keys.
    cmd("SET", f"key:{i:012d}", f"value-{i:026d}")
for i in range(n - strings):
    kind = i % 6
    if kind < 2:
        cmd("HSET", f"hash:{i}", *[x for f in range(8) for x in (f"field{f}", f"v{i}-{f}")])
    elif kind < 4:
        cmd("RPUSH", f"list:{i}", *[f"item{i}-{f}" for f in range(8)])
    elif kind < 5:
        cmd("SADD", f"set:{i}", *[f"m{f}" for f in range(8)])
    else:
        cmd("ZADD", f"zset:{i}", *[x for f in range(8) for x in (f / 3, f"m{f}")])
EOF

# Sum of PSS (KB) of PID and its children.
pss_kb() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    local v
    v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# One slow-GET prober: prints the longest round trip in ms until the file $2 exists.
probe() {
  python3 - "$1" "$2" <<'EOF'
import os, socket, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
worst = 0.0
req = b"*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000001\r\n"
while not os.path.exists(stop):
    t = time.perf_counter()
    s.sendall(req)
    buf = b""
    while True:
        buf += s.recv(4096)
        done_lines = 2 if buf.startswith(b"$") and not buf.startswith(b"$-1") else 1
        if buf.count(b"\r\n") >= done_lines:
            break
    worst = max(worst, time.perf_counter() - t)
print(f"{worst * 1000:.1f}")
EOF
}

# Runs every measurement against one server; prints "save_ms size_bytes load_ms before_mb peak_mb pause_ms".
measure() {
  local name=$1 dir="$WORK/$1" port pid
  mkdir -p "$dir"
  port=$(free_port)
  start_server() {
    if [ "$name" = redoubt ]; then
      printf 'save = ""\ndir = "%s"\n' "$dir" > "$dir/node.toml"
      "$REDOUBT_BIN" node --port "$port" --config "$dir/node.toml" --dir "$dir" >/dev/null 2>&1 &
    else
      redis-server --port "$port" --save '' --appendonly no --dir "$dir" >/dev/null 2>&1 &
    fi
    pid=$!
    pids+=("$pid")
  }
  start_server
  wait_pong "$port"
  redis-cli -p "$port" --pipe < "$WORK/data.resp" >/dev/null
  local t0 save_ms size load_ms
  t0=$(now_ms); redis-cli -p "$port" save >/dev/null; save_ms=$(( $(now_ms) - t0 ))
  size=$(stat -c %s "$dir/dump.rdb")
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  t0=$(now_ms); start_server; wait_pong "$port"
  until [ "$(redis-cli -p "$port" dbsize)" = "$KEYS" ]; do sleep 0.01; done
  load_ms=$(( $(now_ms) - t0 ))

  local before peak=0 stop="$WORK/stop-$name" pause
  redis-benchmark -p "$port" -c 20 -n 100000000 -r "$((KEYS * 7 / 10))" -t set -d 32 -q >/dev/null 2>&1 &
  local writer=$!
  pids+=("$writer")
  rm -f "$stop"
  probe "$port" "$stop" > "$WORK/pause-$name" &
  local prober=$!
  sleep 1
  before=$(pss_kb "$pid")
  redis-cli -p "$port" bgsave >/dev/null
  while :; do
    local now
    now=$(pss_kb "$pid"); [ "$now" -gt "$peak" ] && peak=$now
    [ "$(redis-cli -p "$port" info persistence | tr -d '\r' | awk -F: '/^rdb_bgsave_in_progress/ { print $2 }')" = 0 ] && break
    sleep 0.02
  done
  touch "$stop"; wait "$prober" || true
  kill "$writer" 2>/dev/null || true; wait "$writer" 2>/dev/null || true
  pause=$(cat "$WORK/pause-$name")
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  echo "$save_ms $size $load_ms $((before / 1024)) $((peak / 1024)) $pause"
}

echo "measuring redoubt..." >&2
read -r r_save r_size r_load r_before r_peak r_pause < <(measure redoubt)
echo "measuring redis-server..." >&2
read -r s_save s_size s_load s_before s_peak s_pause < <(measure redis)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
echo "| $KEYS keys, mixed types | redoubt | redis-server | redoubt/redis |"
echo "|---|---|---|---|"
echo "| SAVE (ms) | $r_save | $s_save | $(ratio "$r_save" "$s_save") |"
echo "| file size (bytes) | $r_size | $s_size | $(ratio "$r_size" "$s_size") |"
echo "| load at start (ms) | $r_load | $s_load | $(ratio "$r_load" "$s_load") |"
echo "| PSS before BGSAVE (MB) | $r_before | $s_before | $(ratio "$r_before" "$s_before") |"
echo "| peak PSS during BGSAVE under writes (MB) | $r_peak | $s_peak | $(ratio "$r_peak" "$s_peak") |"
echo "| peak/before | $(ratio "$r_peak" "$r_before") | $(ratio "$s_peak" "$s_before") | |"
echo "| longest GET round trip during BGSAVE (ms) | $r_pause | $s_pause | $(ratio "$r_pause" "$s_pause") |"
