#!/usr/bin/env bash
# How many blocked clients one proxy holds, and what they cost: two groups (one node each)
# behind one proxy; CLIENTS clients each send BLPOP on a key of their own (half the keys on
# each group; MULTI=1: every client waits on one key of each group), then the script reads the
# proxy's pinned-connection gauge, the nodes' connected clients and the proxy's resident
# memory, pushes one element per key and checks that every client got exactly its element.
#
#   bench/blocking.sh                       # 9000 clients, debug build
#   CLIENTS=4000 MULTI=1 BIN=target/release/redoubt bench/blocking.sh
#
# Each blocked client holds one node connection per group its keys span, so the proxy needs
# two descriptors per single-group waiter: the process's descriptor limit bounds the count.
set -euo pipefail

cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-9000}
MULTI=${MULTI:-0}
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
  redis-cli -p "$port" config set maxclients 100000 >/dev/null
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

python3 - "$PROXY_PORT" "$ADMIN_PORT" "$PROXY_PID" "$CLIENTS" "$MULTI" "${NODES[@]}" <<'PY'
import asyncio, sys, time, urllib.request

proxy, admin, pid, clients, multi = map(int, sys.argv[1:6])
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
    line = await r.readline()
    if line[:1] == b"$":
        data = await r.readexactly(int(line[1:]) + 2)
        line = data[:-2]
    w.close()
    return line

def gauge():
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics").read().decode()
    for line in text.splitlines():
        if line.startswith('redoubt_proxy_pinned_connections{reason="blocking"}'):
            return int(float(line.split()[-1]))
    return -1

def rss_mib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024

async def node_clients(port):
    info = (await cmd(port, "INFO", "clients")).decode()
    return int(info.split("connected_clients:")[1].split()[0])

async def main():
    rss0 = rss_mib()
    conns = []
    started = time.time()
    for i in range(clients):
        r, w = await asyncio.open_connection("127.0.0.1", proxy)
        keys = [f"{{k{i}}}a", f"{{k{i}}}b"] if not multi else [f"ka{i}", f"kb{i}"]
        w.write(enc("BLPOP", *(keys if multi else keys[:1]), 0))
        conns.append((r, w, keys[0] if not multi else None))
    await asyncio.gather(*(w.drain() for _, w, _ in conns))
    # Until the gauge stops rising (a multi-group client holds one connection per group).
    deadline, last, still = time.time() + 180, -1, 0
    while time.time() < deadline and still < 10:
        await asyncio.sleep(0.2)
        held = gauge()
        still = still + 1 if held == last and held > 0 else 0
        last = held
    elapsed = time.time() - started - 2
    per_node = [await node_clients(p) for p in nodes]
    rss1 = rss_mib()
    print(f"blocked clients: {clients} ({'two groups each' if multi else 'one group each'}), in place after {elapsed:.1f}s")
    print(f"held node connections (pinned gauge): {held}; node connected_clients: {per_node}")
    print(f"proxy RSS: {rss0:.1f} MiB idle -> {rss1:.1f} MiB ({(rss1 - rss0) * 1024 / clients:.1f} KiB per blocked client)")
    # Wake everyone: one element per client.
    r, w = await asyncio.open_connection("127.0.0.1", proxy)
    for i, (_, _, key) in enumerate(conns):
        w.write(enc("RPUSH", key if key else f"kb{i}", f"e{i}"))
    await w.drain()
    for _ in conns:
        await r.readline()
    got, errors = 0, {}
    for i, (rr, ww, _) in enumerate(conns):
        data = b""
        while not (data.startswith(b"-") and data.endswith(b"\r\n")) and data.count(b"\r\n") < 5:
            data += await asyncio.wait_for(rr.read(4096), 30)
        if data.startswith(b"-"):
            errors[data.strip().decode()] = errors.get(data.strip().decode(), 0) + 1
        elif f"e{i}".encode() in data:
            got += 1
        ww.close()
    print(f"woken with their own element: {got}/{clients}; refused: {errors}")
    await asyncio.sleep(1)
    print(f"held node connections after: {gauge()}")

asyncio.run(main())
PY
