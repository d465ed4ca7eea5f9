//! A transaction caught by a planned switchover fails cleanly: its `EXEC` answers
//! `-EXECABORT` and nothing of it runs on either node; the next one runs on the new primary,
//! never on an idle connection opened before the switchover.

use crate::cluster::Cluster;
use crate::common::Reply;

#[tokio::test]
async fn a_switchover_during_a_transaction_aborts_its_exec() {
    let cluster = Cluster::start(&[1], "sync-replicas = 1", "");
    cluster.settled().await;
    let mut client = cluster.proxy.raw().await;
    assert_eq!(client.cmd(&["MULTI"]).await, Reply::ok());
    assert_eq!(
        client.cmd(&["SET", "tx-key", "before"]).await,
        Reply::Simple("QUEUED".into())
    );
    // Retried while the standby has not caught up yet (`no standby is in sync`).
    switchover(&cluster, 1).await;
    match client.cmd(&["EXEC"]).await {
        Reply::Error(text) => assert!(text.starts_with("EXECABORT"), "{text}"),
        other => panic!("EXEC after a switchover answered {other}"),
    }
    for node in &cluster.groups[0].nodes {
        let mut raw = node.raw().await;
        assert_eq!(raw.cmd(&["EXISTS", "tx-key"]).await, Reply::Int(0));
    }
    cluster.settled().await;
    let replies = [
        client.cmd(&["MULTI"]).await,
        client.cmd(&["SET", "tx-key", "after"]).await,
        client.cmd(&["EXEC"]).await,
        client.cmd(&["GET", "tx-key"]).await,
    ];
    assert_eq!(replies[2], Reply::Array(vec![Reply::ok()]));
    assert_eq!(replies[3], Reply::bulk("after"));
}

/// A planned switchover of group 0 to `epoch`, retried while the standby catches up.
async fn switchover(cluster: &Cluster, epoch: u64) {
    let url = format!("http://{}/failover/g0", cluster.admin);
    let mut report = serde_json::Value::Null;
    for _ in 0..100 {
        report = reqwest::Client::new()
            .post(&url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if report["epoch"] == epoch {
            cluster.settled().await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no switchover to epoch {epoch}: {report}");
}

async fn transaction(client: &mut crate::common::Raw, value: &str) -> Reply {
    let replies = [
        client.cmd(&["MULTI"]).await,
        client.cmd(&["SET", "tx-key", value]).await,
        client.cmd(&["EXEC"]).await,
    ];
    replies[2].clone()
}

#[tokio::test]
async fn transactions_after_a_switchover_and_back_do_not_reuse_older_connections() {
    let cluster = Cluster::start(&[1], "sync-replicas = 1", "");
    cluster.settled().await;
    let mut client = cluster.proxy.raw().await;
    let ok = Reply::Array(vec![Reply::ok()]);
    // Idle connections to the first primary, greeted with epoch 0...
    for value in ["a", "b", "c"] {
        assert_eq!(transaction(&mut client, value).await, ok);
    }
    // ...are not taken once it is primary again at epoch 2 (it fences epoch 0 connections),
    // though no transaction came in between to see the switchover.
    switchover(&cluster, 1).await;
    switchover(&cluster, 2).await;
    for value in ["e", "f", "g"] {
        assert_eq!(transaction(&mut client, value).await, ok);
    }
    assert_eq!(client.cmd(&["GET", "tx-key"]).await, Reply::bulk("g"));
}
