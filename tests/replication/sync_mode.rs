//! Synchronous mode (`min-replicas-to-ack`): no write is acknowledged before a standby has it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use parking_lot::Mutex;

use crate::common::Reply;
use crate::support::{caught_up, primary, standby_of};

#[tokio::test]
async fn writes_wait_then_fail_without_a_standby_and_succeed_with_one() {
    let primary = primary(&["--min-replicas-to-ack", "1", "--replica-ack-timeout", "300"]);
    let mut raw = primary.raw().await;
    let started = Instant::now();
    let reply = raw.cmd(&["SET", "k", "v"]).await;
    assert_eq!(
        reply,
        Reply::Error("NOREPLICAS Not enough good replicas to write.".into())
    );
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "the write should wait for acks first"
    );
    // Reads are not held.
    assert_eq!(raw.cmd(&["PING"]).await, Reply::Simple("PONG".into()));
    let standby = standby_of(&primary, &[]);
    caught_up(&primary, &[&standby]).await;
    assert_eq!(raw.cmd(&["SET", "k", "v2"]).await, Reply::ok());
    // Pipelined writes are each acknowledged only once the standby has them.
    let mut wire = Vec::new();
    for i in 0..500 {
        wire.extend_from_slice(&crate::common::encode(&["SET", &format!("p{i}"), "x"]));
    }
    raw.send(&wire).await;
    for i in 0..500 {
        assert_eq!(raw.read_reply().await, Reply::ok(), "pipelined write {i}");
    }
    let mut s = standby.conn().await;
    let present: i64 = redis::cmd("EXISTS")
        .arg("p499")
        .query_async(&mut s)
        .await
        .unwrap();
    assert_eq!(present, 1);
    let _ = redis::cmd("CONFIG")
        .arg("SET")
        .arg("min-replicas-to-ack")
        .arg(0)
        .query_async::<()>(&mut primary.conn().await)
        .await;
}

#[tokio::test]
async fn every_acknowledged_write_survives_the_primary_being_killed() {
    let primary = primary(&["--min-replicas-to-ack", "1"]);
    let standby = standby_of(&primary, &[]);
    caught_up(&primary, &[&standby]).await;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for w in 0..4 {
        let client = primary.client();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
                return;
            };
            for i in 0..100_000 {
                let key = format!("w{w}:{i}");
                match redis::cmd("SET")
                    .arg(&key)
                    .arg(i)
                    .query_async::<()>(&mut conn)
                    .await
                {
                    Ok(()) => acknowledged.lock().push((key, i)),
                    Err(_) => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    primary.signal(Signal::SIGKILL);
    for writer in writers {
        let _ = tokio::time::timeout(Duration::from_secs(10), writer).await;
    }
    let acknowledged = acknowledged.lock().clone();
    assert!(
        acknowledged.len() > 100,
        "the writers should have made progress: {}",
        acknowledged.len()
    );
    let mut s = standby.conn().await;
    for chunk in acknowledged.chunks(500) {
        let keys: Vec<&String> = chunk.iter().map(|(k, _)| k).collect();
        let values: Vec<Option<i64>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut s)
            .await
            .unwrap();
        for ((key, want), got) in chunk.iter().zip(values) {
            assert_eq!(
                got,
                Some(*want),
                "acknowledged write {key} missing on the standby"
            );
        }
    }
    drop(primary);
}

#[tokio::test]
async fn synchronous_mode_from_a_config_file_and_config_set() {
    let dir = crate::common::test_dir();
    let path = dir.join("sync-node.toml");
    std::fs::write(
        &path,
        "min-replicas-to-ack = 1\nreplica-ack-timeout = 200\nrepl-backlog-size = \"1mb\"\n",
    )
    .unwrap();
    let node = crate::common::Server::spawn_redoubt(
        &["node", "--port", "0", "--config", path.to_str().unwrap()],
        None,
    );
    let mut raw = node.raw().await;
    assert_eq!(
        raw.cmd(&["CONFIG", "GET", "min-replicas-to-ack"]).await,
        Reply::Array(vec![Reply::bulk("min-replicas-to-ack"), Reply::bulk("1")])
    );
    assert_eq!(
        raw.cmd(&["SET", "k", "v"]).await,
        Reply::Error("NOREPLICAS Not enough good replicas to write.".into())
    );
    assert_eq!(
        raw.cmd(&["CONFIG", "SET", "min-replicas-to-ack", "0"])
            .await,
        Reply::ok()
    );
    assert_eq!(raw.cmd(&["SET", "k", "v"]).await, Reply::ok());

    let bad = dir.join("bad-node.toml");
    std::fs::write(&bad, "min-replicas-to-ak = 1\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_redoubt"))
        .args(["node", "--port", "0", "--config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("min-replicas-to-ak"), "{stderr}");
}
