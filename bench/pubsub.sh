#!/usr/bin/env bash
# How many subscribers one proxy holds, and what they cost: two groups (one node each) behind
# one proxy; CLIENTS clients subscribe to one channel (CHANNELS=N: spread over N channels),
# then the script reads the nodes' subscriber connections and connected clients and the
# proxy's resident memory, publishes one message (time until every subscriber has it) and
# then MESSAGES more pipelined (deliveries per second through the proxy).
#
#   bench/pubsub.sh                                   # 5000 clients, debug build
#   CLIENTS=15000 BIN=target/release/redoubt bench/pubsub.sh
#
# Each subscriber is one client connection to the proxy; the nodes see one subscriber
# connection per group, whatever the number of clients.
set -euo pipefail

cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-5000}
CHANNELS=${CHANNELS:-1}
MESSAGES=${MESSAGES:-100}
BIN=${BIN:-target/debug/redoubt}
[ -x "$BIN" ] || cargo build --quiet
WORK=$(mktemp -d)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
wait_ready() { for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "nothing answers on $1" >&2; exit 1; }

ulimit -n "$(ulimit -Hn)"
NODES=()
for g in a b; do
  port=$(free_port)
  "$BIN" node --port "$port" --dir "$WORK" >/dev/null 2>&1 &
  pids+=($!)
  wait_ready "$port"
  NODES+=("$port")
done
PROXY_PORT=$(free_port)
ADMIN_PORT=$(free_port)
cat > "$WORK/proxy.toml" <<TOML
listen = "127.0.0.1:$PROXY_PORT"
admin = "127.0.0.1:$ADMIN_PORT"
workers = 2
maxclients = 1000000
[[groups]]
id = "a"
primary = "127.0.0.1:${NODES[0]}"
[[groups]]
id = "b"
primary = "127.0.0.1:${NODES[1]}"
TOML
"$BIN" proxy --config "$WORK/proxy.toml" >/dev/null 2>&1 &
PROXY_PID=$!
pids+=($PROXY_PID)
wait_ready "$PROXY_PORT"

python3 - "$PROXY_PORT" "$PROXY_PID" "$CLIENTS" "$CHANNELS" "$MESSAGES" "${NODES[@]}" <<'PY'
import asyncio, sys, time

proxy, pid, clients, channels, messages = map(int, sys.argv[1:6])
nodes = [int(p) for p in sys.argv[6:]]

def enc(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

async def cmd(port, *args):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(enc(*args)); await w.drain()
    data = await r.read(65536)
    w.close()
    return data

def rss_mib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024

async def node_clients(port):
    info = (await cmd(port, "INFO", "clients")).decode()
    return int(info.split("connected_clients:")[1].split()[0])

async def read_messages(r, count, payload_mark):
    """Reads until `count` frames carrying `payload_mark` arrived."""
    seen, buf = 0, b""
    while seen < count:
        buf += await r.read(65536)
        seen = buf.count(payload_mark)
    return seen

async def main():
    before = [await node_clients(p) for p in nodes]
    rss0 = rss_mib()
    conns = []
    started = time.time()
    for i in range(clients):
        r, w = await asyncio.open_connection("127.0.0.1", proxy)
        w.write(enc("SUBSCRIBE", f"cap{i % channels}"))
        conns.append((r, w))
    await asyncio.gather(*(w.drain() for _, w in conns))
    for r, _ in conns:
        line = b""
        while line.count(b"\r\n") < 5:
            line += await r.read(4096)
    subscribed = time.time() - started
    rss1 = rss_mib()
    after = [await node_clients(p) for p in nodes]
    numsub = [(await cmd(p, "PUBSUB", "NUMSUB", "cap0")).split(b"\r\n")[3].decode() for p in nodes]
    print(f"subscribers: {clients} on {channels} channel(s), confirmed after {subscribed:.1f}s")
    print(f"node connected_clients before/after: {before} -> {after}; PUBSUB NUMSUB cap0 at the nodes: {numsub}")
    print(f"proxy RSS: {rss0:.1f} MiB -> {rss1:.1f} MiB ({(rss1 - rss0) * 1024 / clients:.1f} KiB per subscriber)")
    pr, pw = await asyncio.open_connection("127.0.0.1", proxy)
    t0 = time.time()
    pw.write(enc("PUBLISH", "cap0", "first")); await pw.drain(); await pr.readline()
    got = await asyncio.gather(*(read_messages(r, 1, b"first") for i, (r, _) in enumerate(conns) if i % channels == 0))
    print(f"one message to {len(got)} subscribers: all had it after {(time.time() - t0) * 1000:.0f} ms")
    t0 = time.time()
    for c in range(channels):
        pw.write(b"".join(enc("PUBLISH", f"cap{c}", f"m{n}-end") for n in range(messages)))
    await pw.drain()
    for _ in range(messages * channels):
        await pr.readline()
    await asyncio.gather(*(read_messages(r, messages, b"-end\r\n") for r, _ in conns))
    elapsed = time.time() - t0
    print(f"{messages} messages per channel: {clients * messages} deliveries in {elapsed:.1f}s ({clients * messages / elapsed:,.0f}/s, client included); proxy RSS {rss_mib():.1f} MiB")

asyncio.run(main())
PY
