//! Expiry: lazily on access and actively in the background.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::common::{encode, info_field, kv_list, Raw, Reply, Server};

#[tokio::test]
async fn lazy_expiry_on_access() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SET k v PX 50", "+OK"),
        ("SET keep v", "+OK"),
        ("SET p v PX 300", "+OK"),
        ("PERSIST p", ":1"),
        ("SET g v PX 300", "+OK"),
        ("GETEX g PERSIST", "\"v\""),
    ])
    .await;
    let mut batch = Vec::new();
    for i in 0..20 {
        batch.extend(encode(&["SET", &format!("short:{i}"), "x", "PX", "50"]));
    }
    c.send(&batch).await;
    for _ in 0..20 {
        assert_eq!(c.read_reply().await, Reply::ok());
    }
    tokio::time::sleep(Duration::from_millis(350)).await;
    c.table(&[
        ("GET k", "nil"),
        ("EXISTS k", ":0"),
        ("TTL k", ":-2"),
        ("PTTL k", ":-2"),
        ("TYPE k", "+none"),
        ("GET p", "\"v\""),
        ("GET g", "\"v\""),
        ("GET keep", "\"v\""),
        ("SETNX k again", ":1"),
        ("GET k", "\"again\""),
        ("TTL k", ":-1"),
    ])
    .await;
    // Expired keys are invisible to every read path.
    let keys: BTreeSet<String> = c
        .q("KEYS *")
        .await
        .array()
        .iter()
        .map(|k| k.text())
        .collect();
    let want: BTreeSet<String> = ["k", "keep", "p", "g"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(keys, want, "KEYS * after expiry");
    let r = c.q("SCAN 0 COUNT 1000").await;
    let scanned: BTreeSet<String> = r.array()[1].array().iter().map(|k| k.text()).collect();
    assert_eq!(scanned, want, "SCAN after expiry");
    for _ in 0..50 {
        let k = c.q("RANDOMKEY").await.text();
        assert!(want.contains(&k), "RANDOMKEY returned expired key {k}");
    }
    assert_eq!(c.int("EXISTS short:0 short:1 short:19").await, 0);
    assert_eq!(c.q("MGET short:3 keep").await.to_string(), "[nil, \"v\"]");
    assert_eq!(
        c.int("INCR short:4").await,
        1,
        "INCR starts from 0 on an expired key"
    );
    assert_eq!(c.int("APPEND short:5 ab").await, 2);
    assert_eq!(c.int("RENAMENX keep short:6").await, 1);
    assert_eq!(c.err("RENAME short:7 x").await, "ERR no such key");
    let info = c.q("INFO stats").await.text();
    let expired: i64 = info_field(&info, "expired_keys").unwrap().parse().unwrap();
    assert!(expired >= 20, "expired_keys {expired}");
}

#[tokio::test]
async fn ttl_counts_down() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.q("SET k v PX 1000").await;
    let first = c.int("PTTL k").await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let second = c.int("PTTL k").await;
    assert!(first <= 1000 && first > 500, "PTTL {first}");
    assert!(
        second < first - 100 && second > 0,
        "PTTL {first} then {second}"
    );
    // Overwriting with SET drops the TTL, so the key survives its old deadline.
    c.q("SET j v PX 100").await;
    c.q("SET j v2").await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(c.q("GET j").await, Reply::bulk("v2"));
}

/// `(keys, expires)` of a database in INFO keyspace (0, 0 when the line is absent).
async fn keyspace(c: &mut Raw, db: usize) -> (i64, i64) {
    let info = c.q("INFO keyspace").await.text();
    match info_field(&info, &format!("db{db}")) {
        None => (0, 0),
        Some(line) => {
            let kv = kv_list(&line);
            let get = |name: &str| -> i64 {
                kv.iter()
                    .find(|(k, _)| k == name)
                    .unwrap_or_else(|| panic!("db{db} line {line:?} lacks {name}"))
                    .1
                    .parse()
                    .unwrap()
            };
            (get("keys"), get("expires"))
        }
    }
}

#[tokio::test]
async fn active_expiry_without_access() {
    let s = Server::start(&[]);
    let mut w = s.raw().await;
    let started = Instant::now();
    // 1000 keys with short TTLs in two databases, plus a few that stay.
    for (db, n) in [(0, 600), (9, 400)] {
        assert_eq!(w.cmd(&["SELECT", &db.to_string()]).await, Reply::ok());
        let mut batch = Vec::new();
        for i in 0..n {
            batch.extend(encode(&["SET", &format!("vol:{i}"), "x", "PX", "100"]));
        }
        for i in 0..5 {
            batch.extend(encode(&["SET", &format!("stay:{i}"), "y"]));
        }
        w.send(&batch).await;
        for _ in 0..n + 5 {
            assert_eq!(w.read_reply().await, Reply::ok());
        }
    }
    drop(w);
    // Observe only through DBSIZE and INFO, which do not touch the keys.
    let mut c = s.raw().await;
    let db0 = keyspace(&mut c, 0).await;
    // Unless this machine stalled past the TTL, nothing has expired yet.
    if started.elapsed() < Duration::from_millis(90) {
        assert_eq!(db0, (605, 600), "db0 right after writing");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let db0 = keyspace(&mut c, 0).await;
        let db9 = keyspace(&mut c, 9).await;
        if db0 == (5, 0) && db9 == (5, 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "expired keys were not reclaimed in the background: db0 {db0:?}, db9 {db9:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(c.int("DBSIZE").await, 5);
    c.q("SELECT 9").await;
    assert_eq!(c.int("DBSIZE").await, 5);
    let info = c.q("INFO stats").await.text();
    let expired: i64 = info_field(&info, "expired_keys").unwrap().parse().unwrap();
    assert_eq!(expired, 1000, "expired_keys");
}
