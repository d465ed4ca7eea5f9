//! Client control: CLIENT UNBLOCK, CLIENT REPLY, CLIENT NO-EVICT and RESET.

use std::time::Duration;

use crate::common::{encode, split_args, Server};

#[tokio::test]
async fn client_unblock_answers_a_blocked_client_with_nil_or_an_error() {
    let s = Server::start(&[]);
    let (mut blocked, mut c) = (s.raw_authed().await, s.raw_authed().await);
    let id = blocked.int("CLIENT ID").await;
    blocked.send(&encode(&split_args("BLPOP l 0"))).await;
    let mut unblocked = 0;
    for _ in 0..100 {
        unblocked = c.int(&format!("CLIENT UNBLOCK {id}")).await;
        if unblocked == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(unblocked, 1);
    assert_eq!(blocked.read_reply().await.to_string(), "nil");
    blocked.send(&encode(&split_args("BLPOP l 0"))).await;
    for _ in 0..100 {
        if c.int(&format!("CLIENT UNBLOCK {id} ERROR")).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        blocked.read_reply().await.to_string(),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK"
    );
    c.table(&[
        (&format!("CLIENT UNBLOCK {id}"), ":0"),
        (
            &format!("CLIENT UNBLOCK {id} LATER"),
            "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
        ),
    ])
    .await;
}

#[tokio::test]
async fn client_reply_off_and_skip_silence_replies() {
    let s = Server::start(&[]);
    let mut c = s.raw_authed().await;
    let mut bytes = Vec::new();
    for line in [
        "CLIENT REPLY OFF",
        "SET a 1",
        "CLIENT REPLY ON",
        "CLIENT REPLY SKIP",
        "SET b 2",
        "GET a",
    ] {
        bytes.extend(encode(&split_args(line)));
    }
    c.send(&bytes).await;
    assert_eq!(c.read_reply().await.to_string(), "+OK");
    assert_eq!(c.read_reply().await.to_string(), "\"1\"");
    c.table(&[
        ("GET b", "\"2\""),
        ("CLIENT NO-EVICT on", "+OK"),
        ("CLIENT NO-EVICT maybe", "-ERR syntax error"),
    ])
    .await;
}

#[tokio::test]
async fn reset_leaves_transactions_and_subscriptions() {
    let s = Server::start(&[]);
    let mut c = s.raw_authed().await;
    c.table(&[
        ("SELECT 2", "+OK"),
        ("MULTI", "+OK"),
        ("SET a 1", "+QUEUED"),
        ("RESET", "+RESET"),
        ("EXEC", "-ERR EXEC without MULTI"),
        ("EXISTS a", ":0"),
        ("SUBSCRIBE ch", "[\"subscribe\", \"ch\", :1]"),
        ("RESET", "+RESET"),
        ("PUBLISH ch m", ":0"),
    ])
    .await;
}

#[tokio::test]
async fn client_pause_write_holds_writes_but_not_reads() {
    let s = Server::start(&[]);
    let (mut c, mut other) = (s.raw_authed().await, s.raw_authed().await);
    c.table(&[
        (
            "CLIENT PAUSE abc",
            "-ERR timeout is not an integer or out of range",
        ),
        ("CLIENT PAUSE -1", "-ERR timeout is negative"),
        (
            "CLIENT PAUSE 10 SOME",
            "-ERR CLIENT PAUSE mode must be WRITE or ALL",
        ),
        ("CLIENT PAUSE 300 WRITE", "+OK"),
    ])
    .await;
    let started = std::time::Instant::now();
    other.table(&[("GET k", "nil")]).await;
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "a read was held"
    );
    other.table(&[("SET k v", "+OK")]).await;
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "a write ran during the pause"
    );
    c.table(&[("CLIENT PAUSE 10000 WRITE", "+OK")]).await;
    other.send(&encode(&split_args("SET k v2"))).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    c.table(&[("GET k", "\"v\""), ("CLIENT UNPAUSE", "+OK")])
        .await;
    assert_eq!(other.read_reply().await.to_string(), "+OK");
}
