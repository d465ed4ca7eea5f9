#!/usr/bin/env python3
"""redis-py against a Redoubt deployment (or any Redis server): typed results over RESP2 and RESP3.

    python3 interop/redis_py_check.py --port 7000
    python3 interop/redis_py_check.py --port 6379 --multi supported --pubsub supported

Each check prints one line (`ok   name` or `FAIL name: why`); the last line is `N passed, M failed`
and the exit status is non-zero if any check failed.

Pub/sub is refused by the proxy for now. `--multi` and `--pubsub` choose which check runs for
each: `refused` expects the proxy's clear error, `supported` runs the real check (the default for
`--multi`: the proxy carries transactions). Once the proxy supports pub/sub, flip its default here
and in interop/run.sh; the real checks already pass against redis-server (`interop/run.sh --redis`).
"""

import argparse
import os
import sys
import time
import traceback

import redis

REFUSED = "not supported through the proxy"
# Keys of the running check: unique per run and per check, so checks do not see each other's keys.
PREFIX = "interop:py:"


def expect(actual, expected, what=""):
    if actual != expected:
        raise AssertionError(f"{what or 'value'}: expected {expected!r}, got {actual!r}")


def expect_type(value, kind, what=""):
    if not isinstance(value, kind):
        raise AssertionError(f"{what or 'value'}: expected {kind}, got {type(value).__name__} {value!r}")


def expect_error(fn, *needles):
    """Runs fn, which must raise a ResponseError whose text contains every needle."""
    try:
        result = fn()
    except redis.ResponseError as err:
        text = str(err)
        for needle in needles:
            if needle.lower() not in text.lower():
                raise AssertionError(f"error {text!r} does not mention {needle!r}") from None
        return text
    raise AssertionError(f"expected an error mentioning {needles!r}, got {result!r}")


def k(name):
    return PREFIX + name


def score_pairs(value):
    """ZRANGE WITHSCORES as [(member, score)], accepting tuples (RESP2) or lists (RESP3)."""
    expect_type(value, list, "withscores reply")
    pairs = []
    for item in value:
        expect_type(item, (list, tuple), "withscores pair")
        expect(len(item), 2, "withscores pair length")
        expect_type(item[1], float, "score")
        pairs.append((item[0], item[1]))
    return pairs


# --- checks run on both protocols -------------------------------------------------------------


def strings(r):
    expect(r.ping(), True, "PING")
    expect(r.set(k("s"), "hello"), True, "SET")
    expect(r.get(k("s")), "hello", "GET")
    expect(r.get(k("missing")), None, "GET missing")
    expect(r.incr(k("n")), 1, "INCR")
    expect(r.incrby(k("n"), 41), 42, "INCRBY")
    expect(r.incrbyfloat(k("f"), 1.5), 1.5, "INCRBYFLOAT")
    expect(r.append(k("s"), " world"), 11, "APPEND")
    expect(r.strlen(k("s")), 11, "STRLEN")
    expect(r.getrange(k("s"), 0, 4), "hello", "GETRANGE")
    expect(r.set(k("s"), "x", nx=True), None, "SET NX on existing key")
    expect(r.set(k("s2"), "v", ex=100), True, "SET EX")
    ttl = r.ttl(k("s2"))
    expect_type(ttl, int, "TTL")
    if not 99 <= ttl <= 100:
        raise AssertionError(f"TTL after SET EX 100 is {ttl}")
    expect(r.expire(k("n"), 50), True, "EXPIRE")
    expect(r.persist(k("n")), True, "PERSIST")
    expect(r.ttl(k("n")), -1, "TTL without expiry")
    expect_error(lambda: r.incr(k("s")), "not an integer")


def multi_key(r):
    # Keys without hash tags: through the proxy they land on different groups and are split and merged.
    names = [k(f"mk{i}") for i in range(50)]
    expect(r.mset({n: f"v{i}" for i, n in enumerate(names)}), True, "MSET")
    values = r.mget(names + [k("mk-missing")])
    expect(values, [f"v{i}" for i in range(50)] + [None], "MGET")
    expect(r.exists(*names[:10], k("mk-missing")), 10, "EXISTS")
    expect(r.delete(*names[:20], k("mk-missing")), 20, "DEL")
    expect(r.exists(*names), 30, "EXISTS after DEL")
    # Hash tags keep keys together, so multi-key commands that are not split still work.
    expect(r.msetnx({k("{tag}a"): "1", k("{tag}b"): "2"}), True, "MSETNX with a hash tag")
    expect(r.rename(k("{tag}a"), k("{tag}c")), True, "RENAME with a hash tag")
    expect(r.mget([k("{tag}b"), k("{tag}c")]), ["2", "1"], "MGET with a hash tag")


def hashes(r):
    expect(r.hset(k("h"), mapping={"f1": "v1", "f2": "v2", "n": "1"}), 3, "HSET mapping")
    all_fields = r.hgetall(k("h"))
    expect_type(all_fields, dict, "HGETALL")
    expect(all_fields, {"f1": "v1", "f2": "v2", "n": "1"}, "HGETALL")
    expect(r.hget(k("h"), "f2"), "v2", "HGET")
    expect(r.hmget(k("h"), ["f1", "nope"]), ["v1", None], "HMGET")
    expect(r.hincrby(k("h"), "n", 9), 10, "HINCRBY")
    expect(r.hincrbyfloat(k("h"), "x", 0.5), 0.5, "HINCRBYFLOAT")
    expect(r.hexists(k("h"), "f1"), True, "HEXISTS")
    expect(r.hlen(k("h")), 4, "HLEN")
    expect(sorted(r.hkeys(k("h"))), ["f1", "f2", "n", "x"], "HKEYS")
    expect(r.hdel(k("h"), "f1", "nope"), 1, "HDEL")
    expect(r.hgetall(k("missing-hash")), {}, "HGETALL on a missing key")
    r.set(k("s"), "a string")
    expect_error(lambda: r.hset(k("s"), "f", "v"), "WRONGTYPE")


def lists(r):
    expect(r.rpush(k("l"), "a", "b", "c"), 3, "RPUSH")
    expect(r.lpush(k("l"), "z"), 4, "LPUSH")
    expect(r.lrange(k("l"), 0, -1), ["z", "a", "b", "c"], "LRANGE")
    expect(r.llen(k("l")), 4, "LLEN")
    expect(r.lindex(k("l"), 1), "a", "LINDEX")
    expect(r.lpop(k("l")), "z", "LPOP")
    expect(r.rpop(k("l"), 2), ["c", "b"], "RPOP with count")
    expect(r.lpos(k("l"), "a"), 0, "LPOS")
    expect(r.lpop(k("missing-list")), None, "LPOP on a missing key")


def sets(r):
    expect(r.sadd(k("set"), "a", "b", "c", "a"), 3, "SADD")
    members = r.smembers(k("set"))
    expect_type(members, set, "SMEMBERS")
    expect(members, {"a", "b", "c"}, "SMEMBERS")
    expect(bool(r.sismember(k("set"), "b")), True, "SISMEMBER")
    expect(r.smismember(k("set"), ["a", "x"]), [True, False], "SMISMEMBER")
    expect(r.scard(k("set")), 3, "SCARD")
    expect(r.srem(k("set"), "a", "x"), 1, "SREM")
    expect(r.sadd(k("{g}s1"), "1", "2", "3"), 3, "SADD")
    expect(r.sadd(k("{g}s2"), "2", "3", "4"), 3, "SADD")
    expect(r.sinter(k("{g}s1"), k("{g}s2")), {"2", "3"}, "SINTER with a hash tag")


def zsets(r):
    expect(r.zadd(k("z"), {"one": 1, "two": 2.5, "three": 3}), 3, "ZADD")
    expect(score_pairs(r.zrange(k("z"), 0, -1, withscores=True)),
           [("one", 1.0), ("two", 2.5), ("three", 3.0)], "ZRANGE WITHSCORES")
    expect(r.zrange(k("z"), 0, 1), ["one", "two"], "ZRANGE")
    score = r.zscore(k("z"), "two")
    expect_type(score, float, "ZSCORE")
    expect(score, 2.5, "ZSCORE")
    expect(r.zincrby(k("z"), 0.25, "one"), 1.25, "ZINCRBY")
    expect(r.zrank(k("z"), "three"), 2, "ZRANK")
    expect(r.zcard(k("z")), 3, "ZCARD")
    expect(r.zrangebyscore(k("z"), 2, "+inf"), ["two", "three"], "ZRANGEBYSCORE")
    expect(score_pairs(r.zrevrange(k("z"), 0, 0, withscores=True)), [("three", 3.0)], "ZREVRANGE WITHSCORES")
    expect(r.zscore(k("z"), "nope"), None, "ZSCORE missing member")
    expect(r.zrem(k("z"), "one"), 1, "ZREM")


def keys_and_scan(r):
    names = {k(f"scan:{i}") for i in range(300)}
    pipe = r.pipeline(transaction=False)
    for n in names:
        pipe.set(n, "1")
    pipe.execute()
    found = set(r.scan_iter(match=k("scan:*"), count=50))
    expect(found, names, "SCAN MATCH over every group")
    r.zadd(k("z"), {"m": 1})
    expect(r.type(k("z")), "zset", "TYPE")
    expect(r.type(k("missing")), "none", "TYPE of a missing key")
    expect_type(r.dbsize(), int, "DBSIZE")


def pipelines(r):
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(k(f"p{i}"), i)
    pipe.incr(k("pn"))
    pipe.incr(k("pn"))
    pipe.hset(k("ph"), mapping={"a": "1"})
    pipe.hgetall(k("ph"))
    pipe.zadd(k("pz"), {"m": 2})
    pipe.zrange(k("pz"), 0, -1, withscores=True)
    pipe.get(k("p999"))
    pipe.incr(k("p0x"))
    pipe.lpush(k("p1"), "wrong type")  # an error in the middle must not disturb the others
    pipe.get(k("p1"))
    results = pipe.execute(raise_on_error=False)
    expect(results[:1000], [True] * 1000, "1000 SETs in one pipeline")
    expect(results[1000:1003], [1, 2, 1], "INCR, INCR, HSET")
    expect(results[1003], {"a": "1"}, "HGETALL in a pipeline")
    expect(results[1004], 1, "ZADD in a pipeline")
    expect(score_pairs(results[1005]), [("m", 2.0)], "ZRANGE WITHSCORES in a pipeline")
    expect(results[1006], "999", "GET in a pipeline")
    expect(results[1007], 1, "INCR in a pipeline")
    expect_type(results[1008], redis.ResponseError, "error in a pipeline")
    expect(results[1009], "1", "reply after an error in a pipeline")


def binary_values(rb):
    """Binary-safe keys and values, and a 1 MB value (a client without decode_responses)."""
    key = (PREFIX + "bin\x00\r\n").encode()
    value = bytes(range(256)) * 4
    expect(rb.set(key, value), True, "SET binary")
    expect(rb.get(key), value, "GET binary")
    big = b"x" * (1 << 20)
    expect(rb.set(PREFIX + "big", big), True, "SET 1 MB")
    expect(rb.get(PREFIX + "big"), big, "GET 1 MB")


def blocking(r):
    """BLPOP/BRPOP/BZPOPMIN over several keys (through a proxy, on several groups): data first
    in argument order, a timeout's nil, and a wait woken by a push from another connection."""
    a, b, c = k("qa"), k("qb"), k("qc")
    r.rpush(b, "from-b")
    r.rpush(c, "from-c")
    expect(list(r.blpop([a, b, c], timeout=1)), [b, "from-b"], "BLPOP takes the first key with data")
    expect(list(r.brpop([a, b, c], timeout=1)), [c, "from-c"], "BRPOP takes the next one")
    started = time.monotonic()
    expect(r.blpop([a, b, c], timeout=0.3), None, "BLPOP timeout")
    if time.monotonic() - started < 0.25:
        raise AssertionError("BLPOP returned before its timeout")
    other = redis.Redis(host=r.connection_pool.connection_kwargs["host"],
                        port=r.connection_pool.connection_kwargs["port"], decode_responses=True)
    import threading
    pusher = threading.Timer(0.2, lambda: other.lpush(c, "late"))
    pusher.start()
    expect(list(r.blpop([a, b, c], timeout=5)), [c, "late"], "BLPOP woken by a push")
    pusher.join()
    r.zadd(a, {"m": 2.5})
    expect(list(r.bzpopmin([b, a], timeout=1)), [a, "m", 2.5], "BZPOPMIN")
    expect([r.llen(x) for x in (a, b, c)], [0, 0, 0], "nothing left behind")


def databases(r):
    """SELECT through the client's db option: each database its own keyspace."""
    kw = r.connection_pool.connection_kwargs
    db5 = redis.Redis(host=kw["host"], port=kw["port"], db=5, decode_responses=True,
                      protocol=kw.get("protocol", 2))
    expect(db5.set(k("db"), "five"), True, "SET in db 5")
    expect(r.get(k("db")), None, "db 0 does not see db 5")
    expect(db5.get(k("db")), "five", "GET in db 5")
    expect(db5.delete(k("db")), 1, "DEL in db 5")
    info = r.info("server")
    expect(info.get("arch_bits"), 64, "INFO arch_bits")
    expect(isinstance(info.get("redis_version"), str), True, "INFO redis_version")


PER_PROTOCOL = [strings, multi_key, hashes, lists, sets, zsets, keys_and_scan, pipelines, blocking,
                databases]


def check_cluster_client(args):
    """redis-py's RedisCluster against the proxy: it discovers the proxy as the master of every
    slot and sends everything there."""
    from redis.cluster import RedisCluster

    rc = RedisCluster(host=args.host, port=args.port, decode_responses=True)
    try:
        nodes = rc.get_nodes()
        expect([(n.host, n.port, n.server_type) for n in nodes], [(args.host, args.port, "primary")],
               "cluster nodes")
        keys = [PREFIX + f"c{i}" for i in range(20)]
        for key in keys:
            expect(rc.set(key, key), True, "SET")
        expect([rc.get(key) for key in keys], keys, "GET")
        expect(rc.keyslot("somekey"), 11058, "keyslot")
        expect(rc.delete(*keys), len(keys), "DEL")
    finally:
        rc.close()


# --- features the proxy refuses for now -------------------------------------------------------


def check_multi_exec_refused_for_now(r):
    """Until the proxy supports MULTI/EXEC: a clear error naming the command, never a hang."""
    expect_error(lambda: r.execute_command("MULTI"), "MULTI", REFUSED)
    expect_error(lambda: r.execute_command("EXEC"), "EXEC", REFUSED)
    pipe = r.pipeline(transaction=True)
    pipe.set(k("tx"), "1")
    pipe.incr(k("tx"))
    try:
        pipe.execute()
    except redis.ResponseError as err:
        if REFUSED not in str(err):
            raise AssertionError(f"transaction refused with an unclear error: {err}") from None
    else:
        raise AssertionError("a MULTI/EXEC pipeline succeeded through the proxy: flip this check to check_multi_exec")
    expect(r.ping(), True, "connection still usable after the refusal")


def check_multi_exec(r):
    """Once MULTI/EXEC is supported: atomic transactions, WATCH aborting on a concurrent change."""
    pipe = r.pipeline(transaction=True)
    pipe.set(k("tx"), "1")
    pipe.incr(k("tx"))
    pipe.get(k("tx"))
    expect(pipe.execute(), [True, 2, "2"], "MULTI/EXEC results")
    with r.pipeline(transaction=True) as pipe:
        pipe.watch(k("tx"))
        r.set(k("tx"), "changed")  # a concurrent write from another connection
        pipe.multi()
        pipe.set(k("tx"), "mine")
        try:
            pipe.execute()
        except redis.WatchError:
            pass
        else:
            raise AssertionError("EXEC succeeded although a WATCHed key changed")
    expect(r.get(k("tx")), "changed", "value after an aborted transaction")


def check_transaction_retries(r):
    """`Redis.transaction`: WATCH, read, MULTI/EXEC, retried when a concurrent write aborts EXEC."""
    key = k("counter")
    r.set(key, "10")
    other = r.connection_pool.get_connection()
    attempts = []

    def add_one(pipe):
        value = int(pipe.get(key))
        if not attempts:
            # The first attempt loses a race with another connection.
            other.send_command("SET", key, "100")
            other.read_response()
        attempts.append(value)
        pipe.multi()
        pipe.set(key, value + 1)

    try:
        r.transaction(add_one, key)
    finally:
        r.connection_pool.release(other)
    expect(attempts, [10, 100], "values read by each attempt")
    expect(r.get(key), "101", "value after the retried transaction")


def check_pubsub_listen(r):
    """`pubsub().listen()` with a pattern subscription, then unsubscribing."""
    p = r.pubsub()
    try:
        p.psubscribe(PREFIX + "*")
        first = next(p.listen())
        expect((first["type"], first["channel"]), ("psubscribe", PREFIX + "*"), "psubscribe confirmation")
        expect(r.publish(PREFIX + "x", "one"), 1, "PUBLISH to a pattern subscriber")
        message = next(p.listen())
        expect(
            (message["type"], message["pattern"], message["channel"], message["data"]),
            ("pmessage", PREFIX + "*", PREFIX + "x", "one"),
            "pmessage",
        )
        p.punsubscribe()
        last = next(p.listen())
        expect((last["type"], last["data"]), ("punsubscribe", 0), "punsubscribe confirmation")
    finally:
        p.close()


def check_pubsub_refused_for_now(r):
    """Until the proxy supports pub/sub: a clear error naming the command, never a hang."""
    expect_error(lambda: r.publish(PREFIX + "chan", "hi"), "PUBLISH", REFUSED)
    p = r.pubsub()
    try:
        p.subscribe(PREFIX + "chan")
        deadline = time.monotonic() + 5
        while True:
            if time.monotonic() > deadline:
                raise AssertionError("SUBSCRIBE got neither a confirmation nor an error within 5 s")
            try:
                message = p.get_message(timeout=0.5)
            except redis.ResponseError as err:
                if "SUBSCRIBE" not in str(err) or REFUSED not in str(err):
                    raise AssertionError(f"SUBSCRIBE refused with an unclear error: {err}") from None
                break
            if message is not None:
                raise AssertionError(f"SUBSCRIBE succeeded through the proxy ({message!r}): flip this check to check_pubsub")
    finally:
        p.close()


def check_pubsub(r):
    """Once pub/sub is supported: a subscriber receives what another connection publishes."""
    channel = PREFIX + "chan"
    p = r.pubsub(ignore_subscribe_messages=True)
    try:
        p.subscribe(channel)
        deadline = time.monotonic() + 5
        while r.pubsub_numsub(channel)[0][1] < 1:
            if time.monotonic() > deadline:
                raise AssertionError("the subscription never became visible")
            p.get_message(timeout=0.05)
        expect(r.publish(channel, "hello"), 1, "PUBLISH receivers")
        got = None
        while got is None and time.monotonic() < deadline:
            got = p.get_message(timeout=0.5)
        if got is None:
            raise AssertionError("no message received")
        expect((got["channel"], got["data"]), (channel, "hello"), "message")
    finally:
        p.close()


# --- runner ----------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--multi", choices=["refused", "supported"], default="supported")
    parser.add_argument("--pubsub", choices=["refused", "supported"], default="refused")
    parser.add_argument("--cluster", choices=["check", "skip"], default="check",
                        help="run redis-py's cluster client against the server (skip for a plain redis-server)")
    args = parser.parse_args()

    def client(**kw):
        return redis.Redis(host=args.host, port=args.port, socket_timeout=10, **kw)

    plan = []
    for protocol in (2, 3):
        r = client(decode_responses=True, protocol=protocol)
        for fn in PER_PROTOCOL:
            plan.append((f"resp{protocol} {fn.__name__}", fn, r))
        plan.append((f"resp{protocol} binary_values", binary_values, client(protocol=protocol)))
    r3 = client(decode_responses=True, protocol=3)
    plan.insert(0, ("resp3 hello", lambda r: expect(r.execute_command("HELLO", "3").get("proto"), 3, "HELLO 3 proto"), r3))
    r2 = client(decode_responses=True, protocol=2)
    multi = check_multi_exec if args.multi == "supported" else check_multi_exec_refused_for_now
    pubsub = check_pubsub if args.pubsub == "supported" else check_pubsub_refused_for_now
    for protocol, r in ((2, r2), (3, r3)):
        plan.append((f"resp{protocol} {multi.__name__}", multi, r))
        plan.append((f"resp{protocol} {pubsub.__name__}", pubsub, r))
        if args.multi == "supported":
            plan.append((f"resp{protocol} check_transaction_retries", check_transaction_retries, r))
        if args.pubsub == "supported":
            plan.append((f"resp{protocol} check_pubsub_listen", check_pubsub_listen, r))

    if args.cluster == "check":
        plan.append(("cluster client", lambda _r: check_cluster_client(args), r2))

    passed = failed = 0
    global PREFIX
    for number, (name, fn, r) in enumerate(plan):
        PREFIX = f"interop:py:{os.getpid()}:{number}:"
        try:
            fn(r)
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
