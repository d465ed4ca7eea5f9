//! Subscribers through the proxy keep hearing after a failover: the group's shared subscriber
//! connection subscribes again on the promoted primary.

use std::time::{Duration, Instant};

use crate::cluster::Cluster;
use crate::common::{encode, Reply};

#[tokio::test]
async fn subscribers_hear_the_promoted_primary_after_a_failover() {
    let mut cluster = Cluster::start(&[1], "sync-replicas = 1", "");
    cluster.settled().await;
    let mut sub = cluster.proxy.raw().await;
    let mut publisher = cluster.proxy.raw().await;
    sub.send(&encode(&["SUBSCRIBE", "events"])).await;
    sub.send(&encode(&["PSUBSCRIBE", "ev*"])).await;
    let _ = sub.read_reply().await;
    let _ = sub.read_reply().await;
    assert_eq!(
        publisher.cmd(&["PUBLISH", "events", "before"]).await,
        Reply::Int(2)
    );
    assert_eq!(sub.read_reply().await.array()[2], Reply::bulk("before"));
    assert_eq!(sub.read_reply().await.array()[3], Reply::bulk("before"));

    cluster.groups[0].nodes[0].kill();
    // Publish until the promoted primary has the proxy's subscriptions again (a publish
    // during the switch may fail or reach nobody: pub/sub delivers at most once).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut first_heard = None;
    for i in 0.. {
        assert!(
            Instant::now() < deadline,
            "nobody listens on the new primary"
        );
        if publisher
            .cmd(&["PUBLISH", "events", &format!("after-{i}")])
            .await
            == Reply::Int(2)
        {
            first_heard = Some(i);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = first_heard.unwrap();
    let topology = cluster.topology().await;
    assert_eq!(topology["groups"][0]["epoch"], 1, "{topology}");
    // Every message from the first one the new primary delivered arrives, once, in order.
    for i in first + 1..first + 21 {
        assert_eq!(
            publisher
                .cmd(&["PUBLISH", "events", &format!("after-{i}")])
                .await,
            Reply::Int(2)
        );
    }
    for i in first..first + 21 {
        let want = format!("after-{i}");
        let message = sub.read_reply().await;
        assert_eq!(message.array()[2], Reply::bulk(&want), "{message}");
        let pattern = sub.read_reply().await;
        assert_eq!(pattern.array()[3], Reply::bulk(&want), "{pattern}");
    }
    assert_eq!(
        sub.cmd(&["PING"]).await,
        Reply::Array(vec![Reply::bulk("pong"), Reply::bulk("")])
    );
}
