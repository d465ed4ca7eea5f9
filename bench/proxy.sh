#!/usr/bin/env bash
# Throughput through `redoubt proxy` (one group) against the same node directly and through
# twemproxy (Debian package `nutcracker`), with redis-benchmark; then resident memory per idle
# client connection on the proxy with 10,000 connections.
#
#   bench/proxy.sh
#   REQUESTS=100000 TESTS=set,get bench/proxy.sh
#   RUNS=3 REDOUBT_BIN=target/release/redoubt bench/proxy.sh   # median of 3 runs, no build
#   BASE_BIN=/tmp/redoubt-old bench/proxy.sh   # adds a column: a second proxy from that binary
#
# Within a run the three targets take turns (direct, proxy, twemproxy) at each pipeline depth;
# with RUNS > 1 each figure is the median over the runs.
set -euo pipefail

cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
TESTS=${TESTS:-set,get,mset}
PIPELINES=${PIPELINES:-"1 16"}
IDLE_CLIENTS=${IDLE_CLIENTS:-10000}
RUNS=${RUNS:-1}

command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found (apt-get install redis-tools)" >&2; exit 1; }
if [ -n "${REDOUBT_BIN:-}" ]; then
  BIN=$REDOUBT_BIN
else
  cargo build --release --quiet
  BIN=target/release/redoubt
fi
WORK=$(mktemp -d)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
wait_ready() { for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "nothing answers on $1" >&2; exit 1; }

NODE_PORT=$(free_port)
"$BIN" node --port "$NODE_PORT" --dir "$(mktemp -d)" --save '' >/dev/null 2>&1 &
pids+=($!)
wait_ready "$NODE_PORT"

PROXY_PORT=$(free_port)
cat > "$WORK/proxy.toml" <<TOML
listen = "127.0.0.1:$PROXY_PORT"
[[groups]]
id = "a"
primary = "127.0.0.1:$NODE_PORT"
TOML
"$BIN" proxy --config "$WORK/proxy.toml" ${PROXY_ARGS:-} >/dev/null 2>&1 &
PROXY_PID=$!
pids+=($PROXY_PID)
wait_ready "$PROXY_PORT"

BASE_PORT=""
if [ -n "${BASE_BIN:-}" ]; then
  BASE_PORT=$(free_port)
  sed "s/:$PROXY_PORT\"/:$BASE_PORT\"/" "$WORK/proxy.toml" > "$WORK/base.toml"
  "$BASE_BIN" proxy --config "$WORK/base.toml" ${PROXY_ARGS:-} >/dev/null 2>&1 &
  pids+=($!)
  wait_ready "$BASE_PORT"
fi

TWEM_PORT=""
if command -v nutcracker >/dev/null; then
  TWEM_PORT=$(free_port)
  cat > "$WORK/twemproxy.yml" <<YML
alpha:
  listen: 127.0.0.1:$TWEM_PORT
  hash: fnv1a_64
  distribution: ketama
  redis: true
  server_connections: 1
  servers:
   - 127.0.0.1:$NODE_PORT:1
YML
  nutcracker -c "$WORK/twemproxy.yml" -s "$(free_port)" -o "$WORK/twemproxy.log" &
  pids+=($!)
  wait_ready "$TWEM_PORT"
fi

# A failed run (redis-benchmark cannot connect, say) prints nothing and leaves the median to
# the other runs.
run() {
  { redis-benchmark -p "$1" -c "$CLIENTS" -n "$REQUESTS" -r 100000 -P "$2" -t "$TESTS" --csv 2>/dev/null || true; } \
    | tail -n +2 | tr -d '"' | awk -F, '{ split($1, w, " "); print tolower(w[1]), $2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

# Reads "test ops" lines (one per test per run) and prints each test's median, in first-seen order.
median_of() {
  awk 'NF == 2 { v[$1] = v[$1] " " $2; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
       END { for (i = 1; i <= n; i++) { k = split(substr(v[order[i]], 2), a, " ");
             for (x = 1; x <= k; x++) for (y = x + 1; y <= k; y++) if (a[y] + 0 < a[x] + 0) { t = a[x]; a[x] = a[y]; a[y] = t }
             print order[i], a[int((k + 1) / 2)] } }'
}

printf '%-6s %4s %12s %12s %12s %15s %13s %12s\n' test pipe direct proxy twemproxy proxy/twemproxy proxy/direct base-proxy
for p in $PIPELINES; do
  direct_all=""; proxy_all=""; twem_all=""; base_all=""
  for _ in $(seq "$RUNS"); do
    direct_all+=$(run "$NODE_PORT" "$p")$'\n'
    proxy_all+=$(run "$PROXY_PORT" "$p")$'\n'
    if [ -n "$TWEM_PORT" ]; then twem_all+=$(run "$TWEM_PORT" "$p")$'\n'; fi
    if [ -n "$BASE_PORT" ]; then base_all+=$(run "$BASE_PORT" "$p")$'\n'; fi
  done
  direct=$(median_of <<<"$direct_all")
  proxy=$(median_of <<<"$proxy_all")
  twem=$(median_of <<<"$twem_all")
  base=$(median_of <<<"$base_all")
  while read -r test ops; do
    [ -z "$test" ] && continue
    d=$(awk -v t="$test" '$1 == t { print $2 }' <<<"$direct")
    t=$(awk -v t="$test" '$1 == t { print $2 }' <<<"$twem"); t=${t:--}
    b=$(awk -v t="$test" '$1 == t { print $2 }' <<<"$base"); b=${b:--}
    printf '%-6s %4s %12s %12s %12s %15s %13s %12s\n' "$test" "$p" "$d" "$ops" "$t" "$(ratio "$ops" "$t")" "$(ratio "$ops" "$d")" "$b"
  done <<<"$proxy"
done

[ "${IDLE_CLIENTS}" = 0 ] && exit 0
# Memory per idle client: RSS growth of the proxy while IDLE_CLIENTS connections sit open.
ulimit -n $((IDLE_CLIENTS * 2 + 1024)) 2>/dev/null || true
python3 - "$PROXY_PORT" "$PROXY_PID" "$IDLE_CLIENTS" <<'PY'
import socket, sys, time
port, pid, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def rss_kb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
before = rss_kb()
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    conns.append(s)
# One round trip on a sample of them proves they are served, not just queued.
for s in conns[:: max(1, n // 100)]:
    s.sendall(b"PING\r\n")
    assert s.recv(16) == b"+PONG\r\n"
time.sleep(1)
after = rss_kb()
print(f"\nidle clients: {n}, proxy RSS {before} kB -> {after} kB, {(after - before) * 1024 / n:.0f} bytes per idle client")
PY
