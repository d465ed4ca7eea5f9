//! Databases through the proxy: `SELECT` with Redis's errors, and every routed request
//! (single-key, split, fanned out, scanned) running in the client's database on every group.

use crate::cluster::{keys_by_group, Cluster};
use crate::common::Reply;

#[tokio::test]
async fn select_accepts_zero_to_fifteen_and_gives_redis_errors_otherwise() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let mut raw = cluster.proxy.raw().await;
    for db in ["0", "7", "15"] {
        assert_eq!(raw.cmd(&["SELECT", db]).await, Reply::ok(), "{db}");
    }
    for (index, error) in [
        ("16", "ERR DB index is out of range"),
        ("99", "ERR DB index is out of range"),
        ("-1", "ERR DB index is out of range"),
        ("abc", "ERR value is not an integer or out of range"),
        ("1.5", "ERR value is not an integer or out of range"),
    ] {
        assert_eq!(
            raw.cmd(&["SELECT", index]).await,
            Reply::Error(error.to_string()),
            "{index}"
        );
    }
}

#[tokio::test]
async fn every_request_runs_in_the_clients_database_on_every_group() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "db", 3).await;
    let all: Vec<&String> = keys.iter().flatten().collect();
    let mut db3 = cluster.proxy.raw().await;
    let mut db0 = cluster.proxy.raw().await;
    assert_eq!(db3.cmd(&["SELECT", "3"]).await, Reply::ok());
    let mut mset = vec!["MSET".to_string()];
    for key in &all {
        mset.push(key.to_string());
        mset.push(format!("v-{key}"));
    }
    assert_eq!(db3.cmd(&mset).await, Reply::ok());
    assert_eq!(
        db0.cmd(&["SET", all[0].as_str(), "zero"]).await,
        Reply::ok()
    );

    // Single-key and split requests read the client's database.
    assert_eq!(
        db3.cmd(&["GET", all[0].as_str()]).await,
        Reply::bulk(format!("v-{}", all[0]))
    );
    assert_eq!(
        db0.cmd(&["GET", all[0].as_str()]).await,
        Reply::bulk("zero")
    );
    let mut mget = vec!["MGET".to_string()];
    mget.extend(all.iter().map(|k| k.to_string()));
    let Reply::Array(values) = db3.cmd(&mget).await else {
        panic!("MGET is not an array")
    };
    for (key, value) in all.iter().zip(values) {
        assert_eq!(value, Reply::bulk(format!("v-{key}")));
    }
    let Reply::Array(values) = db0.cmd(&mget).await else {
        panic!("MGET is not an array")
    };
    assert_eq!(values.iter().filter(|v| v.is_null()).count(), all.len() - 1);

    // Fanned out: DBSIZE, KEYS, RANDOMKEY per database.
    assert_eq!(db3.cmd(&["DBSIZE"]).await, Reply::Int(all.len() as i64));
    assert_eq!(db0.cmd(&["DBSIZE"]).await, Reply::Int(1));
    let Reply::Array(listed) = db3.cmd(&["KEYS", "db:*"]).await else {
        panic!("KEYS is not an array")
    };
    assert_eq!(listed.len(), all.len());
    assert_eq!(db0.cmd(&["RANDOMKEY"]).await, Reply::bulk(all[0].as_str()));

    // SCAN walks every group of the client's database.
    let mut cursor = "0".to_string();
    let mut scanned = Vec::new();
    loop {
        let reply = db3.cmd(&["SCAN", cursor.as_str(), "COUNT", "2"]).await;
        let items = reply.array();
        cursor = items[0].text();
        scanned.extend(items[1].array().iter().map(Reply::text));
        if cursor == "0" {
            break;
        }
    }
    scanned.sort();
    let mut expected: Vec<String> = all.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(scanned, expected);

    // Each group's primary holds its keys in database 3.
    for (group, group_keys) in cluster.groups.iter().zip(&keys) {
        let mut node = group.nodes[0].raw().await;
        assert_eq!(node.cmd(&["SELECT", "3"]).await, Reply::ok());
        assert_eq!(
            node.cmd(&["DBSIZE"]).await,
            Reply::Int(group_keys.len() as i64)
        );
    }

    // FLUSHDB empties the client's database on every group and leaves the others.
    assert_eq!(db3.cmd(&["FLUSHDB"]).await, Reply::ok());
    assert_eq!(db3.cmd(&["DBSIZE"]).await, Reply::Int(0));
    assert_eq!(db0.cmd(&["DBSIZE"]).await, Reply::Int(1));
}
