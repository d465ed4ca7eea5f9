//! Transactions through the proxy over two groups: `MULTI`/`EXEC` on the group of the first
//! key, Redis's queue-time errors and `EXECABORT`, `-CROSSSLOT` for a command whose keys span
//! groups, transactions whose commands reach several groups (each group's part atomic, run only
//! if the first group's part ran),
//! keyless transactions, `WATCH` seeing writes made through other proxy connections,
//! `SELECT` inside a transaction, and the pinned connection released however the
//! transaction ends.

use std::time::Duration;

use crate::cluster::{keys_by_group, proxy_metric, Cluster};
use crate::common::{encode, eventually, Raw, Reply};

const PINNED: &str = "redoubt_proxy_pinned_connections{reason=\"transaction\"}";

async fn pinned(cluster: &Cluster) -> f64 {
    proxy_metric(cluster, PINNED).await.expect("pinned gauge")
}

async fn released(cluster: &Cluster) -> bool {
    eventually(Duration::from_secs(5), || async {
        pinned(cluster).await == 0.0
    })
    .await
}

/// Sends every request in one write, then reads one reply per request.
async fn pipeline(raw: &mut Raw, requests: &[&[&str]]) -> Vec<Reply> {
    let mut bytes = Vec::new();
    for request in requests {
        bytes.extend(encode(request));
    }
    raw.send(&bytes).await;
    let mut replies = Vec::new();
    for _ in requests {
        replies.push(raw.read_reply().await);
    }
    replies
}

fn queued() -> Reply {
    Reply::Simple("QUEUED".into())
}

#[tokio::test]
async fn a_transaction_runs_on_its_groups_primary_with_keyless_commands_queued_first() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "tx", 3).await;
    let (a, b, empty) = (
        keys[1][0].as_str(),
        keys[1][1].as_str(),
        keys[1][2].as_str(),
    );
    let mut client = cluster.proxy.raw().await;
    let replies = pipeline(
        &mut client,
        &[
            &["MULTI"],
            &["PING"],
            &["SET", a, "1"],
            &["INCR", a],
            &["RPUSH", b, "x", "y"],
            &["BLPOP", empty, "0"],
            &["PUBLISH", "channel", "message"],
            &["EXEC"],
        ],
    )
    .await;
    assert_eq!(
        replies,
        vec![
            Reply::ok(),
            queued(),
            queued(),
            queued(),
            queued(),
            queued(),
            queued(),
            Reply::Array(vec![
                Reply::Simple("PONG".into()),
                Reply::ok(),
                Reply::Int(2),
                Reply::Int(2),
                // Blocking commands do not block inside a transaction.
                Reply::Nil,
                Reply::Int(0),
            ]),
        ]
    );
    // It ran on group 1's primary, in one MULTI...EXEC there.
    let mut node = cluster.groups[1].nodes[0].raw().await;
    assert_eq!(node.cmd(&["GET", a]).await, Reply::bulk("2"));
    assert_eq!(
        crate::cluster::calls(&cluster.groups[1].nodes[0], "exec").await,
        1
    );
    assert_eq!(
        crate::cluster::calls(&cluster.groups[0].nodes[0], "exec").await,
        0
    );
    assert!(released(&cluster).await);

    // DISCARD drops what was queued.
    assert_eq!(
        pipeline(
            &mut client,
            &[
                &["MULTI"],
                &["SET", a, "discarded"],
                &["DISCARD"],
                &["GET", a]
            ]
        )
        .await,
        vec![Reply::ok(), queued(), Reply::ok(), Reply::bulk("2")]
    );
    assert!(released(&cluster).await);
}

#[tokio::test]
async fn queue_time_errors_abort_exec_as_redis_does() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "err", 1).await;
    let (here, there) = (keys[0][0].as_str(), keys[1][0].as_str());
    let mut client = cluster.proxy.raw().await;
    let abort = Reply::Error("EXECABORT Transaction discarded because of previous errors.".into());
    let crossslot = Reply::Error("CROSSSLOT Keys in request don't hash to the same slot".into());

    // One command whose keys span groups is refused at queue time; EXEC then fails and
    // nothing runs.
    client
        .table(&[
            ("EXEC", "-ERR EXEC without MULTI"),
            ("DISCARD", "-ERR DISCARD without MULTI"),
            ("MULTI", "+OK"),
            ("MULTI", "-ERR MULTI calls can not be nested"),
            ("WATCH x", "-ERR WATCH inside MULTI is not allowed"),
        ])
        .await;
    assert_eq!(client.cmd(&["SET", here, "1"]).await, queued());
    assert_eq!(client.cmd(&["SET", there, "1"]).await, queued());
    assert_eq!(
        client.cmd(&["MSET", here, "1", there, "1"]).await,
        crossslot
    );
    assert_eq!(client.cmd(&["EXEC"]).await, abort);
    assert_eq!(client.cmd(&["EXISTS", here]).await, Reply::Int(0));
    assert_eq!(client.cmd(&["EXISTS", there]).await, Reply::Int(0));
    assert_eq!(
        client.cmd(&["MSET", here, "1", there, "2"]).await,
        Reply::ok(),
        "outside a transaction keys of several groups still split"
    );

    // Unknown commands and wrong arity, before and after the group is known.
    for requests in [
        &[
            &["MULTI"][..],
            &["NOSUCHCOMMAND"],
            &["SET", here, "3"],
            &["EXEC"],
        ][..],
        &[&["MULTI"], &["SET", here, "3"], &["GET"], &["EXEC"]],
    ] {
        let replies = pipeline(&mut client, requests).await;
        assert_eq!(replies[0], Reply::ok());
        assert!(
            replies[1..3].iter().any(|r| matches!(r, Reply::Error(_))),
            "{replies:?}"
        );
        assert_eq!(replies[3], abort);
    }
    assert_eq!(client.cmd(&["GET", here]).await, Reply::bulk("1"));
    // A nested MULTI or a WATCH inside MULTI does not abort the transaction.
    assert_eq!(
        pipeline(
            &mut client,
            &[
                &["MULTI"],
                &["MULTI"],
                &["WATCH", "x"],
                &["INCR", here],
                &["EXEC"]
            ]
        )
        .await[4],
        Reply::Array(vec![Reply::Int(2)])
    );
    // WATCH over two groups is refused like any cross-group command.
    assert_eq!(client.cmd(&["WATCH", here, there]).await, crossslot);
    assert!(released(&cluster).await);
}

#[tokio::test]
async fn keyless_transactions_run_on_one_group() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let mut client = cluster.proxy.raw().await;
    client
        .table(&[
            ("MULTI", "+OK"),
            ("EXEC", "[]"),
            ("MULTI", "+OK"),
            ("PING", "+QUEUED"),
            ("ECHO hello", "+QUEUED"),
            ("EXEC", "[+PONG, \"hello\"]"),
            ("MULTI", "+OK"),
            ("PING", "+QUEUED"),
            ("DISCARD", "+OK"),
        ])
        .await;
    let execs = crate::cluster::calls(&cluster.groups[0].nodes[0], "exec").await
        + crate::cluster::calls(&cluster.groups[1].nodes[0], "exec").await;
    assert_eq!(
        execs, 1,
        "the empty and the discarded transactions need no node"
    );
    assert!(released(&cluster).await);
}

#[tokio::test]
async fn watch_sees_writes_through_other_proxy_connections() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "watch", 1).await;
    let key = keys[0][0].as_str();
    let mut client = cluster.proxy.raw().await;
    let mut other = cluster.proxy.raw().await;

    assert_eq!(client.cmd(&["SET", key, "0"]).await, Reply::ok());
    assert_eq!(client.cmd(&["WATCH", key]).await, Reply::ok());
    assert_eq!(pinned(&cluster).await, 1.0);
    assert_eq!(client.cmd(&["GET", key]).await, Reply::bulk("0"));
    assert_eq!(other.cmd(&["SET", key, "theirs"]).await, Reply::ok());
    let replies = pipeline(&mut client, &[&["MULTI"], &["SET", key, "mine"], &["EXEC"]]).await;
    assert_eq!(
        replies[2],
        Reply::Nil,
        "EXEC fails after the watched key changed"
    );
    assert_eq!(client.cmd(&["GET", key]).await, Reply::bulk("theirs"));
    assert!(released(&cluster).await);

    // Unchanged, the whole check-and-set runs, pipelined in one write.
    let replies = pipeline(
        &mut client,
        &[
            &["WATCH", key],
            &["GET", key],
            &["MULTI"],
            &["SET", key, "mine"],
            &["EXEC"],
            &["GET", key],
        ],
    )
    .await;
    assert_eq!(replies[1], Reply::bulk("theirs"));
    assert_eq!(replies[4], Reply::Array(vec![Reply::ok()]));
    assert_eq!(replies[5], Reply::bulk("mine"));

    // UNWATCH forgets the keys and releases the connection.
    assert_eq!(client.cmd(&["WATCH", key]).await, Reply::ok());
    assert_eq!(client.cmd(&["UNWATCH"]).await, Reply::ok());
    assert!(released(&cluster).await);
    assert_eq!(other.cmd(&["SET", key, "again"]).await, Reply::ok());
    let replies = pipeline(&mut client, &[&["MULTI"], &["INCR", "counter"], &["EXEC"]]).await;
    assert_eq!(replies[2], Reply::Array(vec![Reply::Int(1)]));
}

#[tokio::test]
async fn a_client_gone_mid_transaction_releases_its_connection_and_runs_nothing() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "gone", 1).await;
    let key = keys[1][0].as_str();
    {
        let mut client = cluster.proxy.raw().await;
        assert_eq!(client.cmd(&["MULTI"]).await, Reply::ok());
        assert_eq!(client.cmd(&["SET", key, "never"]).await, queued());
        // The proxy answers QUEUED itself; the connection is held once it is open.
        assert!(
            eventually(Duration::from_secs(5), || async {
                pinned(&cluster).await == 1.0
            })
            .await
        );
    }
    assert!(released(&cluster).await, "the pinned gauge returns to zero");
    let mut client = cluster.proxy.raw().await;
    assert_eq!(client.cmd(&["EXISTS", key]).await, Reply::Int(0));

    // RESET ends a transaction and the watches too.
    assert_eq!(client.cmd(&["WATCH", key]).await, Reply::ok());
    assert_eq!(client.cmd(&["MULTI"]).await, Reply::ok());
    assert_eq!(client.cmd(&["SET", key, "never"]).await, queued());
    assert_eq!(client.cmd(&["RESET"]).await, Reply::Simple("RESET".into()));
    assert!(released(&cluster).await);
    assert_eq!(client.cmd(&["EXISTS", key]).await, Reply::Int(0));
}

#[tokio::test]
async fn select_inside_a_transaction_moves_the_client_when_exec_runs() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "db", 1).await;
    let key = keys[0][0].as_str();
    let mut client = cluster.proxy.raw().await;
    // The GET after EXEC is pipelined: it must wait for EXEC to know its database.
    let replies = pipeline(
        &mut client,
        &[
            &["MULTI"],
            &["SELECT", "3"],
            &["SET", key, "in-three"],
            &["EXEC"],
            &["GET", key],
        ],
    )
    .await;
    assert_eq!(replies[3], Reply::Array(vec![Reply::ok(), Reply::ok()]));
    assert_eq!(replies[4], Reply::bulk("in-three"));
    assert_eq!(client.cmd(&["SELECT", "0"]).await, Reply::ok());
    assert_eq!(client.cmd(&["EXISTS", key]).await, Reply::Int(0));

    // An EXEC that does not run (a watched key changed) leaves the database as it was.
    let mut other = cluster.proxy.raw().await;
    assert_eq!(client.cmd(&["WATCH", key]).await, Reply::ok());
    assert_eq!(other.cmd(&["SET", key, "in-zero"]).await, Reply::ok());
    let replies = pipeline(
        &mut client,
        &[&["MULTI"], &["SELECT", "5"], &["EXEC"], &["GET", key]],
    )
    .await;
    assert_eq!(replies[2], Reply::Nil);
    assert_eq!(replies[3], Reply::bulk("in-zero"));
}

#[tokio::test]
async fn a_message_published_inside_a_transaction_reaches_a_proxy_subscriber_once() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "pub", 1).await;
    let mut subscriber = cluster.proxy.raw().await;
    assert_eq!(
        subscriber.cmd(&["SUBSCRIBE", "news"]).await,
        Reply::Array(vec![
            Reply::bulk("subscribe"),
            Reply::bulk("news"),
            Reply::Int(1)
        ])
    );
    let mut client = cluster.proxy.raw().await;
    for key in [&keys[0][0], &keys[1][0]] {
        let replies = pipeline(
            &mut client,
            &[
                &["MULTI"],
                &["SET", key, "1"],
                &["PUBLISH", "news", key],
                &["SUBSCRIBE", "other"],
                &["EXEC"],
            ],
        )
        .await;
        assert!(matches!(&replies[3], Reply::Error(_)), "{replies:?}");
        assert!(matches!(&replies[4], Reply::Error(e) if e.starts_with("EXECABORT")));
        let replies = pipeline(
            &mut client,
            &[
                &["MULTI"],
                &["SET", key, "1"],
                &["PUBLISH", "news", key],
                &["EXEC"],
            ],
        )
        .await;
        assert_eq!(replies[3], Reply::Array(vec![Reply::ok(), Reply::Int(1)]));
        assert_eq!(
            subscriber.read_reply().await,
            Reply::Array(vec![
                Reply::bulk("message"),
                Reply::bulk("news"),
                Reply::bulk(key)
            ])
        );
    }
}

/// The node's `total_connections_received`.
async fn connections_received(node: &crate::common::Server) -> u64 {
    let mut conn = node.conn().await;
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("total_connections_received:"))
        .map(|n| n.trim().parse().unwrap())
        .expect("total_connections_received")
}

#[tokio::test]
async fn clean_transaction_connections_are_reused_and_dirty_ones_are_not() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "reuse", 1).await;
    let key = keys[0][0].as_str();
    let node = &cluster.groups[0].nodes[0];
    let mut client = cluster.proxy.raw().await;
    let before = connections_received(node).await;
    for n in 1..=100 {
        let replies = pipeline(&mut client, &[&["MULTI"], &["INCR", key], &["EXEC"]]).await;
        assert_eq!(replies[2], Reply::Array(vec![Reply::Int(n)]));
    }
    let after = connections_received(node).await;
    // One for the second INFO, a few for the first transactions of other workers at most.
    assert!(
        after - before <= 5,
        "100 transactions opened {} node connections",
        after - before
    );
    assert!(released(&cluster).await, "idle connections are not counted");

    // A connection left watching is closed, not reused: the next transaction does not see
    // that watch fail it.
    {
        let mut watcher = cluster.proxy.raw().await;
        assert_eq!(watcher.cmd(&["WATCH", key]).await, Reply::ok());
    }
    assert!(released(&cluster).await);
    for value in ["a", "b", "c"] {
        assert_eq!(client.cmd(&["SET", key, "changed"]).await, Reply::ok());
        let replies = pipeline(&mut client, &[&["MULTI"], &["SET", key, value], &["EXEC"]]).await;
        assert_eq!(replies[2], Reply::Array(vec![Reply::ok()]));
    }

    // Nor one left inside MULTI: the next MULTI would be refused as nested.
    {
        let mut gone = cluster.proxy.raw().await;
        let replies = pipeline(&mut gone, &[&["MULTI"], &["SET", key, "never"]]).await;
        assert_eq!(replies[1], queued());
    }
    assert!(released(&cluster).await);
    for _ in 0..3 {
        let replies = pipeline(&mut client, &[&["MULTI"], &["GET", key], &["EXEC"]]).await;
        assert_eq!(replies[2], Reply::Array(vec![Reply::bulk("c")]));
    }

    // A transaction that failed its watch leaves the connection clean (EXEC unwatches).
    assert_eq!(client.cmd(&["WATCH", key]).await, Reply::ok());
    let mut other = cluster.proxy.raw().await;
    assert_eq!(other.cmd(&["SET", key, "theirs"]).await, Reply::ok());
    let replies = pipeline(&mut client, &[&["MULTI"], &["SET", key, "mine"], &["EXEC"]]).await;
    assert_eq!(replies[2], Reply::Nil);
    for _ in 0..3 {
        assert_eq!(other.cmd(&["SET", key, "again"]).await, Reply::ok());
        let replies = pipeline(&mut client, &[&["MULTI"], &["SET", key, "mine"], &["EXEC"]]).await;
        assert_eq!(replies[2], Reply::Array(vec![Reply::ok()]));
    }
    assert!(released(&cluster).await);
}

#[tokio::test]
async fn pipelined_transactions_keep_their_order_across_groups_and_plain_commands() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "piped", 1).await;
    let (a, b) = (keys[0][0].as_str(), keys[1][0].as_str());
    let mut client = cluster.proxy.raw().await;
    let mut requests: Vec<Vec<&str>> = Vec::new();
    for _ in 0..20 {
        requests.extend([vec!["MULTI"], vec!["INCR", a], vec!["EXEC"]]);
    }
    requests.extend([
        vec!["GET", a],
        vec!["MULTI"],
        vec!["PING"],
        vec!["INCR", b],
        vec!["EXEC"],
        vec!["MULTI"],
        vec!["INCR", a],
        vec!["EXEC"],
        vec!["INCR", b],
        vec!["MULTI"],
        vec!["INCR", b],
        vec!["DISCARD"],
        vec!["GET", b],
    ]);
    let requests: Vec<&[&str]> = requests.iter().map(Vec::as_slice).collect();
    let replies = pipeline(&mut client, &requests).await;
    for n in 0..20 {
        assert_eq!(
            replies[n * 3 + 2],
            Reply::Array(vec![Reply::Int(n as i64 + 1)])
        );
    }
    let rest = &replies[60..];
    assert_eq!(
        rest[0],
        Reply::bulk("20"),
        "GET after the EXECs sees them all"
    );
    assert_eq!(
        rest[4],
        Reply::Array(vec![Reply::Simple("PONG".into()), Reply::Int(1)])
    );
    assert_eq!(rest[7], Reply::Array(vec![Reply::Int(21)]));
    assert_eq!(rest[8], Reply::Int(2));
    assert_eq!(rest[11], Reply::ok());
    assert_eq!(rest[12], Reply::bulk("2"));
    assert!(released(&cluster).await);
}

/// Queue managers (RQ, kombu) pipeline `MULTI` ... `EXEC` over keys that hash anywhere: each
/// group's part runs atomically on its primary, the replies come back in queue order, a
/// changed watched key stops every part, and a `SELECT` cannot be queued once it spans.
#[tokio::test]
async fn a_transaction_over_several_groups_runs_each_part_and_merges_the_replies() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "span", 2).await;
    let (a, a2, b, b2) = (
        keys[0][0].as_str(),
        keys[0][1].as_str(),
        keys[1][0].as_str(),
        keys[1][1].as_str(),
    );
    let mut client = cluster.proxy.raw().await;
    let replies = pipeline(
        &mut client,
        &[
            &["MULTI"],
            &["SET", a, "1"],
            &["INCR", b],
            &["PING"],
            &["RPUSH", b2, "x", "y"],
            &["GET", a],
            &["HSET", a2, "f", "v"],
            &["EXEC"],
        ],
    )
    .await;
    assert_eq!(
        replies,
        vec![
            Reply::ok(),
            queued(),
            queued(),
            queued(),
            queued(),
            queued(),
            queued(),
            Reply::Array(vec![
                Reply::ok(),
                Reply::Int(1),
                Reply::Simple("PONG".into()),
                Reply::Int(2),
                Reply::bulk("1"),
                Reply::Int(1),
            ]),
        ]
    );
    // Each part ran in one MULTI...EXEC on its own group's primary.
    for group in 0..2 {
        assert_eq!(
            crate::cluster::calls(&cluster.groups[group].nodes[0], "exec").await,
            1,
            "group {group}"
        );
    }
    let mut node = cluster.groups[1].nodes[0].raw().await;
    assert_eq!(node.cmd(&["LLEN", b2]).await, Reply::Int(2));
    assert!(released(&cluster).await);

    // A watched key changed by another client: no part runs, EXEC answers null.
    let mut other = cluster.proxy.raw().await;
    assert_eq!(client.cmd(&["WATCH", a]).await, Reply::ok());
    assert_eq!(other.cmd(&["SET", a, "changed"]).await, Reply::ok());
    let replies = pipeline(
        &mut client,
        &[
            &["MULTI"],
            &["SET", b, "from-tx"],
            &["SET", a, "from-tx"],
            &["EXEC"],
        ],
    )
    .await;
    assert_eq!(replies[3], Reply::Nil, "{replies:?}");
    assert_eq!(client.cmd(&["GET", b]).await, Reply::bulk("1"));
    assert_eq!(client.cmd(&["GET", a]).await, Reply::bulk("changed"));

    // Watched and unchanged: both parts run, the replies in queue order.
    assert_eq!(client.cmd(&["WATCH", a]).await, Reply::ok());
    let replies = pipeline(
        &mut client,
        &[&["MULTI"], &["SET", b, "2"], &["GET", a], &["EXEC"]],
    )
    .await;
    assert_eq!(
        replies[3],
        Reply::Array(vec![Reply::ok(), Reply::bulk("changed")])
    );
    assert_eq!(client.cmd(&["GET", b]).await, Reply::bulk("2"));

    // SELECT cannot follow a transaction onto several groups; EXEC then aborts.
    let replies = pipeline(
        &mut client,
        &[
            &["MULTI"],
            &["SET", a, "3"],
            &["SET", b, "3"],
            &["SELECT", "1"],
            &["EXEC"],
        ],
    )
    .await;
    assert!(
        matches!(&replies[3], Reply::Error(e) if e.starts_with("ERR SELECT inside a transaction")),
        "{replies:?}"
    );
    assert_eq!(
        replies[4],
        Reply::Error("EXECABORT Transaction discarded because of previous errors.".into())
    );
    assert_eq!(client.cmd(&["GET", a]).await, Reply::bulk("changed"));
    assert_eq!(client.cmd(&["GET", b]).await, Reply::bulk("2"));

    // DISCARD drops every part.
    let replies = pipeline(
        &mut client,
        &[&["MULTI"], &["SET", a, "4"], &["SET", b, "4"], &["DISCARD"]],
    )
    .await;
    assert_eq!(replies[3], Reply::ok());
    assert_eq!(client.cmd(&["GET", b]).await, Reply::bulk("2"));
    assert!(released(&cluster).await);
}

/// A transaction a client sends whole in one write (`MULTI`, commands of one group, `EXEC`)
/// passes through as one request on the shared connections: Redis's replies (`+OK`, each
/// `+QUEUED`, `EXEC`'s array with a runtime error in its place), the same atomicity, no node
/// connection opened for it; and when its node cannot be reached, the client still gets one
/// reply per request, the error in `EXEC`'s place.
#[tokio::test]
async fn a_transaction_sent_whole_passes_through_as_one_request() {
    let mut cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "whole", 2).await;
    let (a, a2, b) = (
        keys[0][0].as_str(),
        keys[0][1].as_str(),
        keys[1][0].as_str(),
    );
    let node = &cluster.groups[0].nodes[0];
    let mut client = cluster.proxy.raw().await;
    assert_eq!(client.cmd(&["SET", a2, "text"]).await, Reply::ok());
    let before = connections_received(node).await;
    for n in 1..=50 {
        let replies = pipeline(
            &mut client,
            &[
                &["MULTI"],
                &["INCR", a],
                &["incr", a2],
                &["GET", a],
                &["EXEC"],
            ],
        )
        .await;
        assert_eq!(replies[0], Reply::ok());
        assert_eq!(&replies[1..4], &[queued(), queued(), queued()]);
        let Reply::Array(results) = &replies[4] else {
            panic!("EXEC: {:?}", replies[4]);
        };
        assert_eq!(results[0], Reply::Int(n));
        assert!(
            matches!(&results[1], Reply::Error(e) if e.starts_with("ERR value is not an integer")),
            "{results:?}"
        );
        assert_eq!(results[2], Reply::bulk(n.to_string()));
    }
    let after = connections_received(node).await;
    // One for the second INFO only: no connection was pinned.
    assert_eq!(
        after - before,
        1,
        "whole transactions opened node connections"
    );

    // Several groups, or a queue-time error, take the general path: same replies as Redis.
    let replies = pipeline(
        &mut client,
        &[&["MULTI"], &["INCR", b], &["INCR", a], &["EXEC"]],
    )
    .await;
    assert_eq!(
        replies[3],
        Reply::Array(vec![Reply::Int(1), Reply::Int(51)])
    );
    let replies = pipeline(
        &mut client,
        &[&["MULTI"], &["INCR", a, "x"], &["INCR", a], &["EXEC"]],
    )
    .await;
    assert!(matches!(&replies[1], Reply::Error(e) if e.contains("wrong number of arguments")));
    assert!(matches!(&replies[3], Reply::Error(e) if e.starts_with("EXECABORT")));

    // Atomic for other clients: a reader never sees one key incremented without the other.
    let reader = {
        let mut reader = cluster.proxy.raw().await;
        let (a, a2) = (a.to_string(), a2.to_string());
        assert_eq!(reader.cmd(&["SET", &a2, "51"]).await, Reply::ok());
        tokio::spawn(async move {
            for _ in 0..200 {
                let got = reader.cmd(&["MGET", &a, &a2]).await;
                let Reply::Array(values) = got else {
                    panic!("MGET: {got:?}")
                };
                assert_eq!(values[0], values[1], "a transaction seen half done");
            }
        })
    };
    for _ in 0..200 {
        let replies = pipeline(
            &mut client,
            &[&["MULTI"], &["INCR", a], &["INCR", a2], &["EXEC"]],
        )
        .await;
        assert!(matches!(replies[3], Reply::Array(_)), "{:?}", replies[3]);
    }
    reader.await.unwrap();

    // Its node gone: `+OK`, `+QUEUED`, then the error for `EXEC`, and the client goes on.
    cluster.groups[0].nodes[0].kill();
    let replies = pipeline(&mut client, &[&["MULTI"], &["INCR", a], &["EXEC"]]).await;
    assert_eq!(&replies[..2], &[Reply::ok(), queued()]);
    assert!(matches!(&replies[2], Reply::Error(_)), "{:?}", replies[2]);
    assert_eq!(client.cmd(&["INCR", b]).await, Reply::Int(2));
}
