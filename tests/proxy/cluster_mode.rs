//! Cluster-mode clients: the proxy answers `CLUSTER` as a Redis Cluster whose one master is
//! the proxy itself, owning every slot, in Redis 7.2's reply shapes.

use crate::cluster::{keys_by_group, Cluster};
use crate::common::Reply;

#[tokio::test]
async fn cluster_commands_describe_the_proxy_as_the_master_of_every_slot() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let addr = cluster.proxy.addr();
    let mut raw = cluster.proxy.raw().await;
    let id = raw.cmd(&["CLUSTER", "MYID"]).await.text();
    assert_eq!(id.len(), 40);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");

    // SLOTS: [[0, 16383, [ip, port, id, metadata]]].
    assert_eq!(
        raw.cmd(&["CLUSTER", "SLOTS"]).await,
        Reply::Array(vec![Reply::Array(vec![
            Reply::Int(0),
            Reply::Int(16383),
            Reply::Array(vec![
                Reply::bulk(addr.ip().to_string()),
                Reply::Int(i64::from(addr.port())),
                Reply::bulk(&id),
                Reply::Array(vec![]),
            ]),
        ])])
    );

    // SHARDS: [{slots: [0, 16383], nodes: [{id, port, ip, endpoint, role, ...}]}] (flat in RESP2).
    let shards = raw.cmd(&["CLUSTER", "SHARDS"]).await;
    let shard = shards.array()[0].array();
    assert_eq!(shard[0], Reply::bulk("slots"));
    assert_eq!(
        shard[1],
        Reply::Array(vec![Reply::Int(0), Reply::Int(16383)])
    );
    assert_eq!(shard[2], Reply::bulk("nodes"));
    let node = shard[3].array()[0].array();
    let field = |name: &str| {
        node.chunks(2)
            .find(|pair| pair[0] == Reply::bulk(name))
            .map(|pair| pair[1].clone())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(field("id"), Reply::bulk(&id));
    assert_eq!(field("port"), Reply::Int(i64::from(addr.port())));
    assert_eq!(field("ip"), Reply::bulk(addr.ip().to_string()));
    assert_eq!(field("role"), Reply::bulk("master"));
    assert_eq!(field("health"), Reply::bulk("online"));

    let nodes = raw.cmd(&["CLUSTER", "NODES"]).await.text();
    assert_eq!(
        nodes,
        format!(
            "{id} {addr}@{} myself,master - 0 0 1 connected 0-16383\n",
            u32::from(addr.port()) + 10000
        )
    );
    let info = raw.cmd(&["CLUSTER", "INFO"]).await.text();
    for line in [
        "cluster_state:ok",
        "cluster_slots_assigned:16384",
        "cluster_known_nodes:1",
        "cluster_size:1",
    ] {
        assert!(info.contains(line), "{line} in {info}");
    }
    // Redis Cluster's documented examples.
    assert_eq!(
        raw.cmd(&["CLUSTER", "KEYSLOT", "somekey"]).await,
        Reply::Int(11058)
    );
    assert_eq!(
        raw.cmd(&["CLUSTER", "KEYSLOT", "foo{hash_tag}"]).await,
        Reply::Int(2515)
    );
    for command in ["READONLY", "READWRITE", "ASKING"] {
        assert_eq!(raw.cmd(&[command]).await, Reply::ok(), "{command}");
    }

    // Keys in a slot, whichever group holds them, in the client's database.
    let keys = keys_by_group(&cluster, "slot", 1).await;
    for key in keys.iter().flatten() {
        let tagged = format!("{{{key}}}:a");
        let slot = raw
            .cmd(&["CLUSTER", "KEYSLOT", key.as_str()])
            .await
            .int()
            .to_string();
        assert_eq!(
            raw.cmd(&["CLUSTER", "COUNTKEYSINSLOT", &slot]).await,
            Reply::Int(0)
        );
        assert_eq!(
            raw.cmd(&["MSET", key.as_str(), "1", tagged.as_str(), "2"])
                .await,
            Reply::ok()
        );
        assert_eq!(
            raw.cmd(&["CLUSTER", "COUNTKEYSINSLOT", &slot]).await,
            Reply::Int(2)
        );
        let mut got: Vec<String> = raw
            .cmd(&["CLUSTER", "GETKEYSINSLOT", &slot, "10"])
            .await
            .array()
            .iter()
            .map(Reply::text)
            .collect();
        got.sort();
        assert_eq!(got, vec![key.clone(), tagged]);
        assert_eq!(
            raw.cmd(&["CLUSTER", "GETKEYSINSLOT", &slot, "1"])
                .await
                .array()
                .len(),
            1
        );
    }
    assert_eq!(
        raw.cmd(&["CLUSTER", "COUNTKEYSINSLOT", "16384"]).await,
        Reply::Error("ERR Invalid or out of range slot".into())
    );
    assert_eq!(
        raw.cmd(&["CLUSTER", "GETKEYSINSLOT", "1", "-1"]).await,
        Reply::Error("ERR Invalid number of keys".into())
    );
    let Reply::Error(refused) = raw.cmd(&["CLUSTER", "ADDSLOTS", "1"]).await else {
        panic!("CLUSTER ADDSLOTS is not refused")
    };
    assert!(
        refused.contains("not supported through the proxy"),
        "{refused}"
    );
}
