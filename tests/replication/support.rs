//! Helpers: start standbys, wait for them to catch up, dump a whole dataset to compare.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

use crate::common::Server;

/// Starts a node following `primary`, with extra flags.
pub fn standby_of(primary: &Server, extra: &[&str]) -> Server {
    let target = primary.addr().to_string();
    let mut args = vec!["node", "--port", "0", "--replicaof", target.as_str()];
    args.extend_from_slice(extra);
    Server::spawn_redoubt(&args, None)
}

/// Starts a primary with extra flags.
pub fn primary(extra: &[&str]) -> Server {
    let mut args = vec!["node", "--port", "0"];
    args.extend_from_slice(extra);
    Server::spawn_redoubt(&args, None)
}

/// One field of `INFO <section>`.
pub async fn info_field(
    conn: &mut MultiplexedConnection,
    section: &str,
    field: &str,
) -> Option<String> {
    let info: String = redis::cmd("INFO")
        .arg(section)
        .query_async(conn)
        .await
        .ok()?;
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().to_string())
}

/// An integer field of `INFO <section>` (0 when absent).
pub async fn info_int(conn: &mut MultiplexedConnection, section: &str, field: &str) -> i64 {
    info_field(conn, section, field)
        .await
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Waits until every standby's offset equals the primary's `master_repl_offset`.
pub async fn caught_up(primary: &Server, standbys: &[&Server]) {
    let mut p = primary.conn().await;
    let mut conns = Vec::new();
    for s in standbys {
        conns.push(s.conn().await);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    'wait: loop {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for standbys to catch up"
        );
        let target = info_int(&mut p, "replication", "master_repl_offset").await;
        for c in conns.iter_mut() {
            let link = info_field(c, "replication", "master_link_status").await;
            if link.as_deref() != Some("up")
                || info_int(c, "replication", "slave_repl_offset").await != target
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue 'wait;
            }
        }
        return;
    }
}

/// Every key of databases 0..`dbs` with its type, contents and absolute expiry.
pub async fn dump(server: &Server, dbs: usize) -> BTreeMap<(usize, Vec<u8>), String> {
    let mut out = BTreeMap::new();
    let mut conn = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for db in 0..dbs {
        let _: () = redis::cmd("SELECT")
            .arg(db)
            .query_async(&mut conn)
            .await
            .unwrap();
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .unwrap();
            keys.extend(batch);
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        keys.sort();
        keys.dedup();
        for key in keys {
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            let contents = match kind.as_str() {
                "string" => format!(
                    "{:?}",
                    redis::cmd("GET")
                        .arg(&key)
                        .query_async::<Option<Vec<u8>>>(&mut conn)
                        .await
                        .unwrap()
                ),
                "list" => format!(
                    "{:?}",
                    redis::cmd("LRANGE")
                        .arg(&key)
                        .arg(0)
                        .arg(-1)
                        .query_async::<Vec<Vec<u8>>>(&mut conn)
                        .await
                        .unwrap()
                ),
                "hash" => format!(
                    "{:?}",
                    redis::cmd("HGETALL")
                        .arg(&key)
                        .query_async::<BTreeMap<Vec<u8>, Vec<u8>>>(&mut conn)
                        .await
                        .unwrap()
                ),
                "set" => {
                    let mut members: Vec<Vec<u8>> = redis::cmd("SMEMBERS")
                        .arg(&key)
                        .query_async(&mut conn)
                        .await
                        .unwrap();
                    members.sort();
                    format!("{members:?}")
                }
                "zset" => format!(
                    "{:?}",
                    redis::cmd("ZRANGE")
                        .arg(&key)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES")
                        .query_async::<Vec<(Vec<u8>, String)>>(&mut conn)
                        .await
                        .unwrap()
                ),
                "none" => continue,
                other => panic!("unexpected type {other}"),
            };
            let expires: i64 = redis::cmd("PEXPIRETIME")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            out.insert((db, key), format!("{kind} {contents} expires={expires}"));
        }
    }
    out
}

/// Asserts two dumps are equal, reporting the first differences.
pub fn assert_same(
    primary: &BTreeMap<(usize, Vec<u8>), String>,
    standby: &BTreeMap<(usize, Vec<u8>), String>,
    who: &str,
) {
    if primary == standby {
        return;
    }
    let mut report = String::new();
    for (key, value) in primary {
        if standby.get(key) != Some(value) {
            report.push_str(&format!(
                "  {key:?}: primary {value} / {who} {:?}\n",
                standby.get(key)
            ));
        }
    }
    for key in standby.keys().filter(|k| !primary.contains_key(*k)) {
        report.push_str(&format!("  {key:?}: only on {who}\n"));
    }
    let shown: String = report.lines().take(20).collect::<Vec<_>>().join("\n");
    panic!(
        "{who} differs from the primary ({} keys vs {}):\n{shown}",
        primary.len(),
        standby.len()
    );
}
