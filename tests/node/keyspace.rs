//! Keyspace commands: SORT and SORT_RO, MOVE, SWAPDB, OBJECT FREQ, MEMORY. Semantics tables
//! hold Redis's own replies (checked with `REDOUBT_TEST_SERVER=redis-server cargo test --test
//! node keyspace`); sizes, which are each server's own, are checked for their shape.

use std::time::Duration;

use crate::common::{encode, split_args, Server};

/// SORT on lists, sets and sorted sets: numeric and ALPHA order, LIMIT, BY (`nosort`, keys, hash fields), GET (`#`, keys, hash fields), STORE, and Redis's errors.
#[tokio::test]
async fn sort_and_sort_ro() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("RPUSH l 3 1 2 10 -5 2.5", ":6"),
        ("SORT l", "[\"-5\", \"1\", \"2\", \"2.5\", \"3\", \"10\"]"),
        (
            "SORT l DESC",
            "[\"10\", \"3\", \"2.5\", \"2\", \"1\", \"-5\"]",
        ),
        (
            "SORT l ALPHA",
            "[\"-5\", \"1\", \"10\", \"2\", \"2.5\", \"3\"]",
        ),
        (
            "SORT l ALPHA DESC",
            "[\"3\", \"2.5\", \"2\", \"10\", \"1\", \"-5\"]",
        ),
        ("SORT l LIMIT 1 2", "[\"1\", \"2\"]"),
        ("SORT l LIMIT -5 2", "[\"-5\", \"1\"]"),
        ("SORT l LIMIT 10 2", "[]"),
        ("SORT l LIMIT 2 -1", "[\"2\", \"2.5\", \"3\", \"10\"]"),
        ("SORT l LIMIT 0 0", "[]"),
        (
            "SORT l LIMIT a 2",
            "-ERR value is not an integer or out of range",
        ),
        ("SORT l LIMIT 1", "-ERR syntax error"),
        ("SORT l FOO", "-ERR syntax error"),
        ("RPUSH words banana apple cherry 10", ":4"),
        (
            "SORT words",
            "-ERR One or more scores can't be converted into double",
        ),
        (
            "SORT words ALPHA",
            "[\"10\", \"apple\", \"banana\", \"cherry\"]",
        ),
        (
            "SORT words BY nosort",
            "[\"banana\", \"apple\", \"cherry\", \"10\"]",
        ),
        (
            "SORT words BY nosort DESC",
            "[\"10\", \"cherry\", \"apple\", \"banana\"]",
        ),
        ("SORT words BY nosort LIMIT 1 2", "[\"apple\", \"cherry\"]"),
        (
            "SORT words BY nosort DESC LIMIT 1 2",
            "[\"cherry\", \"apple\"]",
        ),
        ("MSET w_banana 3 w_apple 1 w_cherry 2 w_10 5", "+OK"),
        (
            "SORT words BY w_*",
            "[\"apple\", \"cherry\", \"banana\", \"10\"]",
        ),
        (
            "SORT words BY w_* DESC",
            "[\"10\", \"banana\", \"cherry\", \"apple\"]",
        ),
        (
            "SORT words BY w_* GET # GET w_*",
            "[\"apple\", \"1\", \"cherry\", \"2\", \"banana\", \"3\", \"10\", \"5\"]",
        ),
        (
            "SORT words BY w_* GET w_* GET nothing GET missing_*",
            "[\"1\", nil, nil, \"2\", nil, nil, \"3\", nil, nil, \"5\", nil, nil]",
        ),
        ("SET w_apple xyz", "+OK"),
        (
            "SORT words BY w_*",
            "-ERR One or more scores can't be converted into double",
        ),
        (
            "SORT words BY w_* ALPHA",
            "[\"cherry\", \"banana\", \"10\", \"apple\"]",
        ),
        ("SET w_apple 1", "+OK"),
        ("HSET h_banana weight 30 name B", ":2"),
        ("HSET h_apple weight 10 name A", ":2"),
        ("HSET h_cherry weight 20", ":1"),
        (
            "SORT words BY h_*->weight GET h_*->name GET #",
            "[nil, \"10\", \"A\", \"apple\", nil, \"cherry\", \"B\", \"banana\"]",
        ),
        (
            "SORT words BY h_*->weight DESC GET h_*->name",
            "[\"B\", nil, \"A\", nil]",
        ),
        (
            "SORT words BY h_*-> GET #",
            "[\"10\", \"apple\", \"banana\", \"cherry\"]",
        ),
        ("SORT words BY w_* LIMIT 1 2 STORE out", ":2"),
        ("LRANGE out 0 -1", "[\"cherry\", \"banana\"]"),
        ("SORT words BY w_* GET h_*->name STORE out", ":4"),
        ("LRANGE out 0 -1", "[\"A\", \"\", \"B\", \"\"]"),
        ("SET out x", "+OK"),
        ("EXPIRE out 100", ":1"),
        ("SORT l STORE out", ":6"),
        ("TTL out", ":-1"),
        ("TYPE out", "+list"),
        ("SORT missing", "[]"),
        ("SORT missing STORE out", ":0"),
        ("EXISTS out", ":0"),
        ("SORT_RO l DESC LIMIT 0 3", "[\"10\", \"3\", \"2.5\"]"),
        ("SORT_RO l STORE out", "-ERR syntax error"),
        ("SET str x", "+OK"),
        (
            "SORT str",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("SORT str FOO", "-ERR syntax error"),
        ("SORT l LIMIT 0 2 FOO", "-ERR syntax error"),
        ("SADD s 5 3 9 1", ":4"),
        ("SORT s", "[\"1\", \"3\", \"5\", \"9\"]"),
        ("SORT s DESC LIMIT 1 2", "[\"5\", \"3\"]"),
        ("SORT s BY nosort STORE sout", ":4"),
        ("LRANGE sout 0 -1", "[\"1\", \"3\", \"5\", \"9\"]"),
        ("SADD sw b c a", ":3"),
        ("SORT sw BY nosort STORE sout", ":3"),
        ("LRANGE sout 0 -1", "[\"a\", \"b\", \"c\"]"),
        ("ZADD z 1 c 2 a 3 b", ":3"),
        ("SORT z ALPHA", "[\"a\", \"b\", \"c\"]"),
        ("SORT z BY nosort", "[\"c\", \"a\", \"b\"]"),
        ("SORT z BY nosort DESC", "[\"b\", \"a\", \"c\"]"),
        ("SORT z BY nosort LIMIT 1 1", "[\"a\"]"),
        ("SORT z BY nosort DESC LIMIT 1 5", "[\"a\", \"c\"]"),
        ("ZADD zn 1 10 2 9 3 8", ":3"),
        ("SORT zn", "[\"8\", \"9\", \"10\"]"),
        ("RPUSH bad 1 x 3", ":3"),
        (
            "SORT bad",
            "-ERR One or more scores can't be converted into double",
        ),
        ("SORT bad ALPHA", "[\"1\", \"3\", \"x\"]"),
        ("RPUSH e2 \"\" 1 \" 2\" -inf inf", ":5"),
        ("SORT e2", "[\"-inf\", \"\", \"1\", \" 2\", \"inf\"]"),
        ("SORT e2 DESC", "[\"inf\", \" 2\", \"1\", \"\", \"-inf\"]"),
        ("RPUSH e \"\" 1 \" 2\" -inf inf 1e400", ":6"),
        (
            "SORT e LIMIT 0 4",
            "-ERR One or more scores can't be converted into double",
        ),
    ])
    .await;
}

/// MOVE and SWAPDB with their errors; OBJECT FREQ without an LFU policy; MEMORY's subcommands and errors.
#[tokio::test]
async fn move_swapdb_object_freq_memory_errors() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SET a 1", "+OK"),
        ("EXPIRE a 100", ":1"),
        ("MOVE a 1", ":1"),
        ("EXISTS a", ":0"),
        ("SELECT 1", "+OK"),
        ("TTL a", ":100"),
        ("GET a", "\"1\""),
        ("MOVE a 1", "-ERR source and destination objects are the same"),
        ("MOVE a 0", ":1"),
        ("SELECT 0", "+OK"),
        ("MOVE a 1", ":1"),
        ("SET a 2", "+OK"),
        ("SELECT 1", "+OK"),
        ("MOVE a 0", ":0"),
        ("SELECT 0", "+OK"),
        ("GET a", "\"2\""),
        ("MOVE a 16", "-ERR DB index is out of range"),
        ("MOVE a -1", "-ERR DB index is out of range"),
        ("MOVE a x", "-ERR value is not an integer or out of range"),
        ("MOVE missing 1", ":0"),
        ("SWAPDB 0 1", "+OK"),
        ("GET a", "\"1\""),
        ("SELECT 1", "+OK"),
        ("GET a", "\"2\""),
        ("SWAPDB 0 0", "+OK"),
        ("SWAPDB 0 16", "-ERR DB index is out of range"),
        ("SWAPDB x 0", "-ERR invalid first DB index"),
        ("SWAPDB 0 x", "-ERR invalid second DB index"),
        ("SWAPDB -1 0", "-ERR DB index is out of range"),
        ("SELECT 0", "+OK"),
        ("OBJECT FREQ a", "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
        ("OBJECT FREQ missing", "nil"),
        ("MEMORY USAGE missing", "nil"),
        ("MEMORY USAGE a SAMPLES -1", "-ERR syntax error"),
        ("MEMORY USAGE a SAMPLES x", "-ERR value is not an integer or out of range"),
        ("MEMORY USAGE a FOO", "-ERR syntax error"),
        ("MEMORY USAGE a SAMPLES", "-ERR syntax error"),
        ("MEMORY HELP", "[+MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, +DOCTOR, +    Return memory problems reports., +MALLOC-STATS, +    Return internal statistics report from the memory allocator., +PURGE, +    Attempt to purge dirty pages for reclamation by the allocator., +STATS, +    Return information about the memory usage of the server., +USAGE <key> [SAMPLES <count>], +    Return memory in bytes used by <key> and its value. Nested values are, +    sampled up to <count> times (default: 5, 0 means sample all)., +HELP, +    Prints this help.]"),
        ("MEMORY PURGE", "+OK"),
        // The doctor declines to judge an instance this small.
        ("MEMORY DOCTOR", "\"Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\\n\""),
        ("MEMORY FOO", "-ERR unknown subcommand 'FOO'. Try MEMORY HELP."),
    ])
    .await;
}

/// A client blocked on a key in one database is served when SWAPDB brings it a list, and one
/// blocked in the target of a MOVE when the list arrives.
#[tokio::test]
async fn swapdb_and_move_wake_blocked_clients() {
    let s = Server::start(&[]);
    let (mut blocked, mut c) = (s.raw().await, s.raw().await);
    assert_eq!(blocked.q("SELECT 1").await.to_string(), "+OK");
    blocked.send(&encode(&split_args("BLPOP q 5"))).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(c.q("RPUSH q x").await.to_string(), ":1");
    assert_eq!(c.q("SWAPDB 0 1").await.to_string(), "+OK");
    let served = tokio::time::timeout(Duration::from_secs(3), blocked.read_reply())
        .await
        .expect("SWAPDB serves the blocked client");
    assert_eq!(served.to_string(), "[\"q\", \"x\"]");
    blocked.send(&encode(&split_args("BLPOP m 5"))).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(c.q("RPUSH m y").await.to_string(), ":1");
    assert_eq!(c.q("MOVE m 1").await.to_string(), ":1");
    let served = tokio::time::timeout(Duration::from_secs(3), blocked.read_reply())
        .await
        .expect("MOVE serves the blocked client");
    assert_eq!(served.to_string(), "[\"m\", \"y\"]");
    assert_eq!(c.q("SELECT 1").await.to_string(), "+OK");
    assert_eq!(c.q("EXISTS q m").await.to_string(), ":0");
}

/// MEMORY USAGE grows with the value and sampling; MEMORY STATS counts the keys; the
/// allocator report carries Redis's markers.
#[tokio::test]
async fn memory_sizes_and_reports() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.q("SET small x").await;
    c.cmd(&["SET", "big", &"x".repeat(10_000)]).await;
    let small = c.q("MEMORY USAGE small").await.int();
    let big = c.q("MEMORY USAGE big").await.int();
    assert!(small > 0 && big > small + 9_000, "{small} {big}");
    let mut args = vec!["RPUSH".to_string(), "l".to_string()];
    args.extend((0..1000).map(|i| format!("element-{i}")));
    c.cmd(&args).await;
    let list = c.q("MEMORY USAGE l SAMPLES 0").await.int();
    assert!(list > 1000 * 10, "{list}");
    let stats = c.q("MEMORY STATS").await;
    assert_eq!(stats.get("keys.count").map(|r| r.int()), Some(3));
    for field in [
        "peak.allocated",
        "total.allocated",
        "dataset.bytes",
        "overhead.total",
    ] {
        assert!(stats.get(field).is_some_and(|r| r.int() > 0), "{field}");
    }
    assert!(stats.get("db.0").is_some());
    let report = c.q("MEMORY MALLOC-STATS").await.text();
    assert!(
        report.starts_with("___ Begin jemalloc statistics ___"),
        "{report}"
    );
}

/// OBJECT IDLETIME counts seconds since the last read or write; EXISTS and OBJECT itself do
/// not count as accesses, GET and TOUCH do.
#[tokio::test]
async fn object_idletime_follows_accesses() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SET a 1", "+OK"),
        ("SET b 2", "+OK"),
        ("OBJECT IDLETIME a", ":0"),
        ("OBJECT IDLETIME missing", "nil"),
    ])
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(c.q("EXISTS a b").await.to_string(), ":2");
    for key in ["a", "b"] {
        let idle = c.cmd(&["OBJECT", "IDLETIME", key]).await.int();
        assert!((2..=3).contains(&idle), "{key}: {idle}");
    }
    c.q("GET a").await;
    assert_eq!(c.q("TOUCH b missing").await.to_string(), ":1");
    assert_eq!(c.q("OBJECT IDLETIME a").await.to_string(), ":0");
    assert_eq!(c.q("OBJECT IDLETIME b").await.to_string(), ":0");
}
