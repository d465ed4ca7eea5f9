//! Blocking commands through the proxy: one group's keys served on a held connection with
//! the node's own timeout; keys over several groups with Redis's semantics (data first in
//! argument order, else the first push anywhere), no element lost or delivered twice, and the
//! held connections released when clients leave mid-wait.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::cluster::{keys_by_group, proxy_metric, Cluster};
use crate::common::{encode, eventually, Raw, Reply};

const PINNED: &str = "redoubt_proxy_pinned_connections{reason=\"blocking\"}";

async fn pinned(cluster: &Cluster) -> f64 {
    proxy_metric(cluster, PINNED).await.expect("pinned gauge")
}

/// Sends a request without waiting for its reply.
async fn start(raw: &mut Raw, args: &[&str]) {
    raw.send(&encode(args)).await;
}

#[tokio::test]
async fn one_groups_keys_wait_on_a_held_connection_and_time_out_with_nil() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "one", 1).await;
    let key = keys[0][0].as_str();
    let mut waiter = cluster.proxy.raw().await;
    let mut pusher = cluster.proxy.raw().await;
    assert_eq!(pinned(&cluster).await, 0.0);

    start(&mut waiter, &["BLPOP", key, "0"]).await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            pinned(&cluster).await == 1.0
        })
        .await
    );
    assert_eq!(pusher.cmd(&["RPUSH", key, "a", "b"]).await, Reply::Int(2));
    assert_eq!(
        waiter.read_reply().await,
        Reply::Array(vec![Reply::bulk(key), Reply::bulk("a")])
    );
    assert!(
        eventually(Duration::from_secs(5), || async {
            pinned(&cluster).await == 0.0
        })
        .await
    );
    assert_eq!(pusher.cmd(&["LLEN", key]).await, Reply::Int(1));

    // Redis's reply on timeout: a nil array, after the timeout.
    let started = Instant::now();
    assert_eq!(
        waiter.cmd(&["BRPOP", "nothing-here", "0.3"]).await,
        Reply::Nil
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    start(&mut waiter, &["BZPOPMIN", "zone", "0"]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(pusher.cmd(&["ZADD", "zone", "2", "m"]).await, Reply::Int(1));
    assert_eq!(
        waiter.read_reply().await,
        Reply::Array(vec![
            Reply::bulk("zone"),
            Reply::bulk("m"),
            Reply::bulk("2")
        ])
    );

    // A move within one group runs on the node.
    start(
        &mut waiter,
        &["BLMOVE", "{t}src", "{t}dst", "LEFT", "RIGHT", "0"],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(pusher.cmd(&["RPUSH", "{t}src", "x"]).await, Reply::Int(1));
    assert_eq!(waiter.read_reply().await, Reply::bulk("x"));
    assert_eq!(
        pusher.cmd(&["LRANGE", "{t}dst", "0", "-1"]).await,
        Reply::Array(vec![Reply::bulk("x")])
    );
}

/// `BLMOVE` and `BRPOPLPUSH` between groups (BullMQ moves jobs from its wait list to its
/// active list so): data already there moves at once, a waiter is woken by a push, the
/// element lands at the asked end of the destination and leaves the source, a destination of
/// another type is refused before anything moves, and a timeout answers a null.
#[tokio::test]
async fn moves_between_groups_wait_on_the_source_and_push_to_the_destination() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "move", 2).await;
    let (src, dst, other) = (
        keys[0][0].as_str(),
        keys[1][0].as_str(),
        keys[1][1].as_str(),
    );
    let mut waiter = cluster.proxy.raw().await;
    let mut pusher = cluster.proxy.raw().await;

    // Data already there: moved at once, from the asked end to the asked end.
    assert_eq!(
        pusher.cmd(&["RPUSH", src, "a", "b", "c"]).await,
        Reply::Int(3)
    );
    assert_eq!(pusher.cmd(&["RPUSH", dst, "z"]).await, Reply::Int(1));
    assert_eq!(
        waiter
            .cmd(&["BLMOVE", src, dst, "RIGHT", "LEFT", "0"])
            .await,
        Reply::bulk("c")
    );
    assert_eq!(
        waiter.cmd(&["BRPOPLPUSH", src, dst, "0"]).await,
        Reply::bulk("b")
    );
    let range = |items: &[&str]| Reply::Array(items.iter().map(Reply::bulk).collect());
    assert_eq!(
        pusher.cmd(&["LRANGE", dst, "0", "-1"]).await,
        range(&["b", "c", "z"])
    );
    assert_eq!(pusher.cmd(&["LRANGE", src, "0", "-1"]).await, range(&["a"]));
    assert_eq!(pusher.cmd(&["DEL", src]).await, Reply::Int(1));

    // A waiter on an empty source is woken by a push there.
    start(&mut waiter, &["BLMOVE", src, dst, "LEFT", "RIGHT", "0"]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(pusher.cmd(&["RPUSH", src, "woke"]).await, Reply::Int(1));
    assert_eq!(waiter.read_reply().await, Reply::bulk("woke"));
    assert_eq!(
        pusher.cmd(&["LRANGE", dst, "0", "-1"]).await,
        range(&["b", "c", "z", "woke"])
    );
    assert_eq!(pusher.cmd(&["EXISTS", src]).await, Reply::Int(0));

    // A destination of another type: WRONGTYPE, and the element stays at the source.
    assert_eq!(pusher.cmd(&["SET", other, "string"]).await, Reply::ok());
    assert_eq!(pusher.cmd(&["RPUSH", src, "stays"]).await, Reply::Int(1));
    assert_eq!(
        waiter
            .cmd(&["BLMOVE", src, other, "LEFT", "LEFT", "0"])
            .await,
        Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into())
    );
    assert_eq!(
        pusher.cmd(&["LRANGE", src, "0", "-1"]).await,
        range(&["stays"])
    );

    // A timeout with nothing to move: a null, and nothing moved.
    assert_eq!(pusher.cmd(&["DEL", src]).await, Reply::Int(1));
    assert_eq!(
        waiter
            .cmd(&["BLMOVE", src, dst, "LEFT", "LEFT", "0.2"])
            .await,
        Reply::Nil
    );
    assert_eq!(pusher.cmd(&["LLEN", dst]).await, Reply::Int(4));
}

#[tokio::test]
async fn keys_over_groups_take_data_from_the_first_key_in_argument_order() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "order", 2).await;
    let (a0, a1, b0) = (
        keys[0][0].as_str(),
        keys[0][1].as_str(),
        keys[1][0].as_str(),
    );
    let mut raw = cluster.proxy.raw().await;
    assert_eq!(raw.cmd(&["RPUSH", b0, "from-b0"]).await, Reply::Int(1));
    assert_eq!(raw.cmd(&["RPUSH", a1, "from-a1"]).await, Reply::Int(1));
    assert_eq!(
        raw.cmd(&["BLPOP", a0, b0, a1, "0"]).await,
        Reply::Array(vec![Reply::bulk(b0), Reply::bulk("from-b0")])
    );
    assert_eq!(
        raw.cmd(&["BRPOP", a0, b0, a1, "0"]).await,
        Reply::Array(vec![Reply::bulk(a1), Reply::bulk("from-a1")])
    );
    assert_eq!(raw.cmd(&["LLEN", b0]).await, Reply::Int(0));
    assert_eq!(raw.cmd(&["LLEN", a1]).await, Reply::Int(0));
    // A key of another type met first in argument order: Redis's WRONGTYPE.
    assert_eq!(raw.cmd(&["SET", a0, "text"]).await, Reply::ok());
    assert_eq!(raw.cmd(&["RPUSH", b0, "kept"]).await, Reply::Int(1));
    assert_eq!(
        raw.cmd(&["BLPOP", a0, b0, "0"]).await,
        Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into())
    );
    assert_eq!(raw.cmd(&["LLEN", b0]).await, Reply::Int(1));
}

#[tokio::test]
async fn keys_over_groups_wake_on_the_first_push_anywhere_and_put_nothing_back_twice() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "wake", 1).await;
    let (a, b) = (keys[0][0].as_str(), keys[1][0].as_str());
    let mut waiter = cluster.proxy.raw().await;
    let mut pusher = cluster.proxy.raw().await;
    for (pushed, rest) in [(b, a), (a, b)] {
        start(&mut waiter, &["BLPOP", a, b, "0"]).await;
        assert!(
            eventually(Duration::from_secs(5), || async {
                pinned(&cluster).await == 2.0
            })
            .await
        );
        assert_eq!(pusher.cmd(&["LPUSH", pushed, "x"]).await, Reply::Int(1));
        assert_eq!(
            waiter.read_reply().await,
            Reply::Array(vec![Reply::bulk(pushed), Reply::bulk("x")])
        );
        assert_eq!(pusher.cmd(&["LLEN", pushed]).await, Reply::Int(0));
        assert_eq!(pusher.cmd(&["LLEN", rest]).await, Reply::Int(0));
        assert!(
            eventually(Duration::from_secs(5), || async {
                pinned(&cluster).await == 0.0
            })
            .await
        );
    }
    // Sorted sets over groups, with a timeout that passes.
    let started = Instant::now();
    assert_eq!(waiter.cmd(&["BZPOPMAX", a, b, "0.3"]).await, Reply::Nil);
    assert!(started.elapsed() >= Duration::from_millis(300));
    start(&mut waiter, &["BZPOPMAX", a, b, "5"]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        pusher.cmd(&["ZADD", b, "3", "m3", "1", "m1"]).await,
        Reply::Int(2)
    );
    assert_eq!(
        waiter.read_reply().await,
        Reply::Array(vec![Reply::bulk(b), Reply::bulk("m3"), Reply::bulk("3")])
    );
}

#[tokio::test]
async fn concurrent_pushes_to_every_group_reach_blocked_clients_exactly_once() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "queue", 2).await;
    let queues: Vec<String> = vec![
        keys[0][0].clone(),
        keys[1][0].clone(),
        keys[0][1].clone(),
        keys[1][1].clone(),
    ];
    const CONSUMERS: usize = 24;
    const PER_QUEUE: usize = 150;
    let mut consumers = Vec::new();
    for c in 0..CONSUMERS {
        let mut raw = cluster.proxy.raw().await;
        let mut request: Vec<String> = vec![if c % 2 == 0 { "BRPOP" } else { "BLPOP" }.into()];
        // Each consumer names the queues in its own rotation.
        for i in 0..queues.len() {
            request.push(queues[(c + i) % queues.len()].clone());
        }
        request.push("1".into());
        consumers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                match raw.cmd(&request).await {
                    Reply::Array(items) => got.push(items[1].text()),
                    Reply::Nil => return got,
                    other => panic!("unexpected reply {other}"),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut pushers = Vec::new();
    for queue in queues.clone() {
        let mut raw = cluster.proxy.raw().await;
        pushers.push(tokio::spawn(async move {
            for i in 0..PER_QUEUE {
                let side = if i % 2 == 0 { "LPUSH" } else { "RPUSH" };
                raw.cmd(&[side, queue.as_str(), &format!("{queue}/{i}")])
                    .await;
            }
        }));
    }
    for pusher in pushers {
        pusher.await.unwrap();
    }
    let mut seen = HashSet::new();
    let mut delivered = 0;
    for consumer in consumers {
        for element in consumer.await.unwrap() {
            delivered += 1;
            assert!(seen.insert(element.clone()), "{element} delivered twice");
        }
    }
    let mut raw = cluster.proxy.raw().await;
    for queue in &queues {
        for element in raw
            .cmd(&["LRANGE", queue.as_str(), "0", "-1"])
            .await
            .array()
        {
            assert!(
                seen.insert(element.text()),
                "{element} both delivered and left"
            );
        }
    }
    assert_eq!(seen.len(), queues.len() * PER_QUEUE, "elements lost");
    assert!(delivered > 0);
    assert!(
        eventually(Duration::from_secs(5), || async {
            pinned(&cluster).await == 0.0
        })
        .await
    );
}

#[tokio::test]
async fn held_connections_return_to_zero_when_clients_leave_mid_wait() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "leave", 1).await;
    let (a, b) = (keys[0][0].as_str(), keys[1][0].as_str());
    let mut waiters = Vec::new();
    for i in 0..20 {
        let mut raw = cluster.proxy.raw().await;
        if i % 2 == 0 {
            start(&mut raw, &["BLPOP", a, b, "0"]).await;
        } else {
            start(&mut raw, &["BRPOP", a, "0"]).await;
        }
        waiters.push(raw);
    }
    // Ten clients wait on two groups, ten on one.
    assert!(
        eventually(Duration::from_secs(10), || async {
            pinned(&cluster).await == 30.0
        })
        .await
    );
    drop(waiters);
    assert!(
        eventually(Duration::from_secs(10), || async {
            pinned(&cluster).await == 0.0
        })
        .await
    );
    // Nobody waits any more: pushed elements stay.
    let mut raw = cluster.proxy.raw().await;
    assert_eq!(raw.cmd(&["RPUSH", a, "kept"]).await, Reply::Int(1));
    assert_eq!(raw.cmd(&["RPUSH", b, "kept"]).await, Reply::Int(1));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(raw.cmd(&["LLEN", a]).await, Reply::Int(1));
    assert_eq!(raw.cmd(&["LLEN", b]).await, Reply::Int(1));
}

#[tokio::test]
async fn wait_goes_to_the_group_of_the_last_write_or_to_every_primary() {
    let cluster = Cluster::start(&[1, 1], "", "");
    cluster.settled().await;
    let keys = keys_by_group(&cluster, "wait", 1).await;
    let mut raw = cluster.proxy.raw().await;
    let calls = |g: usize| crate::cluster::calls(&cluster.groups[g].nodes[0], "wait");
    let before = [calls(0).await, calls(1).await];
    // No write yet: every primary, the smallest count.
    assert_eq!(raw.cmd(&["WAIT", "1", "1000"]).await, Reply::Int(1));
    assert_eq!(
        [calls(0).await, calls(1).await],
        [before[0] + 1, before[1] + 1]
    );
    // After a write to group 1: only there, once its standby has it.
    assert_eq!(
        raw.cmd(&["SET", keys[1][0].as_str(), "v"]).await,
        Reply::ok()
    );
    assert_eq!(raw.cmd(&["WAIT", "1", "1000"]).await, Reply::Int(1));
    assert_eq!(
        [calls(0).await, calls(1).await],
        [before[0] + 1, before[1] + 2]
    );
    let started = Instant::now();
    assert_eq!(raw.cmd(&["WAIT", "2", "200"]).await, Reply::Int(1));
    assert!(started.elapsed() >= Duration::from_millis(200));
}
