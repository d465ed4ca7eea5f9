//! Planned switchover: writes pause briefly, none is lost, none fails.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::cluster::Cluster;
use crate::writers::{assert_all_present, Writers};

#[tokio::test]
async fn a_planned_switchover_loses_and_fails_no_write() {
    let cluster = Cluster::start(&[1], "sync-replicas = 1", "");
    cluster.settled().await;
    let mut writers = Writers::start(cluster.proxy.client(), 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let url = format!("http://{}/failover/g0", cluster.admin);
    let report: serde_json::Value = reqwest::Client::new()
        .post(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        report["to"],
        cluster.groups[0].nodes[1].addr().to_string(),
        "{report}"
    );
    assert_eq!(report["epoch"], 1);
    let pause = report["pause_ms"].as_u64().unwrap();
    assert!(pause < 1000, "writes paused {pause} ms");
    tokio::time::sleep(Duration::from_millis(500)).await;
    writers.stop().await;
    assert_eq!(
        writers.errors.load(Ordering::Relaxed),
        0,
        "no write may fail during a planned switchover"
    );
    assert_all_present(&mut cluster.conn().await, &writers.all_acks()).await;
    // The old primary is now a standby of the new one.
    cluster.settled().await;
    let topology = cluster.topology().await;
    assert_eq!(
        topology["groups"][0]["primary"],
        cluster.groups[0].nodes[1].addr().to_string()
    );
}
