#!/usr/bin/env python3
"""Replication figures for `redoubt node`, printed as one table:

- throughput of a primary (redis-benchmark SET) with no standby, one standby replicating
  asynchronously, and one in synchronous mode (min-replicas-to-ack 1), as ratios;
- standby lag (bytes and ms) while the primary takes SETs at full speed;
- full-sync rate for 1M keys (snapshot MB/s) and the p99 latency of GETs on the primary while a
  standby syncs, against its p99 when idle.

Usage: bench/replication.sh (builds the release binary and runs this).
Environment: REDOUBT_BIN (target/release/redoubt), REQUESTS (200000), KEYS (1000000).
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.environ.get("REDOUBT_BIN", "target/release/redoubt")
REQUESTS = int(os.environ.get("REQUESTS", "200000"))
KEYS = int(os.environ.get("KEYS", "1000000"))
WORK = tempfile.mkdtemp(prefix="redoubt-repl-bench-")
procs = []


def start_node(*args):
    log = open(os.path.join(WORK, f"node-{len(procs)}.log"), "w")
    p = subprocess.Popen([BIN, "node", "--port", "0", "--dir", WORK, *args], stdout=subprocess.PIPE, stderr=log, text=True)
    procs.append(p)
    for line in p.stdout:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
            return p, int(m.group(1)), log.name
    raise SystemExit("node did not start")


def command(port, *args):
    s = socket.create_connection(("127.0.0.1", port))
    out = f"*{len(args)}\r\n" + "".join(f"${len(str(a))}\r\n{a}\r\n" for a in args)
    s.sendall(out.encode())
    data = b""
    while True:
        chunk = s.recv(1 << 20)
        data += chunk
        if not chunk or reply_complete(data):
            break
    s.close()
    return data.decode(errors="replace")


def reply_complete(data):
    if data.startswith(b"$"):
        head, _, rest = data.partition(b"\r\n")
        return len(rest) >= int(head[1:]) + 2 if head[1:].lstrip(b"-").isdigit() else False
    return data.endswith(b"\r\n")


def info_field(port, field):
    m = re.search(rf"^{field}:(\S+)", command(port, "INFO", "replication"), re.M)
    return m.group(1) if m else None


def wait_synced(primary, standby, limit=120):
    deadline = time.time() + limit
    while time.time() < deadline:
        target = info_field(primary, "master_repl_offset")
        if info_field(standby, "master_link_status") == "up" and info_field(standby, "slave_repl_offset") == target:
            return
        time.sleep(0.01)
    raise SystemExit("standby did not sync")


def bench(port, tests="set", pipeline=1, extra=()):
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-c", "50", "-n", str(REQUESTS), "-r", "100000", "-P", str(pipeline), "-t", tests, "--csv", *extra],
        capture_output=True, text=True, check=True,
    ).stdout
    rows = [l.replace('"', "").split(",") for l in out.strip().splitlines()[1:]]
    return {r[0].split()[0].lower(): (float(r[1]), float(r[6])) for r in rows}  # rps, p99 ms


def stop_all():
    for p in procs:
        p.kill()
        p.wait()
    procs.clear()


rows = []


def row(name, value, peer="", ratio="", notes=""):
    rows.append(f"| {name} | {value} | {peer} | {ratio} | {notes} |")


try:
    # Throughput with no standby, one async, one synchronous.
    figures = {}
    for mode in ("none", "async", "sync"):
        _, primary, _ = start_node(*(["--min-replicas-to-ack", "1"] if mode == "sync" else []))
        if mode != "none":
            _, standby, _ = start_node("--replicaof", f"127.0.0.1:{primary}")
            wait_synced(primary, standby)
        figures[mode] = {p: bench(primary, "set", p)["set"][0] for p in (1, 16)}
        stop_all()
    for p in (1, 16):
        base = figures["none"][p]
        for mode in ("async", "sync"):
            row(f"primary SET pipeline {p}, one standby {mode} vs none (ops/s)", f"{figures[mode][p]:.0f}", f"{base:.0f}", f"{figures[mode][p] / base:.2f}", "redis-benchmark -c 50")

    # Standby lag while the primary takes SETs at full speed.
    _, primary, _ = start_node()
    _, standby, _ = start_node("--replicaof", f"127.0.0.1:{primary}")
    wait_synced(primary, standby)
    lag_bytes, lag_ms = [], []
    done = threading.Event()

    def sample():
        while not done.is_set():
            target = int(info_field(primary, "master_repl_offset") or 0)
            t0 = time.time()
            behind = target - int(info_field(standby, "slave_repl_offset") or 0)
            lag_bytes.append(max(behind, 0))
            while int(info_field(standby, "slave_repl_offset") or 0) < target and time.time() - t0 < 5:
                pass
            lag_ms.append((time.time() - t0) * 1000)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    bench(primary, "set", 16)
    done.set()
    sampler.join()
    lag_bytes.sort()
    lag_ms.sort()
    p = lambda xs, q: xs[min(len(xs) - 1, int(len(xs) * q))] if xs else 0
    row("standby lag under full-speed SETs, bytes (median / max)", f"{p(lag_bytes, .5)} / {lag_bytes[-1] if lag_bytes else 0}", "", "", f"{len(lag_bytes)} samples, redis-benchmark -P 16")
    row("standby lag under full-speed SETs, ms (median / max)", f"{p(lag_ms, .5):.1f} / {lag_ms[-1] if lag_ms else 0:.1f}", "", "", "time until the standby reaches the primary's offset")
    stop_all()

    # Full sync of KEYS keys, and GET latency on the primary meanwhile.
    _, primary, primary_log = start_node()
    pipe = "".join(f"*3\r\n$3\r\nSET\r\n${len(f'key:{i}')}\r\nkey:{i}\r\n$10\r\nvalue-{i % 10000:04d}\r\n" for i in range(KEYS))
    subprocess.run(["redis-cli", "-p", str(primary), "--pipe"], input=pipe, text=True, capture_output=True, check=True)
    idle = bench(primary, "get", 1)["get"][1]
    started = time.time()
    _, standby, _ = start_node("--replicaof", f"127.0.0.1:{primary}")
    result = {}
    t = threading.Thread(target=lambda: result.update(bench(primary, "get", 1)))
    t.start()
    wait_synced(primary, standby, limit=300)
    synced = time.time() - started
    t.join()
    size = 0
    with open(primary_log) as f:
        for line in f:
            line = re.sub(r"\x1b\[[0-9;]*m", "", line)
            m = re.search(r"snapshot sent to standby.*bytes=(\d+)", line)
            if m:
                size = int(m.group(1))
    row(f"full sync of {KEYS} keys (MB/s)", f"{size / 1e6 / synced:.1f}", "", "", f"{size / 1e6:.1f} MB snapshot in {synced:.2f} s, until the standby was streaming")
    row("GET p99 on the primary during a full sync vs idle (ms)", f"{result['get'][1]:.3f}", f"{idle:.3f}", f"{result['get'][1] / idle:.2f}", "redis-benchmark -c 50 -P 1; lower is better")
finally:
    stop_all()

print("| measurement | redoubt | baseline | ratio | notes |")
print("|---|---:|---:|---:|---|")
print("\n".join(rows))
