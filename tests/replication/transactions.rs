//! Transactions and pub/sub across replication: a transaction reaches the standby whole, a
//! replicated write touches a key watched on the standby, and a standby's subscribers receive
//! what is published on its primary.

use std::time::Duration;

use crate::common::{encode, split_args};
use crate::support::{caught_up, primary, standby_of};

#[tokio::test]
async fn transactions_replicate_and_touch_keys_watched_on_a_standby() {
    let p = primary(&[]);
    let s = standby_of(&p, &[]);
    let mut pc = p.raw_authed().await;
    pc.table(&[("SET w 0", "+OK")]).await;
    caught_up(&p, &[&s]).await;
    let mut sc = s.raw_authed().await;
    sc.table(&[("WATCH w", "+OK")]).await;
    pc.table(&[
        ("MULTI", "+OK"),
        ("SET a 1", "+QUEUED"),
        ("INCR w", "+QUEUED"),
        ("GET a", "+QUEUED"),
        ("EXEC", "[+OK, :1, \"1\"]"),
        // A transaction that writes nothing streams nothing.
        ("MULTI", "+OK"),
        ("GET a", "+QUEUED"),
        ("EXEC", "[\"1\"]"),
    ])
    .await;
    caught_up(&p, &[&s]).await;
    sc.table(&[
        ("MULTI", "+OK"),
        ("GET w", "+QUEUED"),
        ("EXEC", "nil"),
        ("MGET a w", "[\"1\", \"1\"]"),
    ])
    .await;
}

#[tokio::test]
async fn a_standby_subscriber_receives_what_the_primary_publishes() {
    let p = primary(&[]);
    let s = standby_of(&p, &[]);
    let mut pc = p.raw_authed().await;
    pc.table(&[("SET x 1", "+OK")]).await;
    caught_up(&p, &[&s]).await;
    let mut sub = s.raw_authed().await;
    sub.send(&encode(&split_args("SUBSCRIBE ch"))).await;
    assert_eq!(
        sub.read_reply().await.to_string(),
        "[\"subscribe\", \"ch\", :1]"
    );
    pc.table(&[("PUBLISH ch hello", ":0")]).await;
    let message = tokio::time::timeout(Duration::from_secs(5), sub.read_reply())
        .await
        .expect("the message reached the standby's subscriber");
    assert_eq!(message.to_string(), "[\"message\", \"ch\", \"hello\"]");
}

#[tokio::test]
async fn in_synchronous_mode_exec_answers_once_the_standby_has_the_whole_block() {
    let p = primary(&["--min-replicas-to-ack", "1", "--replica-ack-timeout", "300"]);
    let mut c = p.raw().await;
    // No standby: the transaction's reply waits, then reports the missing acks.
    c.table(&[
        ("MULTI", "+OK"),
        ("SET a 1", "+QUEUED"),
        ("SET b 2", "+QUEUED"),
        ("EXEC", "-NOREPLICAS Not enough good replicas to write."),
        // A transaction that only reads is not held.
        ("MULTI", "+OK"),
        ("GET a", "+QUEUED"),
        ("EXEC", "[\"1\"]"),
    ])
    .await;
    let s = standby_of(&p, &[]);
    caught_up(&p, &[&s]).await;
    c.table(&[
        ("MULTI", "+OK"),
        ("SET a 10", "+QUEUED"),
        ("SET b 20", "+QUEUED"),
        ("EXEC", "[+OK, +OK]"),
    ])
    .await;
    // Acknowledged means the standby holds both writes already.
    let mut sc = s.raw().await;
    sc.table(&[("MGET a b", "[\"10\", \"20\"]")]).await;
}

#[tokio::test]
async fn a_primary_demoted_between_queue_and_exec_refuses_the_queued_writes() {
    let p = primary(&[]);
    let other = primary(&[]);
    let mut client = p.raw_authed().await;
    client
        .table(&[
            ("MULTI", "+OK"),
            ("SET demoted 1", "+QUEUED"),
            ("GET demoted", "+QUEUED"),
        ])
        .await;
    let mut admin = p.raw_authed().await;
    let target = other.addr();
    let line = format!("REPLICAOF {} {}", target.ip(), target.port());
    admin.table(&[(line.as_str(), "+OK")]).await;
    // As Redis's processCommand: EXEC with a queued write is a write, refused on a standby,
    // and the transaction is discarded.
    client
        .table(&[
            (
                "EXEC",
                "-EXECABORT Transaction discarded because of: READONLY You can't write against a read only replica.",
            ),
            ("EXEC", "-ERR EXEC without MULTI"),
            ("MULTI", "+OK"),
            ("GET demoted", "+QUEUED"),
            ("EXEC", "[nil]"),
        ])
        .await;
}
