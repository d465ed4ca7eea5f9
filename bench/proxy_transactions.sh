#!/usr/bin/env bash
# Transactions and scripts through the proxy beside the same node direct: MULTI/EXEC of 5 SETs
# and EVALSHA, with the ratio proxy / direct.
#
#   bench/proxy_transactions.sh                          # builds the release binary, prints a table
#   REDOUBT_BIN=target/debug/redoubt bench/proxy_transactions.sh   # skip the build
#   SECONDS_PER_TEST=5 CLIENTS=4 REQUESTS=100000 bench/proxy_transactions.sh
#
# One node behind a proxy with one group. MULTI/EXEC: CLIENTS Python processes, each sending
# batches of 16 transactions (MULTI, 5 SETs of one hash tag, EXEC) in one write over raw RESP,
# so each transaction pins, runs and releases a node connection in the proxy. EVALSHA:
# redis-benchmark, 50 clients, `EVALSHA <sha> 1 key:__rand_int__ 100` (INCR, GET, EXPIRE).
set -euo pipefail

cd "$(dirname "$0")/.."
SECONDS_PER_TEST=${SECONDS_PER_TEST:-3}
CLIENTS=${CLIENTS:-2}
REQUESTS=${REQUESTS:-100000}
SCRIPT="local n = redis.call('incr', KEYS[1]) redis.call('get', KEYS[1]) redis.call('expire', KEYS[1], ARGV[1]) return n"
for tool in redis-benchmark redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 1; }
done
if [ -z "${REDOUBT_BIN:-}" ]; then
  cargo build --release --quiet --bin redoubt
fi
BIN=${REDOUBT_BIN:-target/release/redoubt}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
WORK=$(mktemp -d)
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
wait_ready() { for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }

NODE_PORT=$(free_port)
"$BIN" node --port "$NODE_PORT" --dir "$(mktemp -d)" --save '' >/dev/null 2>&1 &
pids+=($!)
PROXY_PORT=$(free_port)
ADMIN_PORT=$(free_port)
cat >"$WORK/proxy.toml" <<TOML
listen = "127.0.0.1:$PROXY_PORT"
admin = "127.0.0.1:$ADMIN_PORT"
[[groups]]
id = "a"
primary = "127.0.0.1:$NODE_PORT"
standbys = []
TOML
"$BIN" proxy --config "$WORK/proxy.toml" >/dev/null 2>&1 &
pids+=($!)
wait_ready "$NODE_PORT"
wait_ready "$PROXY_PORT"

multi_exec() {
  python3 - "$1" "$SECONDS_PER_TEST" "$CLIENTS" <<'PY'
import multiprocessing as mp, socket, sys, time

BATCH = 16

def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)

def worker(port, seconds, n, out):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    one = encode("MULTI") + b"".join(encode("SET", "{tx%d}:%d" % (n, i), "v") for i in range(5)) + encode("EXEC")
    done, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        s.sendall(one * BATCH)
        buf = b""
        while buf.count(b"*5\r\n") < BATCH:
            buf += s.recv(1 << 20)
        done += BATCH
    out.put(done)

port, seconds, clients = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
out = mp.Queue()
procs = [mp.Process(target=worker, args=(port, seconds, i, out)) for i in range(clients)]
start = time.monotonic()
for p in procs:
    p.start()
total = sum(out.get() for _ in procs)
for p in procs:
    p.join()
print(f"{total / (time.monotonic() - start):.0f}")
PY
}

evalsha() {
  local sha
  sha=$(redis-cli -p "$1" script load "$SCRIPT")
  redis-benchmark -p "$1" -c 50 -n "$REQUESTS" -r 100000 --csv evalsha "$sha" 1 key:__rand_int__ 100 2>/dev/null \
    | tail -n 1 | tr -d '"' | awk -F, '{ printf "%.0f\n", $2 }'
}

printf '%-22s %12s %12s %7s\n' test proxy direct ratio
for test in multi_exec evalsha; do
  proxy=$("$test" "$PROXY_PORT")
  direct=$("$test" "$NODE_PORT")
  ratio=$(python3 -c "print(f'{$proxy / max($direct, 1):.2f}')")
  unit=$([ "$test" = multi_exec ] && echo "tx/s (5 SETs)" || echo "calls/s")
  printf '%-22s %12s %12s %7s\n' "$test $unit" "$proxy" "$direct" "$ratio"
done
