#!/usr/bin/env python3
"""redis-py's script users through a Redoubt proxy, a node or any Redis server: `Lock` and
`register_script`.

    python3 interop/redis_py_scripts.py --port 7001

redis-py's `Lock` acquires with SET NX PX and extends and releases with Lua scripts run by
EVALSHA (loading them with SCRIPT LOAD on NOSCRIPT); `register_script` does the same for a
user's script. Each check prints one line (`ok   name` or `FAIL name: why`); the last line is
`N passed, M failed` and the exit status is non-zero if any check failed.
"""

import argparse
import os
import sys
import time
import traceback

import redis
from redis.exceptions import LockNotOwnedError

# One hash tag: a script's keys must live together (in one slot of a cluster, one group of a
# Redoubt deployment).
PREFIX = f"{{interop:scripts:{os.getpid()}}}:"


def expect(actual, expected, what=""):
    if actual != expected:
        raise AssertionError(f"{what or 'value'}: expected {expected!r}, got {actual!r}")


def lock_acquire_extend_release(r):
    name = PREFIX + "lock"
    first = r.lock(name, timeout=5, blocking=False)
    expect(first.acquire(), True, "first acquire")
    second = r.lock(name, timeout=5, blocking=False)
    expect(second.acquire(), False, "second acquire while held")
    expect(first.extend(10), True, "extend")
    ttl = r.pttl(name)
    if not 10_000 < ttl <= 15_000:
        raise AssertionError(f"pttl after extending 5 s by 10 s: {ttl}")
    expect(first.reacquire(), True, "reacquire")
    if r.pttl(name) > 5_000:
        raise AssertionError("reacquire did not reset the timeout to 5 s")
    first.release()
    expect(r.exists(name), 0, "lock key after release")
    try:
        first.release()
    except redis.exceptions.LockError:
        pass
    else:
        raise AssertionError("releasing a lock not held succeeded")
    expect(second.acquire(), True, "acquire after release")
    r.set(name, "someone-else")
    try:
        second.extend(5)
    except LockNotOwnedError:
        pass
    else:
        raise AssertionError("extending a lock taken by another owner succeeded")
    r.delete(name)


def lock_times_out(r):
    name = PREFIX + "short"
    lock = r.lock(name, timeout=0.2, blocking=False)
    expect(lock.acquire(), True, "acquire")
    time.sleep(0.4)
    expect(r.lock(name, timeout=1, blocking=False).acquire(), True, "acquire after expiry")
    expect(lock.owned(), False, "first owner after expiry")


def register_script(r):
    counter = r.register_script(
        "local n = redis.call('incrby', KEYS[1], ARGV[1]) redis.call('rpush', KEYS[2], n) return {n, redis.call('llen', KEYS[2])}"
    )
    keys = [PREFIX + "n", PREFIX + "log"]
    expect(counter(keys=keys, args=[5]), [5, 1], "first call")
    # A flushed cache is reloaded transparently (NOSCRIPT, SCRIPT LOAD, EVALSHA again).
    r.script_flush()
    expect(counter(keys=keys, args=[2]), [7, 2], "call after SCRIPT FLUSH")
    expect(r.lrange(PREFIX + "log", 0, -1), ["5", "7"], "list written by the script")
    expect(r.script_exists(counter.sha), [True], "SCRIPT EXISTS")
    pipe = r.pipeline(transaction=False)
    counter(keys=keys, args=[1], client=pipe)
    counter(keys=keys, args=[1], client=pipe)
    expect(pipe.execute(), [[8, 3], [9, 4]], "calls in a pipeline")
    failing = r.register_script("return redis.call('incr', KEYS[1])")
    r.set(PREFIX + "s", "text")
    try:
        failing(keys=[PREFIX + "s"])
    except redis.ResponseError as err:
        if "not an integer" not in str(err):
            raise AssertionError(f"unexpected error text: {err}") from None
    else:
        raise AssertionError("INCR of a string inside a script succeeded")


CHECKS = [lock_acquire_extend_release, lock_times_out, register_script]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    passed = failed = 0
    global PREFIX
    for protocol in (2, 3):
        r = redis.Redis(host=args.host, port=args.port, socket_timeout=10, decode_responses=True, protocol=protocol)
        for check in CHECKS:
            name = f"resp{protocol} {check.__name__}"
            PREFIX = f"{{interop:scripts:{os.getpid()}:{protocol}}}:"
            try:
                check(r)
            except Exception as err:  # noqa: BLE001 - every failure is reported, not raised
                failed += 1
                where = traceback.extract_tb(err.__traceback__)[-1]
                print(f"FAIL {name}: {type(err).__name__}: {err} (line {where.lineno})", flush=True)
            else:
                passed += 1
                print(f"ok   {name}", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
