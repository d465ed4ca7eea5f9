#!/usr/bin/env python3
"""Job queues and message buses through a Redoubt deployment: an RQ worker listening on several
queues, and kombu (Celery's transport) consumers of a direct queue and of a fanout exchange.

    python3 interop/queues_check.py --port 7000                 # a proxy in front of groups
    python3 interop/queues_check.py --port 7000 --nodes 7001-7004   # also check that the queue
                                                                    # keys span several primaries

RQ's worker waits on all its queues with one BLPOP (keys in several groups, served by the proxy
with Redis's semantics), runs jobs and records them with MULTI/EXEC pipelines, and listens for
commands on a pub/sub channel. kombu's Redis transport waits with BRPOP over its queues, keeps
unacknowledged messages in a sorted set and a hash, and delivers fanout exchanges by PUBLISH to
PSUBSCRIBE-d consumers. Every job and every message is accounted for: each runs or arrives
exactly once. Prints one line per check and ends with "N passed, M failed".
"""

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid

import redis

PASSED = 0
FAILED = 0


def check(name, fn):
    global PASSED, FAILED
    try:
        detail = fn()
    except Exception as exc:  # noqa: BLE001 - every failure is reported, then counted
        FAILED += 1
        print(f"FAIL {name}: {type(exc).__name__}: {exc}")
        return
    PASSED += 1
    print(f"ok   {name}" + (f": {detail}" if detail else ""))


def square(n):
    """The job RQ runs (imported by the worker from this module)."""
    return n * n


def node_ports(spec):
    if not spec:
        return []
    first, _, last = spec.partition("-")
    return list(range(int(first), int(last or first) + 1))


def primaries_holding(ports, keys):
    """For each key, the primaries (by port) among `ports` that hold it."""
    where = {key: set() for key in keys}
    for port in ports:
        try:
            node = redis.Redis(port=port, socket_timeout=2)
            if node.execute_command("ROLE")[0] not in (b"master", "master"):
                continue
            for key in keys:
                if node.exists(key):
                    where[key].add(port)
        except redis.ConnectionError:
            continue
    return where


def rq_check(port, nodes):
    from rq import Queue

    conn = redis.Redis(port=port)
    # Fixed names, whose keys hash to slots 15458, 14457, 11407 and 3666: both halves of the
    # slot range, so two groups share them (checked below when node ports are given).
    names = [f"interop-{tag}" for tag in ("high", "default", "low", "bulk")]
    for queue in (Queue(name, connection=conn) for name in names):
        queue.empty()
    queues = [Queue(name, connection=conn) for name in names]
    # Jobs queued before the worker starts: it drains them in queue order.
    before = [queues[i % len(queues)].enqueue(square, i) for i in range(20)]
    spread = ""
    if nodes:
        where = primaries_holding(nodes, [q.key for q in queues])
        holders = set().union(*where.values())
        if len(holders) < 2:
            raise AssertionError(f"queue keys all on one primary: {where}")
        spread = f", queue keys on {len(holders)} primaries"
    worker_name = f"interop-worker-{uuid.uuid4().hex[:6]}"
    # The worker runs as RQ runs it, in a process of its own (it installs signal handlers).
    program = (
        "import sys, redis\n"
        "from rq import Queue, SimpleWorker\n"
        "conn = redis.Redis(port=int(sys.argv[1]))\n"
        "queues = [Queue(name, connection=conn) for name in sys.argv[3:]]\n"
        "SimpleWorker(queues, connection=conn, name=sys.argv[2]).work("
        "with_scheduler=False, logging_level='WARNING')\n"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=here + os.pathsep + os.environ.get("PYTHONPATH", ""))
    worker = subprocess.Popen(
        [sys.executable, "-c", program, str(port), worker_name, *names], env=env, cwd=here
    )
    try:
        return rq_run(conn, queues, worker, worker_name, before, spread)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def wait_finished(jobs, worker):
    """Waits until every one of `jobs` has finished (60 s at most)."""
    from rq.job import JobStatus

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        statuses = [job.get_status(refresh=True) for job in jobs]
        if all(s == JobStatus.FINISHED for s in statuses):
            return
        if any(s == JobStatus.FAILED for s in statuses):
            failed = [j.id for j, s in zip(jobs, statuses) if s == JobStatus.FAILED]
            raise AssertionError(f"jobs failed: {failed}")
        if worker.poll() is not None:
            raise AssertionError(f"the worker exited with status {worker.returncode}")
        time.sleep(0.05)
    pending = sum(1 for job in jobs if job.get_status(refresh=True) != JobStatus.FINISHED)
    raise AssertionError(f"{pending} of {len(jobs)} jobs not finished after 60 s")


def rq_run(conn, queues, worker, worker_name, before, spread):
    """Checks the jobs and stops the worker by its command channel; see `rq_check`."""
    wait_finished(before, worker)
    # Jobs queued one by one while the worker waits in BLPOP on every queue: each push, on
    # whichever group its queue is, wakes it.
    after = []
    for i in range(20, 40):
        after.append(queues[(i * 7) % len(queues)].enqueue(square, i))
        time.sleep(0.05)
    wait_finished(after, worker)
    jobs = before + after
    results = [job.return_value(refresh=True) for job in jobs]
    want = [i * i for i in range(40)]
    if results != want:
        raise AssertionError(f"results {results}, want {want}")
    # The worker's own command channel (pub/sub): a shutdown request stops it.
    from rq.command import send_shutdown_command

    send_shutdown_command(conn, worker_name)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError("the worker did not stop on its shutdown command") from None
    left = [q.count for q in queues]
    if any(left):
        raise AssertionError(f"jobs left in the queues: {left}")
    return f"40 jobs over {len(queues)} queues ran once each, 20 of them woke a blocked worker{spread}"


def kombu_direct_check(port):
    from kombu import Connection, Exchange, Queue

    url = f"redis://127.0.0.1:{port}/0"
    tag = uuid.uuid4().hex[:6]
    exchange = Exchange(f"interop-direct-{tag}", type="direct")
    names = [f"interop-q{i}-{tag}" for i in range(3)]
    queues = [Queue(name, exchange, routing_key=name) for name in names]
    sent = {}
    with Connection(url) as conn:
        producer = conn.Producer(serializer="json")
        for i in range(60):
            name = names[i % len(names)]
            producer.publish(
                {"n": i}, exchange=exchange, routing_key=name, declare=queues
            )
            sent[i] = name
        got = {}

        def on_message(body, message):
            n = body["n"]
            if n in got:
                raise AssertionError(f"message {n} delivered twice")
            got[n] = message.delivery_info.get("routing_key")
            message.ack()

        with conn.Consumer(queues, callbacks=[on_message], accept=["json"]):
            deadline = time.monotonic() + 30
            while len(got) < len(sent) and time.monotonic() < deadline:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass
                except OSError as exc:  # socket.timeout on older Pythons
                    if "timed out" not in str(exc):
                        raise
    if sorted(got) != sorted(sent):
        missing = sorted(set(sent) - set(got))
        raise AssertionError(f"{len(got)} of {len(sent)} messages arrived; missing {missing[:10]}")
    wrong = [n for n, key in got.items() if key != sent[n]]
    if wrong:
        raise AssertionError(f"messages on the wrong queue: {wrong[:10]}")
    return f"{len(sent)} messages over {len(names)} queues, each consumed and acked once"


def kombu_fanout_check(port):
    from kombu import Connection, Exchange, Queue

    url = f"redis://127.0.0.1:{port}/0"
    tag = uuid.uuid4().hex[:6]
    exchange = Exchange(f"interop-fanout-{tag}", type="fanout")
    consumers = 3
    received = [[] for _ in range(consumers)]
    ready = threading.Barrier(consumers + 1)
    stop = threading.Event()
    errors = []

    def consume(i):
        try:
            queue = Queue(f"interop-fan{i}-{tag}", exchange)
            with Connection(url) as conn:

                def on_message(body, message):
                    received[i].append(body["n"])
                    message.ack()

                with conn.Consumer([queue], callbacks=[on_message], accept=["json"]):
                    # The first drain subscribes to the exchange's channel.
                    try:
                        conn.drain_events(timeout=0.5)
                    except Exception:  # noqa: BLE001 - a timeout: nothing yet
                        pass
                    ready.wait(timeout=30)
                    while not stop.is_set():
                        try:
                            conn.drain_events(timeout=0.5)
                        except Exception as exc:  # noqa: BLE001
                            if "timed out" not in str(exc) and not isinstance(exc, TimeoutError):
                                raise
        except Exception as exc:  # noqa: BLE001
            errors.append(f"consumer {i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=consume, args=(i,), daemon=True) for i in range(consumers)]
    for t in threads:
        t.start()
    ready.wait(timeout=30)
    time.sleep(0.5)
    messages = 30
    with Connection(url) as conn:
        producer = conn.Producer(serializer="json")
        for n in range(messages):
            # Declared on the producer's side too, so kombu knows to PUBLISH it.
            producer.publish({"n": n}, exchange=exchange, routing_key="", declare=[exchange])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(len(r) < messages for r in received):
        time.sleep(0.1)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    if errors:
        raise AssertionError("; ".join(errors))
    for i, got in enumerate(received):
        if sorted(got) != list(range(messages)):
            raise AssertionError(
                f"consumer {i} got {len(got)} messages ({len(set(got))} distinct) of {messages}"
            )
    return f"{messages} messages published once, each received once by all {consumers} consumers"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--nodes", default="", help="node ports FIRST-LAST, to check the spread")
    args = parser.parse_args()
    nodes = node_ports(args.nodes)
    # RQ's worker imports the job's function by name, from this file as a module.
    square.__module__ = "queues_check"
    check("rq worker on several queues", lambda: rq_check(args.port, nodes))
    check("kombu direct queues", lambda: kombu_direct_check(args.port))
    check("kombu fanout exchange", lambda: kombu_fanout_check(args.port))
    print(f"{PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
