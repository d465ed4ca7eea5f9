//! RDB files across Redoubt and Redis: the node's file passes `redis-check-rdb` and loads into
//! `redis-server` with the same data; Redis's file loads into the node; a consistent
//! background save under writes; a corrupt or foreign file is refused at start.

use std::process::Command;
use std::time::Duration;

use crate::common::eventually;
use crate::support::{
    assert_same, dump_all, fill_mixed, fresh_dir, node_config, node_in, run, Redis,
};

#[tokio::test]
async fn a_saved_file_passes_redis_check_rdb_and_loads_into_redis_server() {
    let dir = fresh_dir("save-to-redis");
    let node = node_in(&dir, "", &[]);
    let mut conn = node.conn().await;
    fill_mixed(&mut conn).await;
    let expected = dump_all(&mut conn).await;
    assert_eq!(run(&mut conn, &["SAVE"]).await, redis::Value::Okay);
    let file = dir.join("dump.rdb");
    let check = Command::new("redis-check-rdb").arg(&file).output().unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "redis-check-rdb failed:\n{report}");
    assert!(report.contains("\\o/ RDB looks OK! \\o/"), "{report}");
    drop(node);
    let redis = Redis::start(&dir);
    let mut rconn = redis.conn().await;
    assert_same(&expected, &dump_all(&mut rconn).await, "redis-server");
}

#[tokio::test]
async fn a_redis_server_file_loads_into_the_node() {
    let dir = fresh_dir("redis-to-node");
    let redis = Redis::start(&dir);
    let mut rconn = redis.conn().await;
    fill_mixed(&mut rconn).await;
    let expected = dump_all(&mut rconn).await;
    run(&mut rconn, &["SAVE"]).await;
    drop(redis);
    let node = node_in(&dir, "", &[]);
    let mut conn = node.conn().await;
    assert_same(&expected, &dump_all(&mut conn).await, "node");
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        info.contains(&format!("rdb_last_load_keys_loaded:{}", expected.len())),
        "{info}"
    );
}

#[tokio::test]
async fn a_background_save_under_writes_holds_the_data_as_it_was_when_it_began() {
    let dir = fresh_dir("bgsave-consistent");
    let node = node_in(&dir, "", &[]);
    let mut conn = node.conn().await;
    const KEYS: usize = 20_000;
    let mut pipe = redis::pipe();
    for i in 0..KEYS {
        pipe.cmd("SET").arg(format!("k{i}")).arg("old").ignore();
        pipe.cmd("RPUSH")
            .arg(format!("l{}", i % 100))
            .arg(i)
            .ignore();
    }
    let _: () = pipe.query_async(&mut conn).await.unwrap();
    let started: String = redis::cmd("BGSAVE").query_async(&mut conn).await.unwrap();
    assert_eq!(started, "Background saving started");
    // Every write after the reply must stay out of the file.
    let mut pipe = redis::pipe();
    for i in (0..KEYS).rev() {
        pipe.cmd("SET").arg(format!("k{i}")).arg("new").ignore();
        pipe.cmd("DEL").arg(format!("l{}", i % 100)).ignore();
        pipe.cmd("SET").arg(format!("fresh{i}")).arg("new").ignore();
    }
    let _: () = pipe.query_async(&mut conn).await.unwrap();
    let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
    assert!(
        eventually(Duration::from_secs(30), || {
            let mut conn = conn.clone();
            async move {
                let info: String = redis::cmd("INFO")
                    .arg("persistence")
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                info.contains("rdb_bgsave_in_progress:0") && info.contains("rdb_saves:1")
            }
        })
        .await,
        "the background save did not finish"
    );
    drop(node);
    let redis = Redis::start(&dir);
    let mut rconn = redis.conn().await;
    let size: usize = redis::cmd("DBSIZE").query_async(&mut rconn).await.unwrap();
    assert_eq!(size, KEYS + 100);
    for i in (0..KEYS).step_by(997) {
        let v: String = redis::cmd("GET")
            .arg(format!("k{i}"))
            .query_async(&mut rconn)
            .await
            .unwrap();
        assert_eq!(v, "old", "k{i}");
    }
    let len: usize = redis::cmd("LLEN")
        .arg("l7")
        .query_async(&mut rconn)
        .await
        .unwrap();
    assert_eq!(len, KEYS / 100);
}

/// Starts the node on `dir` and expects it to refuse to start, returning its log.
fn refused_start(dir: &std::path::Path) -> String {
    let config = node_config(dir, "", "");
    let out = Command::new(env!("CARGO_BIN_EXE_redoubt"))
        .args(["node", "--port", "0", "--config"])
        .arg(&config)
        .arg("--dir")
        .arg(dir)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the node started on a bad file");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_truncated_corrupt_or_foreign_file_is_refused_at_start() {
    let dir = fresh_dir("corrupt");
    let node = node_in(&dir, "", &[]);
    let mut conn = node.conn().await;
    fill_mixed(&mut conn).await;
    run(&mut conn, &["SAVE"]).await;
    drop(node);
    let file = dir.join("dump.rdb");
    let good = std::fs::read(&file).unwrap();

    std::fs::write(&file, &good[..good.len() / 2]).unwrap();
    let log = refused_start(&dir);
    assert!(
        log.contains("input ends inside") && log.contains("at byte"),
        "{log}"
    );

    let mut flipped = good.clone();
    let at = good.len() - 20;
    flipped[at] ^= 0x55;
    std::fs::write(&file, &flipped).unwrap();
    let log = refused_start(&dir);
    assert!(log.contains("refusing") && log.contains("at byte"), "{log}");

    std::fs::write(&file, b"GIF89a not a snapshot").unwrap();
    let log = refused_start(&dir);
    assert!(log.contains("not an RDB file"), "{log}");
}

const LIBRARY: &str =
    "#!lua name=mylib\nredis.register_function('echo1', function(keys, args) return args[1] end)";

/// `FCALL echo1 0 hello` on `conn`.
async fn call_echo(conn: &mut redis::aio::MultiplexedConnection) -> redis::RedisResult<String> {
    redis::cmd("FCALL")
        .arg("echo1")
        .arg(0)
        .arg("hello")
        .query_async(conn)
        .await
}

#[tokio::test]
async fn function_libraries_travel_in_the_file_both_ways() {
    let dir = fresh_dir("functions-file");
    let node = node_in(&dir, "", &[]);
    let mut conn = node.conn().await;
    run(&mut conn, &["FUNCTION", "LOAD", LIBRARY]).await;
    run(&mut conn, &["SET", "k", "v"]).await;
    assert_eq!(
        run(&mut conn, &["BGSAVE"]).await,
        redis::Value::SimpleString("Background saving started".into())
    );
    let file = dir.join("dump.rdb");
    let mut probe = node.conn().await;
    let mut saved = false;
    for _ in 0..500 {
        let info: String = redis::cmd("INFO")
            .arg("persistence")
            .query_async(&mut probe)
            .await
            .unwrap();
        if info.contains("rdb_bgsave_in_progress:0") && file.exists() {
            saved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(saved, "BGSAVE did not finish");
    let check = Command::new("redis-check-rdb").arg(&file).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    drop(node);
    // The node loads its own file at start...
    let node = node_in(&dir, "", &[]);
    let mut conn = node.conn().await;
    assert_eq!(call_echo(&mut conn).await.unwrap(), "hello");
    drop(node);
    // ...and so does redis-server, whose own file the node loads back.
    let redis = Redis::start(&dir);
    let mut rconn = redis.conn().await;
    assert_eq!(call_echo(&mut rconn).await.unwrap(), "hello");
    run(&mut rconn, &["FUNCTION", "DELETE", "mylib"]).await;
    run(
        &mut rconn,
        &["FUNCTION", "LOAD", &LIBRARY.replace("mylib", "theirs")],
    )
    .await;
    run(&mut rconn, &["SAVE"]).await;
    drop(redis);
    let node = node_in(&dir, "", &[]);
    let mut conn = node.conn().await;
    assert_eq!(call_echo(&mut conn).await.unwrap(), "hello");
    let list = run(&mut conn, &["FUNCTION", "LIST"]).await;
    assert!(format!("{list:?}").contains("theirs"), "{list:?}");
}
