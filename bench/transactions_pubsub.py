#!/usr/bin/env python3
"""Throughput of MULTI/EXEC and PUBLISH fan-out against one server (raw RESP over loopback).

    bench/transactions_pubsub.py --port 6379 [--seconds 3]

Prints one line per test: `name value unit`.
- multi_exec_5set: transactions per second, each MULTI, 5 SETs, EXEC; CLIENTS processes, each
  pipelining BATCH transactions per round trip.
- publish_1 / publish_100: messages per second delivered to subscribers (publishes times
  receivers), one publisher pipelining BATCH PUBLISHes, subscribers reading in one process.
"""

import argparse
import multiprocessing as mp
import selectors
import socket
import time

BATCH = 50


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_until(s, buf, needle_count, needle):
    """Reads until `buf` holds `needle_count` occurrences of `needle`; returns the rest."""
    while buf.count(needle) < needle_count:
        buf += s.recv(1 << 20)
    return buf


def tx_worker(port, seconds, worker, out):
    s = connect(port)
    one = encode("MULTI") + b"".join(encode("SET", f"tx:{worker}:{i}", "v") for i in range(5)) + encode("EXEC")
    batch = one * BATCH
    done = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s.sendall(batch)
        # Each EXEC answers `*5` followed by five `+OK`.
        buf = b""
        while buf.count(b"*5\r\n") < BATCH:
            buf += s.recv(1 << 20)
        done += BATCH
    out.put(done)


def multi_exec(port, seconds, clients):
    out = mp.Queue()
    procs = [mp.Process(target=tx_worker, args=(port, seconds, i, out)) for i in range(clients)]
    start = time.monotonic()
    for p in procs:
        p.start()
    total = sum(out.get() for _ in procs)
    for p in procs:
        p.join()
    return total / (time.monotonic() - start)


def subscribers(port, count, channel, ready, stop, out):
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(count):
        s = connect(port)
        s.sendall(encode("SUBSCRIBE", channel))
        read_until(s, b"", 1, b":1\r\n")
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    ready.set()
    received = 0
    while not stop.is_set():
        for key, _ in sel.select(timeout=0.1):
            try:
                received += len(key.fileobj.recv(1 << 20))
            except BlockingIOError:
                pass
    out.put(received)


def publish(port, seconds, receivers):
    channel = b"bench"
    payload = b"p" * 16
    frame = len(encode("message", channel, payload))
    ready, stop, out = mp.Event(), mp.Event(), mp.Queue()
    sub = mp.Process(target=subscribers, args=(port, receivers, channel, ready, stop, out))
    sub.start()
    ready.wait()
    s = connect(port)
    batch = encode("PUBLISH", channel, payload) * BATCH
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:
        s.sendall(batch)
        buf = b""
        while buf.count(b"\r\n") < BATCH:
            buf += s.recv(1 << 16)
    elapsed = time.monotonic() - start
    time.sleep(0.5)
    stop.set()
    delivered = out.get() // frame
    sub.join()
    return delivered / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    print(f"multi_exec_5set {multi_exec(args.port, args.seconds, args.clients):.0f} tx/s", flush=True)
    for n in (1, 100):
        print(f"publish_{n} {publish(args.port, args.seconds, n):.0f} msg/s", flush=True)


if __name__ == "__main__":
    main()
