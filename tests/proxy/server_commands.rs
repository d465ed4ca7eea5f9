//! The proxy's own server commands: `INFO` in Redis 7.2's sections, answering for the proxy
//! where a field describes the server and summing the groups where it describes the data.

use crate::cluster::{keys_by_group, Cluster};
use crate::common::{info_field, Reply};

async fn info(raw: &mut crate::common::Raw, section: &str) -> String {
    match raw.cmd(&["INFO", section]).await {
        Reply::Bulk(text) => String::from_utf8(text).unwrap(),
        Reply::Verbatim(_, text) => String::from_utf8(text).unwrap(),
        other => panic!("INFO is not text: {other}"),
    }
}

fn int(info: &str, field: &str) -> i64 {
    info_field(info, field)
        .unwrap_or_else(|| panic!("{field} missing from {info}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn info_prints_redis_fields_and_sums_the_groups_data() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let mut raw = cluster.proxy.raw().await;
    let server = info(&mut raw, "server").await;
    for field in [
        "redis_version",
        "redis_mode",
        "os",
        "arch_bits",
        "process_id",
        "run_id",
        "tcp_port",
        "uptime_in_seconds",
        "uptime_in_days",
        "executable",
    ] {
        assert!(info_field(&server, field).is_some(), "{field} in {server}");
    }
    assert_eq!(info_field(&server, "arch_bits").as_deref(), Some("64"));
    assert_eq!(
        info_field(&server, "redis_mode").as_deref(),
        Some("standalone")
    );
    assert_eq!(
        int(&server, "tcp_port"),
        i64::from(cluster.proxy.addr().port())
    );
    assert!(
        info_field(&server, "connected_clients").is_none(),
        "only the server section"
    );

    let keys = keys_by_group(&cluster, "info", 2).await;
    let all: Vec<&String> = keys.iter().flatten().collect();
    let before = info(&mut raw, "stats").await;
    for key in &all {
        assert_eq!(raw.cmd(&["SET", key.as_str(), "v"]).await, Reply::ok());
        assert_eq!(raw.cmd(&["GET", key.as_str()]).await, Reply::bulk("v"));
    }
    assert!(raw.cmd(&["GET", "info:missing"]).await.is_null());
    assert_eq!(raw.cmd(&["SELECT", "2"]).await, Reply::ok());
    assert_eq!(raw.cmd(&["SET", all[0].as_str(), "v"]).await, Reply::ok());
    assert_eq!(
        raw.cmd(&["SET", all[3].as_str(), "v", "EX", "100"]).await,
        Reply::ok()
    );
    let after = info(&mut raw, "stats").await;
    assert_eq!(
        int(&after, "keyspace_hits") - int(&before, "keyspace_hits"),
        all.len() as i64
    );
    assert_eq!(
        int(&after, "keyspace_misses") - int(&before, "keyspace_misses"),
        1
    );

    let keyspace = info(&mut raw, "keyspace").await;
    assert_eq!(
        info_field(&keyspace, "db0").as_deref(),
        Some(format!("keys={},expires=0,avg_ttl=0", all.len()).as_str()),
        "{keyspace}"
    );
    let db2 = info_field(&keyspace, "db2").expect("db2");
    assert!(db2.starts_with("keys=2,expires=1,avg_ttl="), "{db2}");

    let everything = info(&mut raw, "all").await;
    for section in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Stats",
        "# Replication",
        "# Keyspace",
        "# Commandstats",
    ] {
        assert!(everything.contains(section), "{section} in INFO all");
    }
    assert_eq!(int(&everything, "blocked_clients"), 0);

    // Commands and errors the proxy's clients got.
    assert_eq!(raw.cmd(&["SET", "info:text", "v"]).await, Reply::ok());
    for _ in 0..2 {
        assert!(matches!(
            raw.cmd(&["LPUSH", "info:text", "x"]).await,
            Reply::Error(_)
        ));
    }
    let stats = info(&mut raw, "commandstats").await;
    let get = info_field(&stats, "cmdstat_get").expect("cmdstat_get");
    assert!(
        get.starts_with(&format!("calls={},", all.len() + 1)),
        "{get}"
    );
    let lpush = info_field(&stats, "cmdstat_lpush").expect("cmdstat_lpush");
    assert!(
        lpush.starts_with("calls=2,") && lpush.ends_with("failed_calls=2"),
        "{lpush}"
    );
    assert!(info_field(&stats, "cmdstat_info").is_some(), "{stats}");
    let errors = info(&mut raw, "errorstats").await;
    assert_eq!(
        info_field(&errors, "errorstat_WRONGTYPE").as_deref(),
        Some("count=2"),
        "{errors}"
    );
}

/// The `id=` of every `CLIENT LIST` line.
fn listed_ids(reply: &Reply) -> Vec<u64> {
    reply
        .text()
        .lines()
        .map(|line| {
            line.split(' ')
                .find_map(|f| f.strip_prefix("id="))
                .expect("id field")
                .parse()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn client_subcommands_act_on_the_proxys_own_clients() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let mut a = cluster.proxy.raw().await;
    let mut b = cluster.proxy.raw().await;
    let a_id = a.cmd(&["CLIENT", "ID"]).await.int() as u64;
    let b_id = b.cmd(&["CLIENT", "ID"]).await.int() as u64;
    assert_eq!(a.cmd(&["CLIENT", "SETNAME", "alpha"]).await, Reply::ok());
    assert_eq!(
        a.cmd(&["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]).await,
        Reply::ok()
    );
    assert_eq!(a.cmd(&["SELECT", "4"]).await, Reply::ok());
    let own = a.cmd(&["CLIENT", "INFO"]).await.text();
    assert!(
        own.starts_with(&format!("id={a_id} addr={} ", a.local_addr())),
        "{own}"
    );
    for field in [
        "name=alpha",
        "db=4",
        "cmd=client|info",
        "lib-name=redis-py",
        "resp=2",
    ] {
        assert!(own.contains(field), "{field} in {own}");
    }
    let list = b.cmd(&["CLIENT", "LIST"]).await;
    let ids = listed_ids(&list);
    assert!(ids.contains(&a_id) && ids.contains(&b_id), "{list}");
    let only = b.cmd(&["CLIENT", "LIST", "ID", &a_id.to_string()]).await;
    assert_eq!(listed_ids(&only), vec![a_id]);
    assert_eq!(b.cmd(&["CLIENT", "NO-EVICT", "on"]).await, Reply::ok());
    // NO-TOUCH (Redis 7.2) is not in the shared command table yet.

    // CLIENT UNBLOCK ends another client's wait: nil for TIMEOUT, an error for ERROR.
    let keys = keys_by_group(&cluster, "unblock", 1).await;
    for (how, expected) in [
        ("TIMEOUT", Reply::Nil),
        (
            "ERROR",
            Reply::Error("UNBLOCKED client unblocked via CLIENT UNBLOCK".into()),
        ),
    ] {
        a.send(&crate::common::encode(&[
            "BLPOP",
            keys[0][0].as_str(),
            keys[1][0].as_str(),
            "0",
        ]))
        .await;
        // Unblocked once the wait is in place (0 until then).
        let mut released = false;
        for _ in 0..500 {
            if b.cmd(&["CLIENT", "UNBLOCK", &a_id.to_string(), how]).await == Reply::Int(1) {
                released = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(released, "{how}");
        assert_eq!(a.read_reply().await, expected, "{how}");
    }
    assert_eq!(
        b.cmd(&["CLIENT", "UNBLOCK", &a_id.to_string()]).await,
        Reply::Int(0)
    );

    // CLIENT REPLY OFF / SKIP / ON.
    b.send(&crate::common::encode(&["CLIENT", "REPLY", "SKIP"]))
        .await;
    b.send(&crate::common::encode(&["ECHO", "skipped"])).await;
    assert_eq!(b.cmd(&["ECHO", "seen"]).await, Reply::bulk("seen"));
    b.send(&crate::common::encode(&["CLIENT", "REPLY", "OFF"]))
        .await;
    b.send(&crate::common::encode(&["SET", "silent", "1"]))
        .await;
    assert_eq!(b.cmd(&["CLIENT", "REPLY", "ON"]).await, Reply::ok());
    assert_eq!(b.cmd(&["GET", "silent"]).await, Reply::bulk("1"));

    // RESET: database 0, no name, RESP2.
    assert_eq!(a.cmd(&["RESET"]).await, Reply::Simple("RESET".into()));
    assert!(a.cmd(&["CLIENT", "GETNAME"]).await.is_null());
    assert!(a.cmd(&["CLIENT", "INFO"]).await.text().contains(" db=0 "));

    // CLIENT KILL by id ends the other connection.
    assert_eq!(
        b.cmd(&["CLIENT", "KILL", "ID", &a_id.to_string()]).await,
        Reply::Int(1)
    );
    assert_eq!(a.read_until_closed().await, b"");
    let mut gone = false;
    for _ in 0..500 {
        if !listed_ids(&b.cmd(&["CLIENT", "LIST"]).await).contains(&a_id) {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(gone, "the killed client is still listed");
}

/// A connection that has sent nothing yet (the proxy keeps such a connection small) is a
/// client like any other: `CLIENT LIST` shows it and `CLIENT KILL ADDR` closes it; once it
/// speaks it is served as usual.
#[tokio::test]
async fn a_connection_that_sent_nothing_is_listed_and_can_be_killed() {
    let cluster = Cluster::start(&[0], "", "");
    let mut admin = cluster.proxy.raw().await;
    let silent = cluster.proxy.raw().await;
    let mut later = cluster.proxy.raw().await;
    let addr = format!("addr={} ", silent.local_addr());
    let mut listed = false;
    for _ in 0..500 {
        if admin.cmd(&["CLIENT", "LIST"]).await.text().contains(&addr) {
            listed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(listed, "a silent connection is missing from CLIENT LIST");
    assert_eq!(
        admin
            .cmd(&["CLIENT", "KILL", "ADDR", &silent.local_addr().to_string()])
            .await,
        Reply::Int(1)
    );
    let mut silent = silent;
    assert_eq!(silent.read_until_closed().await, b"");
    assert_eq!(later.cmd(&["SET", "k", "v"]).await, Reply::ok());
    assert_eq!(later.cmd(&["GET", "k"]).await, Reply::bulk("v"));
}

/// `CLIENT LIST` shows each client's subscriptions (`sub`, `psub`, `ssub`, flag `P`) and its
/// open transaction (`multi` = commands queued, flag `x`), as Redis does.
#[tokio::test]
async fn client_list_shows_subscriptions_and_transactions() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let mut watcher = cluster.proxy.raw().await;
    let mut subscriber = cluster.proxy.raw().await;
    let mut queuer = cluster.proxy.raw().await;
    let id = |raw_id: Reply| match raw_id {
        Reply::Int(id) => id,
        other => panic!("CLIENT ID: {other}"),
    };
    let subscriber_id = id(subscriber.cmd(&["CLIENT", "ID"]).await);
    let queuer_id = id(queuer.cmd(&["CLIENT", "ID"]).await);
    let line = |list: &str, id: i64| -> String {
        list.lines()
            .find(|l| l.starts_with(&format!("id={id} ")))
            .unwrap_or_else(|| panic!("no client {id} in {list}"))
            .to_string()
    };
    let field = |line: &str, name: &str| -> String {
        line.split(' ')
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {line}"))
            .to_string()
    };
    let list = |text: Reply| String::from_utf8(text.bytes()).unwrap();

    let before = list(watcher.cmd(&["CLIENT", "LIST"]).await);
    let sub_line = line(&before, subscriber_id);
    assert_eq!(
        ["sub", "psub", "ssub", "multi", "flags"].map(|f| field(&sub_line, f)),
        ["0", "0", "0", "-1", "N"].map(String::from)
    );

    subscriber
        .send(&crate::common::encode(&["SUBSCRIBE", "c1", "c2"]))
        .await;
    subscriber.read_reply().await;
    subscriber.read_reply().await;
    subscriber
        .send(&crate::common::encode(&["PSUBSCRIBE", "p*"]))
        .await;
    subscriber.read_reply().await;
    assert_eq!(queuer.cmd(&["MULTI"]).await, Reply::Simple("OK".into()));
    for key in ["a", "b", "c"] {
        assert_eq!(
            queuer.cmd(&["SET", key, "1"]).await,
            Reply::Simple("QUEUED".into())
        );
    }
    let during = list(watcher.cmd(&["CLIENT", "LIST"]).await);
    let sub_line = line(&during, subscriber_id);
    assert_eq!(
        ["sub", "psub", "ssub", "flags"].map(|f| field(&sub_line, f)),
        ["2", "1", "0", "P"].map(String::from)
    );
    let queue_line = line(&during, queuer_id);
    assert_eq!(
        ["multi", "flags"].map(|f| field(&queue_line, f)),
        ["3", "x"].map(String::from)
    );

    assert!(matches!(queuer.cmd(&["EXEC"]).await, Reply::Array(_)));
    let after = list(watcher.cmd(&["CLIENT", "LIST"]).await);
    let queue_line = line(&after, queuer_id);
    assert_eq!(
        ["multi", "flags"].map(|f| field(&queue_line, f)),
        ["-1", "N"].map(String::from)
    );
}

/// `maxclients` bounds the proxy's client connections: one past it gets Redis's error and is
/// closed, counted in `rejected_connections`; a closed connection frees its place.
#[tokio::test]
async fn connections_past_maxclients_are_refused_as_redis_refuses_them() {
    let cluster = Cluster::start(&[0], "", "maxclients = 3");
    let mut first = cluster.proxy.raw().await;
    assert_eq!(first.cmd(&["PING"]).await, Reply::Simple("PONG".into()));
    let clients = info(&mut first, "clients").await;
    assert_eq!(int(&clients, "maxclients"), 3);
    let mut second = cluster.proxy.raw().await;
    let mut third = cluster.proxy.raw().await;
    for conn in [&mut second, &mut third] {
        assert_eq!(conn.cmd(&["PING"]).await, Reply::Simple("PONG".into()));
    }

    let mut fourth = cluster.proxy.raw().await;
    assert_eq!(
        fourth.try_read_reply().await,
        Some(Reply::Error("ERR max number of clients reached".into()))
    );
    assert_eq!(fourth.try_read_reply().await, None, "then closed");
    let stats = info(&mut first, "stats").await;
    assert_eq!(int(&stats, "rejected_connections"), 1);
    assert_eq!(
        int(&info(&mut first, "clients").await, "connected_clients"),
        3
    );

    // A client that leaves frees its place.
    drop(third);
    // A refused connection hears at once, before it sends anything.
    let mut admitted = None;
    for _ in 0..100 {
        let mut conn = cluster.proxy.raw().await;
        let wait = std::time::Duration::from_millis(200);
        match tokio::time::timeout(wait, conn.try_read_reply()).await {
            Err(_) => {
                admitted = Some(conn);
                break;
            }
            Ok(reply) => assert_eq!(
                reply,
                Some(Reply::Error("ERR max number of clients reached".into()))
            ),
        }
    }
    let mut admitted = admitted.expect("no place freed after a client left");
    assert_eq!(admitted.cmd(&["PING"]).await, Reply::Simple("PONG".into()));
}
