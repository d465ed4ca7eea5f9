//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH. Queued replies, queue-time errors that
//! abort EXEC, runtime errors kept in EXEC's array, WATCH invalidation by other clients, by
//! expiry and by FLUSHDB, and Redis's errors for misuse.

use std::time::Duration;

use crate::common::{encode, split_args, Server};

#[tokio::test]
async fn exec_runs_the_queue_and_keeps_runtime_errors_in_its_array() {
    let s = Server::start(&[]);
    let mut c = s.raw_authed().await;
    c.table(&[
        ("SET s text", "+OK"),
        ("MULTI", "+OK"),
        ("SET a 1", "+QUEUED"),
        ("INCR a", "+QUEUED"),
        ("LPUSH s x", "+QUEUED"),
        ("GET a", "+QUEUED"),
        (
            "EXEC",
            "[+OK, :2, -WRONGTYPE Operation against a key holding the wrong kind of value, \"2\"]",
        ),
        ("GET a", "\"2\""),
        ("MULTI", "+OK"),
        ("EXEC", "[]"),
    ])
    .await;
}

#[tokio::test]
async fn a_queue_time_error_aborts_exec() {
    let s = Server::start(&[]);
    let mut c = s.raw_authed().await;
    c.table(&[
        ("MULTI", "+OK"),
        ("SET a 1", "+QUEUED"),
        (
            "NOSUCHCOMMAND x",
            "-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' ",
        ),
        ("GET", "-ERR wrong number of arguments for 'get' command"),
        (
            "EXEC",
            "-EXECABORT Transaction discarded because of previous errors.",
        ),
        ("EXISTS a", ":0"),
    ])
    .await;
}

#[tokio::test]
async fn misuse_gets_redis_errors() {
    let s = Server::start(&[]);
    let mut c = s.raw_authed().await;
    c.table(&[
        ("EXEC", "-ERR EXEC without MULTI"),
        ("DISCARD", "-ERR DISCARD without MULTI"),
        ("MULTI", "+OK"),
        ("MULTI", "-ERR MULTI calls can not be nested"),
        ("WATCH a", "-ERR WATCH inside MULTI is not allowed"),
        ("SET a 1", "+QUEUED"),
        ("DISCARD", "+OK"),
        ("EXISTS a", ":0"),
        ("MULTI", "+OK"),
        ("MULTI", "-ERR MULTI calls can not be nested"),
        ("SET a 1", "+QUEUED"),
        ("EXEC", "[+OK]"),
    ])
    .await;
}

#[tokio::test]
async fn a_watched_key_written_by_another_client_makes_exec_return_null() {
    let s = Server::start(&[]);
    let (mut c, mut other) = (s.raw_authed().await, s.raw_authed().await);
    c.table(&[("SET k 1", "+OK"), ("WATCH k", "+OK"), ("GET k", "\"1\"")])
        .await;
    other.table(&[("SET k 2", "+OK")]).await;
    c.table(&[
        ("MULTI", "+OK"),
        ("SET k 3", "+QUEUED"),
        ("EXEC", "nil"),
        ("GET k", "\"2\""),
    ])
    .await;
    // The watch ended with EXEC: the next transaction runs.
    c.table(&[("MULTI", "+OK"), ("SET k 3", "+QUEUED"), ("EXEC", "[+OK]")])
        .await;
    // A read by another client, or a watch left by UNWATCH, does not abort.
    c.table(&[("WATCH k", "+OK")]).await;
    other.table(&[("GET k", "\"3\"")]).await;
    c.table(&[("MULTI", "+OK"), ("INCR k", "+QUEUED"), ("EXEC", "[:4]")])
        .await;
    c.table(&[("WATCH k", "+OK"), ("UNWATCH", "+OK")]).await;
    other.table(&[("SET k 9", "+OK")]).await;
    c.table(&[("MULTI", "+OK"), ("INCR k", "+QUEUED"), ("EXEC", "[:10]")])
        .await;
}

#[tokio::test]
async fn expiry_and_flushdb_touch_watched_keys() {
    let s = Server::start(&[]);
    let (mut c, mut other) = (s.raw_authed().await, s.raw_authed().await);
    c.table(&[("SET k v PX 50", "+OK"), ("WATCH k", "+OK")])
        .await;
    tokio::time::sleep(Duration::from_millis(120)).await;
    c.table(&[("MULTI", "+OK"), ("SET x 1", "+QUEUED"), ("EXEC", "nil")])
        .await;
    c.table(&[("SET k v", "+OK"), ("WATCH k", "+OK")]).await;
    other.table(&[("FLUSHDB", "+OK")]).await;
    c.table(&[("MULTI", "+OK"), ("SET x 1", "+QUEUED"), ("EXEC", "nil")])
        .await;
    // Flushing a database without the watched key leaves it alone.
    c.table(&[("WATCH nothing", "+OK")]).await;
    other.table(&[("FLUSHDB", "+OK")]).await;
    c.table(&[("MULTI", "+OK"), ("SET x 1", "+QUEUED"), ("EXEC", "[+OK]")])
        .await;
}

#[tokio::test]
async fn a_transaction_split_across_reads_is_atomic() {
    let s = Server::start(&[]);
    let (mut c, mut other) = (s.raw_authed().await, s.raw_authed().await);
    c.table(&[("MULTI", "+OK"), ("INCR n", "+QUEUED")]).await;
    // Another client's write between the queued commands runs before the whole transaction.
    other.table(&[("SET n 10", "+OK")]).await;
    c.table(&[("INCR n", "+QUEUED"), ("EXEC", "[:11, :12]")])
        .await;
    // The whole pipeline at once works the same.
    let lines = ["MULTI", "INCR n", "INCR n", "EXEC"];
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend(encode(&split_args(line)));
    }
    c.send(&bytes).await;
    let mut got = Vec::new();
    for _ in lines {
        got.push(c.read_reply().await.to_string());
    }
    assert_eq!(got, ["+OK", "+QUEUED", "+QUEUED", "[:13, :14]"]);
}

#[tokio::test]
async fn blocking_commands_in_multi_do_not_block() {
    let s = Server::start(&[]);
    let mut c = s.raw_authed().await;
    c.table(&[
        ("MULTI", "+OK"),
        ("BLPOP empty 0", "+QUEUED"),
        ("BRPOPLPUSH empty other 0", "+QUEUED"),
        ("RPUSH l a", "+QUEUED"),
        ("BLPOP l 0", "+QUEUED"),
        ("EXEC", "[nil, nil, :1, [\"l\", \"a\"]]"),
        ("PING", "+PONG"),
    ])
    .await;
}

#[tokio::test]
async fn client_list_shows_the_queued_count() {
    let s = Server::start(&[]);
    let mut c = s.raw_authed().await;
    c.table(&[("MULTI", "+OK"), ("SET a 1", "+QUEUED")]).await;
    let mut other = s.raw_authed().await;
    let list = other.q("CLIENT LIST").await.text();
    let line = list
        .lines()
        .find(|l| l.contains("multi=1"))
        .expect("a client in MULTI");
    assert!(line.contains("flags=x"), "{line}");
    c.table(&[("EXEC", "[+OK]")]).await;
}

#[tokio::test]
async fn a_blocked_client_served_later_touches_the_keys_it_writes() {
    let s = Server::start(&[]);
    let (mut c, mut blocked, mut pusher) = (
        s.raw_authed().await,
        s.raw_authed().await,
        s.raw_authed().await,
    );
    blocked
        .send(&encode(&split_args("BLMOVE src dst LEFT RIGHT 0")))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    c.table(&[("WATCH dst", "+OK")]).await;
    // Only the served BLMOVE writes `dst`.
    pusher.table(&[("RPUSH src a", ":1")]).await;
    assert_eq!(blocked.read_reply().await.to_string(), "\"a\"");
    c.table(&[("MULTI", "+OK"), ("PING", "+QUEUED"), ("EXEC", "nil")])
        .await;
}
