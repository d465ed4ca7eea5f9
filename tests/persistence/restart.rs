//! Restarts: a node keeps its data across SIGTERM, SHUTDOWN and a save point; a restarted
//! standby continues its primary's stream with a partial resync; a failed background save
//! refuses writes with MISCONF until a save succeeds.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::eventually;
use crate::repl::{caught_up, info_int};
use crate::support::{assert_same, dump_all, fill_mixed, fresh_dir, node_in, run};

#[tokio::test]
async fn sigterm_and_shutdown_save_and_a_restart_loads_the_data() {
    let dir = fresh_dir("restart");
    let mut node = node_in(&dir, "3600 1", &[]);
    let mut conn = node.conn().await;
    fill_mixed(&mut conn).await;
    let expected = dump_all(&mut conn).await;
    node.signal(Signal::SIGTERM);
    assert!(
        eventually(Duration::from_secs(10), || {
            let r = !node.is_running();
            async move { r }
        })
        .await
    );
    let node = node_in(&dir, "3600 1", &[]);
    let mut conn = node.conn().await;
    assert_same(&expected, &dump_all(&mut conn).await, "after SIGTERM");
    run(&mut conn, &["SET", "added", "before shutdown"]).await;
    let _ = redis::cmd("SHUTDOWN")
        .query_async::<redis::Value>(&mut conn)
        .await;
    drop(node);
    let node = node_in(&dir, "", &[]);
    let mut conn = node.conn().await;
    let v: String = redis::cmd("GET")
        .arg("added")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, "before shutdown");
    // SHUTDOWN NOSAVE keeps the file as it was.
    run(&mut conn, &["SET", "added", "lost"]).await;
    let _ = redis::cmd("SHUTDOWN")
        .arg("NOSAVE")
        .query_async::<redis::Value>(&mut conn)
        .await;
    drop(node);
    let node = node_in(&dir, "1 1", &[]);
    let mut conn = node.conn().await;
    let v: String = redis::cmd("GET")
        .arg("added")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, "before shutdown");
    // A save point ("1 1": a change and a second) saves by itself.
    let before: i64 = redis::cmd("LASTSAVE").query_async(&mut conn).await.unwrap();
    run(&mut conn, &["SET", "by", "save point"]).await;
    assert!(
        eventually(Duration::from_secs(10), || {
            let mut conn = conn.clone();
            async move { info_int(&mut conn, "persistence", "rdb_changes_since_last_save").await == 0 }
        })
        .await,
        "no save at the save point"
    );
    let after: i64 = redis::cmd("LASTSAVE").query_async(&mut conn).await.unwrap();
    assert!(after >= before);
}

#[tokio::test]
async fn a_failed_save_refuses_writes_with_misconf_until_a_save_succeeds() {
    let dir = fresh_dir("misconf");
    let gone = dir.join("gone");
    std::fs::create_dir_all(&gone).unwrap();
    // `dir` is a protected parameter in Redis 7: changing it at run time needs this.
    let node = node_in(&dir, "3600 1", &["--enable-protected-configs", "yes"]);
    let mut conn = node.conn().await;
    run(
        &mut conn,
        &["CONFIG", "SET", "dir", &gone.display().to_string()],
    )
    .await;
    std::fs::remove_dir_all(&gone).unwrap();
    run(&mut conn, &["SET", "a", "1"]).await;
    run(&mut conn, &["BGSAVE"]).await;
    assert!(
        eventually(Duration::from_secs(10), || {
            let mut conn = conn.clone();
            async move {
                let info: String = redis::cmd("INFO")
                    .arg("persistence")
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                info.contains("rdb_last_bgsave_status:err")
            }
        })
        .await
    );
    let err = redis::cmd("SET")
        .arg("a")
        .arg("2")
        .query_async::<()>(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("MISCONF"), "{err}");
    let v: String = redis::cmd("GET")
        .arg("a")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, "1", "reads still served");
    let err = redis::cmd("SAVE")
        .query_async::<()>(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), redis::ErrorKind::ResponseError, "{err}");
    run(
        &mut conn,
        &["CONFIG", "SET", "dir", &dir.display().to_string()],
    )
    .await;
    run(&mut conn, &["SAVE"]).await;
    run(&mut conn, &["SET", "a", "2"]).await;
    assert!(dir.join("dump.rdb").exists());
}

#[tokio::test]
async fn a_restarted_standby_continues_with_a_partial_resync() {
    let primary_dir = fresh_dir("psync-primary");
    let standby_dir = fresh_dir("psync-standby");
    let primary = node_in(&primary_dir, "", &[]);
    let target = primary.addr().to_string();
    let mut p = primary.conn().await;
    fill_mixed(&mut p).await;
    let mut standby = node_in(&standby_dir, "3600 1", &["--replicaof", &target]);
    caught_up(&primary, &[&standby]).await;
    let partial_before = info_int(&mut p, "stats", "sync_partial_ok").await;
    let full_before = info_int(&mut p, "stats", "sync_full").await;
    standby.signal(Signal::SIGTERM);
    assert!(
        eventually(Duration::from_secs(10), || {
            let r = !standby.is_running();
            async move { r }
        })
        .await
    );
    run(&mut p, &["SET", "while", "away"]).await;
    run(&mut p, &["RPUSH", "list-small", "more"]).await;
    let standby = node_in(&standby_dir, "3600 1", &["--replicaof", &target]);
    caught_up(&primary, &[&standby]).await;
    assert_eq!(
        info_int(&mut p, "stats", "sync_partial_ok").await,
        partial_before + 1
    );
    assert_eq!(info_int(&mut p, "stats", "sync_full").await, full_before);
    let mut s = standby.conn().await;
    assert_same(&dump_all(&mut p).await, &dump_all(&mut s).await, "standby");
}

#[tokio::test]
async fn redis_server_replicates_a_node_through_an_rdb_full_resync() {
    let dir = fresh_dir("redis-replica");
    let node = node_in(&dir, "", &[]);
    let mut n = node.conn().await;
    fill_mixed(&mut n).await;
    let redis = crate::support::Redis::start_with(
        &dir,
        &[
            "--replicaof",
            "127.0.0.1",
            &node.addr().port().to_string(),
            "--dbfilename",
            "replica.rdb",
        ],
    );
    let mut r = redis.conn().await;
    run(&mut n, &["SET", "after", "sync"]).await;
    run(&mut n, &["SELECT", "2"]).await;
    run(&mut n, &["SADD", "later", "m"]).await;
    run(&mut n, &["SELECT", "0"]).await;
    assert!(
        eventually(Duration::from_secs(20), || {
            let mut r = r.clone();
            async move {
                let v: Option<String> = redis::cmd("GET")
                    .arg("after")
                    .query_async(&mut r)
                    .await
                    .unwrap_or(None);
                v.as_deref() == Some("sync")
            }
        })
        .await,
        "redis-server did not receive the stream"
    );
    let expected = dump_all(&mut n).await;
    assert!(
        eventually(Duration::from_secs(10), || {
            let (mut r, expected) = (r.clone(), expected.clone());
            async move { dump_all(&mut r).await == expected }
        })
        .await
    );
    assert_same(&expected, &dump_all(&mut r).await, "redis-server replica");
}

#[tokio::test]
async fn a_node_follows_redis_server_through_its_rdb() {
    follow_redis_server("node-of-redis", &["--repl-diskless-sync", "no"]).await;
}

#[tokio::test]
async fn a_node_follows_redis_server_through_a_diskless_transfer() {
    follow_redis_server(
        "node-of-redis-diskless",
        &[
            "--repl-diskless-sync",
            "yes",
            "--repl-diskless-sync-delay",
            "0",
        ],
    )
    .await;
}

/// A node made a standby of a redis-server started with `redis_args` ends up with its
/// dataset, and with a write made after the sync.
async fn follow_redis_server(name: &str, redis_args: &[&str]) {
    let dir = fresh_dir(name);
    let redis = crate::support::Redis::start_with(&dir, redis_args);
    let mut r = redis.conn().await;
    fill_mixed(&mut r).await;
    let target = format!("127.0.0.1:{}", redis.port);
    let node = node_in(&dir, "", &["--replicaof", &target]);
    let mut n = node.conn().await;
    run(&mut r, &["SET", "after", "sync"]).await;
    let expected = dump_all(&mut r).await;
    assert!(
        eventually(Duration::from_secs(20), || {
            let (mut n, expected) = (n.clone(), expected.clone());
            async move { dump_all(&mut n).await == expected }
        })
        .await,
        "{}",
        node.log_text()
    );
    assert_same(
        &expected,
        &dump_all(&mut n).await,
        "node following redis-server",
    );
}
