//! Key routing, multi-key split, fan-out, pipelining and the proxy's own commands.

use redis::AsyncCommands;

use crate::cluster::{dbsize, Cluster};
use crate::common::Reply;

#[tokio::test]
async fn mset_mget_del_across_groups() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let mut conn = cluster.conn().await;
    let pairs: Vec<(String, String)> = (0..200)
        .map(|i| (format!("key:{i}"), format!("value:{i}")))
        .collect();
    let _: () = conn.mset(&pairs).await.unwrap();
    let keys: Vec<&String> = pairs.iter().map(|(k, _)| k).collect();
    let mut with_missing: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    with_missing.insert(50, "missing".into());
    let values: Vec<Option<String>> = conn.mget(&with_missing).await.unwrap();
    assert_eq!(values.len(), 201);
    assert_eq!(values[50], None);
    for (i, (_, v)) in pairs.iter().enumerate() {
        let got = if i < 50 { &values[i] } else { &values[i + 1] };
        assert_eq!(got.as_deref(), Some(v.as_str()), "position {i}");
    }
    // Both groups hold a share, and nothing is lost or doubled.
    let sizes = [
        dbsize(&cluster.groups[0].nodes[0]).await,
        dbsize(&cluster.groups[1].nodes[0]).await,
    ];
    assert!(sizes[0] > 0 && sizes[1] > 0, "{sizes:?}");
    assert_eq!(sizes[0] + sizes[1], 200);
    let total: i64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    assert_eq!(total, 200);
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&keys[..10])
        .arg("missing")
        .arg(keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 11);
    let deleted: i64 = conn.del(&keys[..100]).await.unwrap();
    assert_eq!(deleted, 100);
    let deleted: i64 = conn.del(&keys[..100]).await.unwrap();
    assert_eq!(deleted, 0);
    let total: i64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    assert_eq!(total, 100);
}

#[tokio::test]
async fn hash_tags_keep_keys_together() {
    let cluster = Cluster::start(&[0, 0, 0], "", "");
    let mut conn = cluster.conn().await;
    let keys: Vec<String> = (0..30).map(|i| format!("{{user:1000}}:field{i}")).collect();
    for key in &keys {
        let _: () = conn.set(key, 1).await.unwrap();
    }
    let mut holders = 0;
    for group in &cluster.groups {
        let n = dbsize(&group.nodes[0]).await;
        assert!(n == 0 || n == 30, "keys of one hash tag were split: {n}");
        holders += usize::from(n == 30);
    }
    assert_eq!(holders, 1);
    // Multi-key commands within one group pass through whole.
    let set: bool = redis::cmd("MSETNX")
        .arg("{t}a")
        .arg(1)
        .arg("{t}b")
        .arg(2)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(set);
    let _: () = redis::cmd("RENAME")
        .arg("{t}a")
        .arg("{t}c")
        .query_async(&mut conn)
        .await
        .unwrap();
    let value: i64 = conn.get("{t}c").await.unwrap();
    assert_eq!(value, 1);
}

#[tokio::test]
async fn cross_group_multi_key_commands_get_crossslot() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let mut raw = cluster.proxy.raw().await;
    // Find two keys owned by different groups by writing and checking where they landed.
    let mut conn = cluster.conn().await;
    let mut by_group: [Option<String>; 2] = [None, None];
    for i in 0..100 {
        let key = format!("probe{i}");
        let _: () = conn.set(&key, 1).await.unwrap();
        for (g, group) in cluster.groups.iter().enumerate() {
            let mut node = group.nodes[0].conn().await;
            let exists: bool = node.exists(&key).await.unwrap();
            if exists && by_group[g].is_none() {
                by_group[g] = Some(key.clone());
            }
        }
        if by_group.iter().all(Option::is_some) {
            break;
        }
    }
    let (a, b) = (by_group[0].clone().unwrap(), by_group[1].clone().unwrap());
    let reply = raw.cmd(&["EVAL", "return 1", "2", &a, &b]).await;
    assert_eq!(
        reply,
        Reply::Error("CROSSSLOT Keys in request don't hash to the same slot".into())
    );
    // The connection keeps serving.
    assert_eq!(raw.cmd(&["PING"]).await, Reply::Simple("PONG".into()));
}

#[tokio::test]
async fn pipeline_of_ten_thousand_mixed_commands_answers_in_order() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let mut raw = cluster.proxy.raw().await;
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for i in 0..2500 {
        let key = format!("k{i}");
        let counter = format!("c{}", i % 37);
        for args in [
            vec!["SET".to_string(), key.clone(), i.to_string()],
            vec!["GET".to_string(), key.clone()],
            vec!["INCR".to_string(), counter.clone()],
            vec!["ECHO".to_string(), format!("e{i}")],
        ] {
            wire.extend_from_slice(&crate::common::encode(
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
            ));
        }
        expected.push(Reply::ok());
        expected.push(Reply::bulk(i.to_string()));
        expected.push(Reply::Int(i64::from(i / 37 + 1)));
        expected.push(Reply::bulk(format!("e{i}")));
    }
    raw.send(&wire).await;
    for (n, want) in expected.iter().enumerate() {
        let got = raw.read_reply().await;
        assert_eq!(&got, want, "reply {n}");
    }
}

#[tokio::test]
async fn keyless_and_cluster_wide_commands() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let mut conn = cluster.conn().await;
    for i in 0..100 {
        let _: () = conn.set(format!("scan:{i}"), i).await.unwrap();
    }
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("scan:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    keys.sort();
    assert_eq!(keys.len(), 100);
    // SCAN walks every group; every key appears.
    let mut seen = std::collections::HashSet::new();
    let mut cursor: u64 = 0;
    let mut rounds = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("scan:*")
            .arg("COUNT")
            .arg(7)
            .query_async(&mut conn)
            .await
            .unwrap();
        seen.extend(batch);
        cursor = next;
        rounds += 1;
        assert!(rounds < 1000, "scan did not finish");
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 100);
    let random: Option<String> = redis::cmd("RANDOMKEY")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(random.unwrap().starts_with("scan:"));
    let pong: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
    assert_eq!(pong, "PONG");
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("tester")
        .query_async(&mut conn)
        .await
        .unwrap();
    let got: String = redis::cmd("CLIENT")
        .arg("GETNAME")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(got, "tester");
    let count: i64 = redis::cmd("COMMAND")
        .arg("COUNT")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(count > 100);
    let info: String = redis::cmd("INFO").query_async(&mut conn).await.unwrap();
    assert!(
        info.contains("# Proxy") && info.contains("group1:id=g1"),
        "{info}"
    );
    let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
    let total: i64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    assert_eq!(total, 0);
}

#[tokio::test]
async fn unsupported_commands_get_a_clear_error_not_a_hang() {
    let cluster = Cluster::start(&[0], "", "");
    let mut raw = cluster.proxy.raw().await;
    for (command, args) in [
        ("MONITOR", vec![]),
        ("XREAD", vec!["BLOCK", "0", "STREAMS", "s", "$"]),
    ] {
        let mut request = vec![command];
        request.extend(args);
        let reply = raw.cmd(&request).await;
        let Reply::Error(text) = reply else {
            panic!("{command}: {reply:?}")
        };
        assert!(text.starts_with("ERR") && text.contains(command), "{text}");
    }
    assert_eq!(raw.cmd(&["SELECT", "0"]).await, Reply::ok());
    assert!(matches!(raw.cmd(&["SELECT", "16"]).await, Reply::Error(_)));
    assert_eq!(raw.cmd(&["PING"]).await, Reply::Simple("PONG".into()));
}

#[tokio::test]
async fn resp3_clients_get_resp3_replies_from_the_nodes() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let mut raw = cluster.proxy.raw().await;
    let hello = raw.cmd(&["HELLO", "3"]).await;
    assert!(matches!(hello, Reply::Map(_)), "{hello:?}");
    assert_eq!(raw.cmd(&["GET", "nothing"]).await, Reply::Null);
    // CONFIG GET is a RESP3 map when the node speaks RESP3 with the proxy.
    let reply = raw.cmd(&["CONFIG", "GET", "maxmemory"]).await;
    assert!(matches!(reply, Reply::Map(_)), "{reply:?}");
    assert_eq!(raw.cmd(&["SET", "a", "1"]).await, Reply::ok());
    assert_eq!(
        raw.cmd(&["MGET", "a", "b", "c", "d"]).await,
        Reply::Array(vec![
            Reply::bulk("1"),
            Reply::Null,
            Reply::Null,
            Reply::Null
        ])
    );
}

#[tokio::test]
async fn passwords_on_proxy_and_nodes() {
    let nodes = [crate::common::Server::start(&["--requirepass", "nodepw"])];
    let config = format!(
        "listen = \"127.0.0.1:0\"\nrequirepass = \"proxypw\"\nbackend-password = \"nodepw\"\n\
         [[groups]]\nid = \"a\"\nprimary = \"{}\"\n",
        nodes[0].addr()
    );
    let path = crate::cluster::temp_file("auth.toml", &config);
    let proxy =
        crate::common::Server::spawn_redoubt(&["proxy", "--config", path.to_str().unwrap()], None);
    let mut raw = proxy.raw().await;
    assert_eq!(
        raw.cmd(&["GET", "a"]).await,
        Reply::Error("NOAUTH Authentication required.".into())
    );
    assert!(
        matches!(raw.cmd(&["AUTH", "wrong"]).await, Reply::Error(e) if e.starts_with("WRONGPASS"))
    );
    assert_eq!(raw.cmd(&["AUTH", "proxypw"]).await, Reply::ok());
    assert_eq!(raw.cmd(&["SET", "a", "1"]).await, Reply::ok());
    assert_eq!(raw.cmd(&["GET", "a"]).await, Reply::bulk("1"));
    // HELLO 3 with AUTH and SETNAME on a fresh connection, then blocking in RESP3 with the
    // node password on the held connection too.
    let mut fresh = proxy.raw().await;
    let hello = fresh
        .cmd(&[
            "HELLO", "3", "AUTH", "default", "proxypw", "SETNAME", "named",
        ])
        .await;
    assert_eq!(hello.get("proto"), Some(Reply::Int(3)), "{hello}");
    let own = fresh.cmd(&["CLIENT", "INFO"]).await.text();
    assert!(
        own.contains(" name=named ") && own.contains(" resp=3 "),
        "{own}"
    );
    assert_eq!(fresh.cmd(&["RPUSH", "q", "x"]).await, Reply::Int(1));
    assert_eq!(
        fresh.cmd(&["BLPOP", "q", "1"]).await,
        Reply::Array(vec![Reply::bulk("q"), Reply::bulk("x")])
    );
    assert_eq!(fresh.cmd(&["BLPOP", "q", "0.1"]).await, Reply::Null);
    let _ = std::fs::remove_file(path);
}
