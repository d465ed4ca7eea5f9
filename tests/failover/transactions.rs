//! A transaction caught by a planned switchover fails cleanly: its `EXEC` answers
//! `-EXECABORT` and nothing of it runs on either node; the next one runs on the new primary.

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
    let url = format!("http://{}/failover/g0", cluster.admin);
    let report: serde_json::Value = reqwest::Client::new()
        .post(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["epoch"], 1, "{report}");
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
