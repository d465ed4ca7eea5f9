#!/usr/bin/env bash
# Transactions, scripts, pub/sub and blocking pops through the proxy beside the same node
# direct: MULTI/EXEC of 5 SETs, EVALSHA, PUBLISH to SUBSCRIBERS (100) subscribers and a
# BLPOP/LPUSH ping-pong, with the ratio proxy / direct.
#
#   bench/proxy_transactions.sh                          # builds the release binary, prints a table
#   REDOUBT_BIN=target/debug/redoubt bench/proxy_transactions.sh   # skip the build
#   SECONDS_PER_TEST=5 CLIENTS=4 REQUESTS=100000 bench/proxy_transactions.sh
#   TESTS="multi_exec blpop_pingpong" bench/proxy_transactions.sh   # some rows only
#   PAIRS=1 TESTS=blpop_pingpong bench/proxy_transactions.sh         # one ping-pong pair only
#
# One node behind a proxy with one group. MULTI/EXEC: CLIENTS Python processes, each sending
# batches of 16 transactions (MULTI, 5 SETs of one hash tag, EXEC) in one write over raw RESP;
# the proxy passes each whole transaction to the node as one request. EVALSHA: redis-benchmark,
# 50 clients, `EVALSHA <sha> 1 key:__rand_int__ 100` (INCR, GET, EXPIRE). BLPOP/LPUSH
# ping-pong: one row per count in PAIRS (default "1 16"). PROXY_THREADS sets the proxy's worker
# threads (default: the proxy's own, one below 4 cores).
set -euo pipefail

cd "$(dirname "$0")/.."
SECONDS_PER_TEST=${SECONDS_PER_TEST:-3}
CLIENTS=${CLIENTS:-2}
REQUESTS=${REQUESTS:-100000}
SUBSCRIBERS=${SUBSCRIBERS:-100}
PAIRS=${PAIRS:-"1 16"}
PROXY_THREADS=${PROXY_THREADS:-}
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
"$BIN" proxy --config "$WORK/proxy.toml" ${PROXY_THREADS:+--threads "$PROXY_THREADS"} >/dev/null 2>&1 &
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

# PUBLISH to SUBSCRIBERS subscribers of one channel: one publisher pipelining PUBLISH 16 at a
# time, the subscribers read by 4 processes; prints messages delivered per second.
publish_fanout() {
  python3 - "$1" "$SECONDS_PER_TEST" "$SUBSCRIBERS" <<'PY'
import multiprocessing as mp, selectors, socket, sys, time

port, seconds, subscribers = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
MARK = b"$7\r\nmessage\r\n"

def subscribe_all(n, ready, counts, stop):
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n")
        buf = b""
        while buf.count(b"\r\n") < 6:
            buf += s.recv(4096)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, [b""])
        socks.append(s)
    ready.wait()
    got = 0
    while not stop.is_set():
        for key, _ in sel.select(timeout=0.1):
            try:
                data = key.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            tail = key.data[0] + data
            got += tail.count(MARK)
            key.data[0] = tail[-(len(MARK) - 1):]
    counts.put(got)

procs_n = 4
ready = mp.Barrier(procs_n + 1)
stop = mp.Event()
counts = mp.Queue()
per = [subscribers // procs_n + (1 if i < subscribers % procs_n else 0) for i in range(procs_n)]
procs = [mp.Process(target=subscribe_all, args=(n, ready, counts, stop)) for n in per]
for p in procs:
    p.start()
ready.wait()
pub = socket.create_connection(("127.0.0.1", port))
pub.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
batch = b"*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$5\r\nhello\r\n" * 16
start = time.monotonic()
end = start + seconds
while time.monotonic() < end:
    pub.sendall(batch)
    buf = b""
    while buf.count(b"\r\n") < 16:
        buf += pub.recv(65536)
time.sleep(0.5)
stop.set()
total = sum(counts.get() for _ in procs)
for p in procs:
    p.join()
print(f"{total / seconds:.0f}")
PY
}

# BLPOP/LPUSH ping-pong: PAIRS pairs of clients; in each pair both BLPOP their own list and
# LPUSH the other's, so one ball goes back and forth. Prints round trips (a BLPOP woken by the
# other's LPUSH) per second over all pairs. One pair measures the latency of a wake-up through
# the proxy (a ball is never in two places); many pairs measure its throughput.
blpop_pingpong() {
  python3 - "$1" "$SECONDS_PER_TEST" "$2" <<'PY2'
import multiprocessing as mp, socket, sys, time

port, seconds, pairs = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])

def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)

def player(mine, theirs, serve, start, out):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(cmd("DEL", mine))
    s.recv(64)
    start.wait()
    if serve:
        time.sleep(0.3)
        s.sendall(cmd("LPUSH", theirs, "ball"))
        s.recv(64)
    done, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        s.sendall(cmd("BLPOP", mine, "1"))
        buf = b""
        while buf.count(b"\r\n") < 5 and not buf.startswith(b"*-1"):
            buf += s.recv(4096)
        if buf.startswith(b"*-1"):
            continue
        s.sendall(cmd("LPUSH", theirs, "ball"))
        s.recv(64)
        done += 1
    out.put(done)

out = mp.Queue()
start = mp.Barrier(2 * pairs)
procs = []
for i in range(pairs):
    a, b = "{pp%d}a" % i, "{pp%d}b" % i
    procs.append(mp.Process(target=player, args=(a, b, False, start, out)))
    procs.append(mp.Process(target=player, args=(b, a, True, start, out)))
for p in procs:
    p.start()
total = sum(out.get() for _ in procs)
for p in procs:
    p.join()
print(f"{total / seconds:.0f}")
PY2
}

printf '%-40s %12s %12s %7s\n' test proxy direct ratio
for test in ${TESTS:-multi_exec evalsha publish_fanout blpop_pingpong}; do
  variants=("")
  if [ "$test" = blpop_pingpong ]; then read -r -a variants <<<"$PAIRS"; fi
  for variant in "${variants[@]}"; do
    proxy=$("$test" "$PROXY_PORT" $variant)
    direct=$("$test" "$NODE_PORT" $variant)
    ratio=$(python3 -c "print(f'{$proxy / max($direct, 1):.2f}')")
    case $test in
      multi_exec) unit="tx/s (5 SETs)" ;;
      evalsha) unit="calls/s" ;;
      publish_fanout) unit="msgs delivered/s ($SUBSCRIBERS subs)" ;;
      blpop_pingpong) unit="round trips/s ($variant pairs)" ;;
    esac
    printf '%-40s %12s %12s %7s\n' "$test $unit" "$proxy" "$direct" "$ratio"
  done
done
