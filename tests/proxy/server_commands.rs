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
}
