//! Pub/sub: SUBSCRIBE and friends in RESP2 and RESP3, PUBLISH counts and delivery, patterns,
//! shard channels, PUBSUB introspection, the RESP2 subscribed-mode restriction, keyspace
//! notifications, and a slow subscriber cut off by its output buffer limit.

use std::time::Duration;

use crate::common::{encode, split_args, Raw, Server};

async fn next(c: &mut Raw) -> String {
    tokio::time::timeout(Duration::from_secs(5), c.read_reply())
        .await
        .expect("a message")
        .to_string()
}

#[tokio::test]
async fn subscribers_receive_what_is_published() {
    let s = Server::start(&[]);
    let (mut sub, mut psub, mut publisher) = (
        s.raw_authed().await,
        s.raw_authed().await,
        s.raw_authed().await,
    );
    sub.send(&encode(&split_args("SUBSCRIBE news sport"))).await;
    assert_eq!(next(&mut sub).await, "[\"subscribe\", \"news\", :1]");
    assert_eq!(next(&mut sub).await, "[\"subscribe\", \"sport\", :2]");
    assert_eq!(
        psub.q("PSUBSCRIBE n*").await.to_string(),
        "[\"psubscribe\", \"n*\", :1]"
    );
    publisher
        .table(&[
            ("PUBLISH news hello", ":2"),
            ("PUBLISH other x", ":0"),
            ("PUBSUB CHANNELS s*", "[\"sport\"]"),
            (
                "PUBSUB NUMSUB news nothing",
                "[\"news\", :1, \"nothing\", :0]",
            ),
            ("PUBSUB NUMPAT", ":1"),
        ])
        .await;
    assert_eq!(next(&mut sub).await, "[\"message\", \"news\", \"hello\"]");
    assert_eq!(
        next(&mut psub).await,
        "[\"pmessage\", \"n*\", \"news\", \"hello\"]"
    );
    sub.table(&[
        (
            "GET x",
            "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        ),
        ("PING", "[\"pong\", \"\"]"),
        ("PING hi", "[\"pong\", \"hi\"]"),
    ])
    .await;
    sub.send(&encode(&split_args("UNSUBSCRIBE"))).await;
    // Every channel is left, in an order Redis does not define; the count falls to 0.
    let (first, second) = (next(&mut sub).await, next(&mut sub).await);
    assert!(
        first.ends_with(":1]") && second.ends_with(":0]"),
        "{first} {second}"
    );
    let mut left = [first, second].map(|m| m.split(", ").nth(1).unwrap_or("").to_string());
    left.sort();
    assert_eq!(left, ["\"news\"", "\"sport\""]);
    sub.table(&[
        ("PING", "+PONG"),
        ("UNSUBSCRIBE", "[\"unsubscribe\", nil, :0]"),
    ])
    .await;
    publisher.table(&[("PUBLISH news again", ":1")]).await;
}

#[tokio::test]
async fn resp3_subscribers_get_push_frames_and_keep_issuing_commands() {
    let s = Server::start(&[]);
    let (mut sub, mut publisher) = (s.raw_authed().await, s.raw_authed().await);
    sub.q("HELLO 3").await;
    assert_eq!(
        sub.q("SUBSCRIBE ch").await.to_string(),
        ">[\"subscribe\", \"ch\", :1]"
    );
    sub.table(&[("SET k v", "+OK"), ("GET k", "\"v\"")]).await;
    publisher.table(&[("PUBLISH ch m", ":1")]).await;
    assert_eq!(next(&mut sub).await, ">[\"message\", \"ch\", \"m\"]");
    assert_eq!(
        sub.q("SSUBSCRIBE sh").await.to_string(),
        ">[\"ssubscribe\", \"sh\", :1]"
    );
    publisher
        .table(&[
            ("SPUBLISH sh m2", ":1"),
            ("PUBSUB SHARDCHANNELS", "[\"sh\"]"),
            ("PUBSUB SHARDNUMSUB sh", "[\"sh\", :1]"),
        ])
        .await;
    assert_eq!(next(&mut sub).await, ">[\"smessage\", \"sh\", \"m2\"]");
}

#[tokio::test]
async fn keyspace_notifications_follow_notify_keyspace_events() {
    let s = Server::start(&[]);
    let (mut sub, mut c) = (s.raw_authed().await, s.raw_authed().await);
    c.table(&[
        ("CONFIG SET notify-keyspace-events KEA", "+OK"),
        (
            "CONFIG GET notify-keyspace-events",
            "[\"notify-keyspace-events\", \"AKE\"]",
        ),
    ])
    .await;
    sub.q("PSUBSCRIBE __key*__:*").await;
    c.table(&[
        ("SET k v", "+OK"),
        ("LPUSH l a", ":1"),
        ("RENAME l l2", "+OK"),
        ("DEL k nothing", ":1"),
    ])
    .await;
    let mut got = Vec::new();
    for _ in 0..10 {
        got.push(next(&mut sub).await);
    }
    let channels: Vec<String> = got
        .iter()
        .map(|m| m.split(", ").nth(2).unwrap_or("").to_string())
        .collect();
    assert_eq!(
        channels,
        [
            "\"__keyspace@0__:k\"",
            "\"__keyevent@0__:set\"",
            "\"__keyspace@0__:l\"",
            "\"__keyevent@0__:lpush\"",
            "\"__keyspace@0__:l\"",
            "\"__keyevent@0__:rename_from\"",
            "\"__keyspace@0__:l2\"",
            "\"__keyevent@0__:rename_to\"",
            "\"__keyspace@0__:k\"",
            "\"__keyevent@0__:del\"",
        ],
        "{got:?}"
    );
    c.table(&[
        ("CONFIG SET notify-keyspace-events Ex", "+OK"),
        ("SET e v PX 20", "+OK"),
    ])
    .await;
    assert_eq!(
        next(&mut sub).await,
        "[\"pmessage\", \"__key*__:*\", \"__keyevent@0__:expired\", \"e\"]"
    );
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_cut_off() {
    let s = Server::start(&[]);
    let (mut sub, mut c) = (s.raw_authed().await, s.raw_authed().await);
    c.table(&[(
        "CONFIG SET client-output-buffer-limit \"pubsub 1mb 512kb 60\"",
        "+OK",
    )])
    .await;
    sub.q("SUBSCRIBE ch").await;
    let payload = "x".repeat(64 * 1024);
    // The subscriber reads nothing: far more than socket buffers plus the limit is sent.
    let mut receivers = Vec::new();
    for _ in 0..400 {
        receivers.push(c.cmd(&["PUBLISH", "ch", payload.as_str()]).await.int());
    }
    assert_eq!(receivers[0], 1);
    let mut cut = false;
    for _ in 0..100 {
        if c.q("PUBSUB NUMSUB ch").await.to_string() == "[\"ch\", :0]" {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cut, "the slow subscriber is still subscribed");
}

#[tokio::test]
async fn each_family_publishes_redis_event_names() {
    let s = Server::start(&[]);
    let (mut sub, mut c) = (s.raw_authed().await, s.raw_authed().await);
    c.table(&[("CONFIG SET notify-keyspace-events Eg$lshz", "+OK")])
        .await;
    sub.q("PSUBSCRIBE __keyevent@*").await;
    c.table(&[
        ("HSET h f v", ":1"),
        ("SADD s a", ":1"),
        ("ZADD z 1 a", ":1"),
        ("ZINCRBY z 1 a", "\"2\""),
        ("INCR n", ":1"),
        ("APPEND n 0", ":2"),
        ("EXPIRE n 100", ":1"),
        ("PERSIST n", ":1"),
        ("SET e v EX 100", "+OK"),
        ("RPUSH l a", ":1"),
        ("LPOP l", "\"a\""),
        ("HDEL h f", ":1"),
        ("SREM s nothing", ":0"),
    ])
    .await;
    let want = [
        "hset", "sadd", "zadd", "zincr", "incrby", "append", "expire", "persist", "set", "expire",
        "rpush", "lpop", "del", "hdel", "del",
    ];
    let mut got = Vec::new();
    for _ in want {
        let message = next(&mut sub).await;
        let channel = message.split(", ").nth(2).unwrap_or("").to_string();
        got.push(
            channel
                .trim_matches('"')
                .trim_start_matches("__keyevent@0__:")
                .to_string(),
        );
    }
    assert_eq!(got, want);
}
