//! Proxies added and removed online with `redoubt ctl add-proxy` / `remove-proxy`: a new
//! proxy catches up from a snapshot and serves the committed topology; after one is removed
//! the rest keep a quorum and still fail over, and the removed one gives up writes.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::proxies::Proxies;

/// Runs `redoubt ctl --admin ADMIN args...`; its standard output, or a panic with its error.
fn ctl(admin: std::net::SocketAddr, args: &[&str]) -> String {
    let admin = admin.to_string();
    let mut all = vec!["ctl", "--admin", &admin];
    all.extend_from_slice(args);
    let output = Command::new(env!("CARGO_BIN_EXE_redoubt"))
        .args(&all)
        .output()
        .expect("run redoubt ctl");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "redoubt ctl {args:?}: {}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn a_proxy_added_online_serves_the_committed_topology_and_one_removed_leaves_a_quorum() {
    let mut cluster = Proxies::start();
    let leader = cluster.agreed_leader(Duration::from_secs(10)).await;
    for i in 0..3 {
        cluster.settled(i).await;
    }
    // A switchover commits epoch 1 with the standby as primary: the joining proxy's file
    // still names the old primary, so routing right shows it has the committed topology.
    let follower = (0..3).find(|i| *i != leader).unwrap();
    let out = ctl(cluster.admins[follower], &["failover", "g0"]);
    assert!(out.contains("epoch 1"), "{out}");
    let (old_primary, new_primary) = (
        cluster.nodes[0].addr().to_string(),
        cluster.nodes[1].addr().to_string(),
    );
    cluster
        .all_route(1, &new_primary, Duration::from_secs(5))
        .await;

    let joiner = cluster.start_joiner();
    // Not a member yet: it answers no client.
    let mut raw =
        crate::common::Raw::connect(cluster.proxies[joiner].as_ref().unwrap().addr()).await;
    raw.send(b"*1\r\n$4\r\nPING\r\n").await;
    let early = tokio::time::timeout(Duration::from_millis(300), raw.try_read_reply()).await;
    assert!(
        !matches!(early, Ok(Some(_))),
        "the joining proxy answered before it was added: {early:?}"
    );
    let added_at = Instant::now();
    let out = ctl(
        cluster.admins[follower],
        &["add-proxy", "4", &cluster.admins[joiner].to_string()],
    );
    eprintln!("added in {:?}:\n{out}", added_at.elapsed());
    assert_eq!(
        out.lines().filter(|l| l.contains(" voter ")).count(),
        4,
        "{out}"
    );
    // The client that connected while it waited is served now, by the committed topology.
    assert_eq!(
        raw.read_reply().await,
        crate::common::Reply::Simple("PONG".into())
    );
    let raft = cluster.raft(joiner).await.expect("the new proxy answers");
    assert!(
        raft["snapshot_index"].as_u64() >= Some(1),
        "the new proxy started from a snapshot: {raft}"
    );
    assert_eq!(cluster.group(joiner).await, Some((1, new_primary.clone())));
    let mut conn = cluster
        .client(joiner)
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("via-new-proxy")
        .arg("1")
        .query_async(&mut conn)
        .await
        .unwrap();

    // Remove a follower (asked of the new proxy, forwarded to the leader). The removed proxy
    // still runs but is no member: it loses its write lease.
    let leader = cluster.agreed_leader(Duration::from_secs(5)).await;
    let removed = (0..3).find(|i| *i != leader).unwrap();
    let out = ctl(
        cluster.admins[joiner],
        &["remove-proxy", &(removed + 1).to_string()],
    );
    eprintln!("{out}");
    assert_eq!(
        out.lines().filter(|l| l.contains(" voter ")).count(),
        3,
        "{out}"
    );
    let mut orphan = cluster
        .client(removed)
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let refused = loop {
        let reply: redis::RedisResult<()> = redis::cmd("SET")
            .arg("via-removed")
            .arg("1")
            .query_async(&mut orphan)
            .await;
        if let Err(err) = reply {
            break err;
        }
        assert!(
            Instant::now() < deadline,
            "a removed proxy kept taking writes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(refused.code(), Some("TRYAGAIN"), "{refused}");
    cluster.kill(removed);

    // The three voters left (one of them the new proxy) fail over a dead primary.
    for i in (0..4).filter(|i| *i != removed) {
        cluster.settled(i).await;
    }
    cluster.nodes[1].kill();
    let killed_at = Instant::now();
    cluster
        .all_route(2, &old_primary, Duration::from_secs(10))
        .await;
    eprintln!(
        "failed over with the new membership after {:?}",
        killed_at.elapsed()
    );
    let _: () = redis::cmd("SET")
        .arg("after-failover")
        .arg("1")
        .query_async(&mut conn)
        .await
        .unwrap();
    let kept: Option<String> = redis::cmd("GET")
        .arg("via-new-proxy")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("1"));
}
