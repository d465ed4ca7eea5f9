//! Automatic failover: a dead or hung primary is replaced, no acknowledged write is lost in
//! synchronous mode, the old primary is fenced and rejoins as a standby.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::cluster::{calls, Cluster};
use crate::common::Server;
use crate::writers::{assert_all_present, Writers};

const SYNC: &str = "sync-replicas = 1";

async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn epoch_and_primary(cluster: &Cluster) -> (u64, String) {
    let topology = cluster.topology().await;
    let group = &topology["groups"][0];
    (
        group["epoch"].as_u64().unwrap_or(0),
        group["primary"].as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test]
async fn a_killed_primary_is_replaced_and_no_acknowledged_write_is_lost() {
    let mut cluster = Cluster::start(&[1], SYNC, "");
    cluster.settled().await;
    let old_primary = cluster.groups[0].nodes[0].addr().to_string();
    let mut writers = Writers::start(cluster.proxy.client(), 3).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    cluster.groups[0].nodes[0].kill();
    wait_for(
        "a standby to be promoted",
        Duration::from_secs(10),
        || async { epoch_and_primary(&cluster).await.0 == 1 },
    )
    .await;
    let promoted_at = Instant::now();
    wait_for("writes to resume", Duration::from_secs(10), || async {
        writers.acks.iter().all(|log| {
            log.lock()
                .last()
                .is_some_and(|(_, _, at)| *at > promoted_at)
        })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    writers.stop().await;
    let (epoch, primary) = epoch_and_primary(&cluster).await;
    assert_eq!(epoch, 1, "{}", cluster.topology().await);
    assert_ne!(primary, old_primary);
    let outage = writers.longest_gap();
    assert!(
        outage < Duration::from_secs(3),
        "writes stopped for {outage:?}"
    );
    let acks = writers.all_acks();
    assert!(acks.len() > 100, "{}", acks.len());
    assert_all_present(&mut cluster.conn().await, &acks).await;

    // The old primary comes back: it is made a standby of the new one and converges.
    let port = cluster.groups[0].nodes[0].addr().port().to_string();
    cluster.groups[0].nodes[0] = Server::spawn_redoubt(&["node", "--port", &port], None);
    cluster.settled().await;
    let mut old = cluster.groups[0].nodes[0].conn().await;
    let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut old).await.unwrap();
    assert_eq!(role[0], redis::Value::BulkString(b"slave".to_vec()));
    let epoch: i64 = redis::cmd("EPOCH").query_async(&mut old).await.unwrap();
    assert_eq!(epoch, 1, "the returning node learns the new epoch");
    let last = acks.last().unwrap();
    wait_for(
        "the old primary to converge",
        Duration::from_secs(10),
        || {
            let mut old = old.clone();
            let key = last.0.clone();
            async move {
                redis::cmd("EXISTS")
                    .arg(key)
                    .query_async::<i64>(&mut old)
                    .await
                    .unwrap_or(0)
                    == 1
            }
        },
    )
    .await;
}

#[tokio::test]
async fn a_primary_paused_for_three_seconds_is_replaced_and_never_writes_again() {
    let cluster = Cluster::start(&[1], SYNC, "");
    cluster.settled().await;
    let mut writers = Writers::start(cluster.proxy.client(), 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.groups[0].nodes[0].signal(Signal::SIGSTOP);
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.groups[0].nodes[0].signal(Signal::SIGCONT);
    let (epoch, primary) = epoch_and_primary(&cluster).await;
    assert_eq!(epoch, 1, "a standby was promoted during the pause");
    assert_eq!(primary, cluster.groups[0].nodes[1].addr().to_string());
    tokio::time::sleep(Duration::from_millis(500)).await;
    writers.stop().await;
    // Requests in flight to the frozen primary fail once its replacement is committed
    // instead of waiting for the 2 s request timeout: the outage is the failover's.
    let outage = writers.longest_gap();
    eprintln!("write outage under a 3 s pause: {outage:?}");
    assert!(
        outage < Duration::from_millis(1500),
        "writes stopped for {outage:?}"
    );
    assert_all_present(&mut cluster.conn().await, &writers.all_acks()).await;
    // The old primary, back, is a standby fenced by the new epoch: no write gets through.
    cluster.settled().await;
    let mut old = cluster.groups[0].nodes[0].raw().await;
    let reply = old.cmd(&["SET", "late", "write"]).await;
    assert!(
        matches!(&reply, crate::common::Reply::Error(e) if e.starts_with("READONLY")),
        "{reply:?}"
    );
    let reply = old.cmd(&["EPOCH", "0"]).await;
    assert_eq!(reply, crate::common::Reply::Int(1));
    let reply = old.cmd(&["REPLICAOF", "NO", "ONE"]).await;
    assert!(
        matches!(&reply, crate::common::Reply::Error(e) if e.starts_with("FENCED")),
        "{reply:?}"
    );
}

#[tokio::test]
async fn a_short_stall_causes_no_failover() {
    let cluster = Cluster::start(&[1], SYNC, "");
    cluster.settled().await;
    cluster.groups[0].nodes[0].signal(Signal::SIGSTOP);
    tokio::time::sleep(Duration::from_millis(200)).await;
    cluster.groups[0].nodes[0].signal(Signal::SIGCONT);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (epoch, primary) = epoch_and_primary(&cluster).await;
    assert_eq!(epoch, 0);
    assert_eq!(primary, cluster.groups[0].nodes[0].addr().to_string());
}

#[tokio::test]
async fn reads_move_off_a_killed_standby() {
    let mut cluster = Cluster::start(&[2], "read-policy = \"prefer-standby\"", "");
    cluster.settled().await;
    cluster.groups[0].nodes[1].kill();
    // Until the probes notice, reads sent to the dead standby fail; afterwards none do.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut conn = cluster.conn().await;
    for _ in 0..40 {
        let _: Option<String> = redis::cmd("GET")
            .arg("k")
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(calls(&cluster.groups[0].nodes[2], "get").await, 40);
    assert_eq!(calls(&cluster.groups[0].nodes[0], "get").await, 0);
}
