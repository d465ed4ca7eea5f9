//! Pub/sub through the proxy: Redis's replies and counts per client, messages from every
//! group exactly once, sharded channels by slot, RESP2's subscribed mode and RESP3 pushes,
//! `PUBSUB` merged over groups, keyspace events from every group, one backend subscription
//! per group however many clients listen, and slow subscribers cut off.

use std::collections::HashSet;
use std::time::Duration;

use crate::cluster::{keys_by_group, proxy_metric, Cluster};
use crate::common::{encode, eventually, Raw, Reply};

fn push(items: &[&str]) -> Vec<Reply> {
    items.iter().map(Reply::bulk).collect()
}

/// `[verb, name, count]` as an array (RESP2).
fn confirmation(verb: &str, name: &str, count: i64) -> Reply {
    Reply::Array(vec![
        Reply::bulk(verb),
        Reply::bulk(name),
        Reply::Int(count),
    ])
}

fn message(channel: &str, payload: &str) -> Reply {
    Reply::Array(push(&["message", channel, payload]))
}

/// A node's reply to `PUBSUB NUMSUB channel`: its count.
async fn node_numsub(cluster: &Cluster, group: usize, channel: &str) -> i64 {
    let mut node = cluster.groups[group].nodes[0].raw().await;
    node.cmd(&["PUBSUB", "NUMSUB", channel]).await.array()[1].int()
}

#[tokio::test]
async fn messages_from_every_group_reach_each_subscription_exactly_once() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let channels = keys_by_group(&cluster, "ch", 1).await;
    let (c0, c1) = (channels[0][0].as_str(), channels[1][0].as_str());
    let mut sub = cluster.proxy.raw().await;
    let mut publisher = cluster.proxy.raw().await;

    sub.send(&encode(&["SUBSCRIBE", c0, c1])).await;
    assert_eq!(sub.read_reply().await, confirmation("subscribe", c0, 1));
    assert_eq!(sub.read_reply().await, confirmation("subscribe", c1, 2));
    assert_eq!(
        sub.cmd(&["PSUBSCRIBE", "ch:*"]).await,
        confirmation("psubscribe", "ch:*", 3)
    );
    // Subscribing twice changes nothing but still confirms.
    assert_eq!(
        sub.cmd(&["SUBSCRIBE", c0]).await,
        confirmation("subscribe", c0, 3)
    );

    // The node counts the proxy's one connection once per matching subscription.
    for channel in [c0, c1] {
        assert_eq!(
            publisher.cmd(&["PUBLISH", channel, "hello"]).await,
            Reply::Int(2)
        );
        assert_eq!(sub.read_reply().await, message(channel, "hello"));
        assert_eq!(
            sub.read_reply().await,
            Reply::Array(push(&["pmessage", "ch:*", channel, "hello"]))
        );
    }
    // Published on one group, a channel the other group's key would own: still once.
    let mut direct = cluster.groups[1].nodes[0].raw().await;
    assert_eq!(direct.cmd(&["PUBLISH", c0, "via-g1"]).await, Reply::Int(2));
    assert_eq!(sub.read_reply().await, message(c0, "via-g1"));
    assert_eq!(
        sub.read_reply().await,
        Reply::Array(push(&["pmessage", "ch:*", c0, "via-g1"]))
    );
    assert_eq!(
        publisher.cmd(&["PUBLISH", "unheard", "x"]).await,
        Reply::Int(0)
    );
    // Published by a transaction on one group and by a script on the other: once each.
    let mut node0 = cluster.groups[0].nodes[0].raw().await;
    assert_eq!(node0.cmd(&["MULTI"]).await, Reply::ok());
    assert_eq!(
        node0.cmd(&["PUBLISH", c1, "in-multi"]).await,
        Reply::Simple("QUEUED".into())
    );
    assert_eq!(
        node0.cmd(&["EXEC"]).await,
        Reply::Array(vec![Reply::Int(2)])
    );
    let script = "return redis.call('PUBLISH', ARGV[1], ARGV[2])";
    assert_eq!(
        direct.cmd(&["EVAL", script, "0", c1, "in-script"]).await,
        Reply::Int(2)
    );
    // The two groups reach the proxy over two links, so only each group's own order holds:
    // its message, then its pattern message.
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(sub.read_reply().await);
    }
    for payload in ["in-multi", "in-script"] {
        let plain = got.iter().position(|r| *r == message(c1, payload));
        let pattern = got
            .iter()
            .position(|r| *r == Reply::Array(push(&["pmessage", "ch:*", c1, payload])));
        assert!(
            matches!((plain, pattern), (Some(a), Some(b)) if a < b),
            "{payload}: {got:?}"
        );
    }

    // Many messages over both groups, pipelined: each arrives once, in order per group.
    let mut batch = Vec::new();
    for i in 0..100 {
        let channel = if i % 2 == 0 { c0 } else { c1 };
        batch.extend(encode(&["PUBLISH", channel, &i.to_string()]));
    }
    publisher.send(&batch).await;
    for _ in 0..100 {
        assert_eq!(publisher.read_reply().await, Reply::Int(2));
    }
    let mut seen = Vec::new();
    for _ in 0..200 {
        let reply = sub.read_reply().await;
        let items = reply.array();
        if items[0] == Reply::bulk("message") {
            seen.push(items[2].text().parse::<usize>().unwrap());
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>(), "each message once");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        sub.cmd(&["PING"]).await,
        Reply::Array(vec![Reply::bulk("pong"), Reply::bulk("")]),
        "nothing more arrived"
    );

    // RESP2 subscribed mode: only (P|S)(UN)SUBSCRIBE, PING, QUIT and RESET.
    assert_eq!(
        sub.cmd(&["GET", "x"]).await,
        Reply::Error("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context".into())
    );
    assert_eq!(
        sub.cmd(&["CLIENT", "LIST"]).await,
        Reply::Error("ERR Can't execute 'client|list': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context".into())
    );
    assert_eq!(
        sub.cmd(&["PING", "hi"]).await,
        Reply::Array(vec![Reply::bulk("pong"), Reply::bulk("hi")])
    );

    sub.send(&encode(&["UNSUBSCRIBE"])).await;
    let first = sub.read_reply().await;
    let second = sub.read_reply().await;
    let left: HashSet<Vec<u8>> = [first.array()[1].bytes(), second.array()[1].bytes()].into();
    assert_eq!(
        left,
        [c0.as_bytes().to_vec(), c1.as_bytes().to_vec()].into()
    );
    assert_eq!((first.array()[2].int(), second.array()[2].int()), (2, 1));
    assert_eq!(
        sub.cmd(&["PUNSUBSCRIBE"]).await,
        confirmation("punsubscribe", "ch:*", 0)
    );
    assert_eq!(
        sub.cmd(&["UNSUBSCRIBE"]).await,
        Reply::Array(vec![Reply::bulk("unsubscribe"), Reply::Nil, Reply::Int(0)])
    );
    assert_eq!(
        sub.cmd(&["UNSUBSCRIBE", "never"]).await,
        confirmation("unsubscribe", "never", 0)
    );
    // Out of subscribed mode: commands run again, and nothing more is delivered.
    assert_eq!(sub.cmd(&["GET", "x"]).await, Reply::Nil);
    let _ = publisher.cmd(&["PUBLISH", c0, "late"]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(sub.cmd(&["PING"]).await, Reply::Simple("PONG".into()));
}

/// Publishes `{label}0`, `{label}1`, `{label}2` on `news` in one write and reads the replies.
async fn publish_three(publisher: &mut Raw, label: &str) {
    let mut batch = Vec::new();
    for i in 0..3 {
        batch.extend_from_slice(&encode(&["PUBLISH", "news", &format!("{label}{i}")]));
    }
    publisher.send(&batch).await;
    for _ in 0..3 {
        publisher.read_reply().await;
    }
}

/// Each of `clients` reads the three messages [`publish_three`] sent with `label`, in order.
async fn expect_three(clients: &mut [&mut Raw], label: &str) {
    for i in 0..3 {
        let expected = message("news", &format!("{label}{i}"));
        for client in clients.iter_mut() {
            assert_eq!(client.read_reply().await, expected);
        }
    }
}

/// A client that leaves a channel another client keeps gets nothing published meanwhile, and
/// everything again once it rejoins, runs of messages included.
#[tokio::test]
async fn a_client_that_leaves_and_rejoins_a_channel_gets_what_was_published_while_it_listened() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let mut sub = cluster.proxy.raw().await;
    let mut stays = cluster.proxy.raw().await;
    let mut publisher = cluster.proxy.raw().await;
    for client in [&mut sub, &mut stays] {
        assert_eq!(
            client.cmd(&["SUBSCRIBE", "news"]).await,
            confirmation("subscribe", "news", 1)
        );
    }
    publish_three(&mut publisher, "a").await;
    expect_three(&mut [&mut sub, &mut stays], "a").await;

    assert_eq!(
        sub.cmd(&["UNSUBSCRIBE", "news"]).await,
        confirmation("unsubscribe", "news", 0)
    );
    publish_three(&mut publisher, "b").await;
    expect_three(&mut [&mut stays], "b").await;
    assert_eq!(
        sub.cmd(&["SUBSCRIBE", "news"]).await,
        confirmation("subscribe", "news", 1)
    );
    publish_three(&mut publisher, "c").await;
    expect_three(&mut [&mut sub, &mut stays], "c").await;
}

#[tokio::test]
async fn shard_channels_live_on_the_group_owning_their_slot() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let channels = keys_by_group(&cluster, "shard", 1).await;
    let (s0, s1) = (channels[0][0].as_str(), channels[1][0].as_str());
    let mut sub = cluster.proxy.raw().await;
    let mut publisher = cluster.proxy.raw().await;
    sub.send(&encode(&["SSUBSCRIBE", s0, s1])).await;
    assert_eq!(sub.read_reply().await, confirmation("ssubscribe", s0, 1));
    assert_eq!(sub.read_reply().await, confirmation("ssubscribe", s1, 2));
    // Channels and patterns count apart from shard channels.
    assert_eq!(
        sub.cmd(&["SUBSCRIBE", "plain"]).await,
        confirmation("subscribe", "plain", 1)
    );
    for (group, channel) in [(0, s0), (1, s1)] {
        let mut node = cluster.groups[group].nodes[0].raw().await;
        assert_eq!(
            node.cmd(&["PUBSUB", "SHARDCHANNELS"]).await,
            Reply::Array(vec![Reply::bulk(channel)])
        );
        assert_eq!(
            publisher.cmd(&["SPUBLISH", channel, "m"]).await,
            Reply::Int(1)
        );
        assert_eq!(
            sub.read_reply().await,
            Reply::Array(push(&["smessage", channel, "m"]))
        );
    }
    let all = publisher.cmd(&["PUBSUB", "SHARDCHANNELS"]).await;
    assert_eq!(names(&all), [s0, s1].map(String::from).into());
    assert_eq!(
        publisher
            .cmd(&["PUBSUB", "SHARDNUMSUB", s0, s1, "none"])
            .await,
        Reply::Array(vec![
            Reply::bulk(s0),
            Reply::Int(1),
            Reply::bulk(s1),
            Reply::Int(1),
            Reply::bulk("none"),
            Reply::Int(0)
        ])
    );
    assert_eq!(
        sub.cmd(&["SUNSUBSCRIBE", s1]).await,
        confirmation("sunsubscribe", s1, 1)
    );
    assert!(
        eventually(Duration::from_secs(5), || async {
            node_shard_channels(&cluster, 1).await == 0
        })
        .await,
        "the last listener gone, the group's subscription goes"
    );
}

/// The names in an array reply.
fn names(reply: &Reply) -> HashSet<String> {
    reply.array().iter().map(Reply::text).collect()
}

async fn node_shard_channels(cluster: &Cluster, group: usize) -> usize {
    let mut node = cluster.groups[group].nodes[0].raw().await;
    node.cmd(&["PUBSUB", "SHARDCHANNELS"]).await.array().len()
}

#[tokio::test]
async fn resp3_subscribers_get_pushes_and_keep_issuing_commands() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let mut sub = cluster.proxy.raw().await;
    let mut publisher = cluster.proxy.raw().await;
    assert!(matches!(sub.cmd(&["HELLO", "3"]).await, Reply::Map(_)));
    assert_eq!(
        sub.cmd(&["SUBSCRIBE", "news"]).await,
        Reply::Push(vec![
            Reply::bulk("subscribe"),
            Reply::bulk("news"),
            Reply::Int(1)
        ])
    );
    assert_eq!(sub.cmd(&["SET", "k", "v"]).await, Reply::ok());
    assert_eq!(sub.cmd(&["GET", "k"]).await, Reply::bulk("v"));
    assert_eq!(sub.cmd(&["PING"]).await, Reply::Simple("PONG".into()));
    assert_eq!(
        publisher.cmd(&["PUBLISH", "news", "flash"]).await,
        Reply::Int(1)
    );
    assert_eq!(
        sub.read_reply().await,
        Reply::Push(push(&["message", "news", "flash"]))
    );
    // A push and a reply in flight together both arrive, each whole.
    assert_eq!(
        publisher.cmd(&["PUBLISH", "news", "again"]).await,
        Reply::Int(1)
    );
    sub.send(&encode(&["GET", "k"])).await;
    let got: Vec<Reply> = vec![sub.read_reply().await, sub.read_reply().await];
    assert!(got.contains(&Reply::bulk("v")), "{got:?}");
    assert!(
        got.contains(&Reply::Push(push(&["message", "news", "again"]))),
        "{got:?}"
    );
    assert_eq!(
        sub.cmd(&["UNSUBSCRIBE", "news"]).await,
        Reply::Push(vec![
            Reply::bulk("unsubscribe"),
            Reply::bulk("news"),
            Reply::Int(0)
        ])
    );
    assert_eq!(
        sub.cmd(&["PUNSUBSCRIBE"]).await,
        Reply::Push(vec![
            Reply::bulk("punsubscribe"),
            Reply::Null,
            Reply::Int(0)
        ])
    );
    // RESET leaves every subscription.
    assert_eq!(
        sub.cmd(&["PSUBSCRIBE", "n*"]).await,
        Reply::Push(vec![
            Reply::bulk("psubscribe"),
            Reply::bulk("n*"),
            Reply::Int(1)
        ])
    );
    assert_eq!(sub.cmd(&["RESET"]).await, Reply::Simple("RESET".into()));
    let _ = publisher.cmd(&["PUBLISH", "news", "gone"]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(sub.cmd(&["GET", "k"]).await, Reply::bulk("v"));
}

#[tokio::test]
async fn pubsub_introspection_is_merged_over_groups() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let channels = keys_by_group(&cluster, "intro", 1).await;
    let (c0, c1) = (channels[0][0].as_str(), channels[1][0].as_str());
    let mut subs = Vec::new();
    for channel in [c0, c0, c0, c1] {
        let mut sub = cluster.proxy.raw().await;
        assert_eq!(
            sub.cmd(&["SUBSCRIBE", channel]).await.array()[2],
            Reply::Int(1)
        );
        subs.push(sub);
    }
    assert_eq!(
        subs[3]
            .cmd(&["PSUBSCRIBE", "intro:*", "other*"])
            .await
            .array()[2],
        Reply::Int(2)
    );
    let _ = subs[3].read_reply().await;
    let mut raw = cluster.proxy.raw().await;
    assert_eq!(
        raw.cmd(&["PUBSUB", "NUMSUB", c0, c1, "nobody"]).await,
        Reply::Array(vec![
            Reply::bulk(c0),
            Reply::Int(3),
            Reply::bulk(c1),
            Reply::Int(1),
            Reply::bulk("nobody"),
            Reply::Int(0)
        ])
    );
    // One backend subscription per group, whatever the number of clients.
    for group in 0..2 {
        assert_eq!(node_numsub(&cluster, group, c0).await, 1);
    }
    assert_eq!(
        names(&raw.cmd(&["PUBSUB", "CHANNELS"]).await),
        [c0, c1].map(String::from).into()
    );
    assert_eq!(
        raw.cmd(&["PUBSUB", "CHANNELS", c1]).await,
        Reply::Array(vec![Reply::bulk(c1)])
    );
    assert_eq!(raw.cmd(&["PUBSUB", "NUMPAT"]).await, Reply::Int(2));
    // A subscriber straight at a node counts too.
    let mut direct = cluster.groups[1].nodes[0].raw().await;
    assert_eq!(
        direct.cmd(&["SUBSCRIBE", c0]).await.array()[2],
        Reply::Int(1)
    );
    assert_eq!(
        raw.cmd(&["PUBSUB", "NUMSUB", c0]).await,
        Reply::Array(vec![Reply::bulk(c0), Reply::Int(4)])
    );
    drop(subs);
    assert!(
        eventually(Duration::from_secs(5), || async {
            node_numsub(&cluster, 0, c0).await == 0
        })
        .await,
        "clients gone, the backend subscription goes"
    );
    assert!(
        eventually(Duration::from_secs(5), || async {
            proxy_metric(&cluster, "redoubt_proxy_pubsub_clients ").await == Some(0.0)
        })
        .await,
        "no client left subscribed"
    );
}

#[tokio::test]
async fn keyspace_events_arrive_from_every_group() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "ks", 1).await;
    for group in &cluster.groups {
        let mut node = group.nodes[0].raw().await;
        assert_eq!(
            node.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KA"])
                .await,
            Reply::ok()
        );
    }
    let mut sub = cluster.proxy.raw().await;
    assert_eq!(
        sub.cmd(&["PSUBSCRIBE", "__keyspace@0__:ks:*"]).await,
        confirmation("psubscribe", "__keyspace@0__:ks:*", 1)
    );
    let mut writer = cluster.proxy.raw().await;
    for key in [&keys[0][0], &keys[1][0]] {
        assert_eq!(writer.cmd(&["SET", key, "v"]).await, Reply::ok());
        assert_eq!(
            sub.read_reply().await,
            Reply::Array(push(&[
                "pmessage",
                "__keyspace@0__:ks:*",
                &format!("__keyspace@0__:{key}"),
                "set"
            ]))
        );
    }
}

#[tokio::test]
async fn many_subscribers_share_one_backend_subscription_per_group() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let mut subs = Vec::new();
    for _ in 0..200 {
        let mut sub = cluster.proxy.raw().await;
        sub.send(&encode(&["SUBSCRIBE", "crowd"])).await;
        subs.push(sub);
    }
    for sub in &mut subs {
        assert_eq!(
            sub.read_reply().await,
            confirmation("subscribe", "crowd", 1)
        );
    }
    for group in 0..2 {
        assert_eq!(node_numsub(&cluster, group, "crowd").await, 1);
    }
    assert_eq!(
        proxy_metric(&cluster, "redoubt_proxy_pubsub_clients ").await,
        Some(200.0)
    );
    let mut publisher = cluster.proxy.raw().await;
    assert_eq!(
        publisher.cmd(&["PUBLISH", "crowd", "all"]).await,
        Reply::Int(1)
    );
    for sub in &mut subs {
        assert_eq!(sub.read_reply().await, message("crowd", "all"));
    }
    assert_eq!(
        publisher.cmd(&["PUBSUB", "NUMSUB", "crowd"]).await,
        Reply::Array(vec![Reply::bulk("crowd"), Reply::Int(200)])
    );
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_disconnected() {
    let cluster = Cluster::start(
        &[0, 0],
        "",
        "client-output-buffer-limit-pubsub = \"1mb 0 0\"",
    );
    let mut slow = cluster.proxy.raw().await;
    let mut reader = cluster.proxy.raw().await;
    assert_eq!(
        slow.cmd(&["SUBSCRIBE", "flood"]).await.array()[2],
        Reply::Int(1)
    );
    assert_eq!(
        reader.cmd(&["SUBSCRIBE", "flood"]).await.array()[2],
        Reply::Int(1)
    );
    let mut publisher = cluster.proxy.raw().await;
    let payload = "x".repeat(10_000);
    // The reading subscriber keeps pace (each batch read before the next is published); the
    // slow one reads nothing.
    for _ in 0..100 {
        let mut batch = Vec::new();
        for _ in 0..20 {
            batch.extend(encode(&["PUBLISH", "flood", &payload]));
        }
        publisher.send(&batch).await;
        for _ in 0..20 {
            let _ = publisher.read_reply().await;
        }
        for _ in 0..20 {
            let reply = reader.read_reply().await;
            assert_eq!(reply.array()[0], Reply::bulk("message"));
        }
    }
    // 20 MB published: more than the socket buffers and the limit hold.
    assert!(
        eventually(Duration::from_secs(10), || async {
            proxy_metric(&cluster, "redoubt_proxy_pubsub_disconnections_total").await == Some(1.0)
        })
        .await
    );
    let rest = tokio::time::timeout(Duration::from_secs(10), slow.read_until_closed())
        .await
        .expect("the slow subscriber's connection is closed");
    assert!(
        rest.len() < 2000 * 10_000,
        "{} bytes reached it",
        rest.len()
    );
    assert_eq!(
        reader.cmd(&["PING"]).await,
        Reply::Array(vec![Reply::bulk("pong"), Reply::bulk("")]),
        "the reading subscriber is still connected"
    );
}
