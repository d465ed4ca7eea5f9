//! The append-only file: acknowledged writes survive SIGKILL with `appendfsync always`,
//! `everysec` loses at most about a second, BGREWRITEAOF under writes keeps every write,
//! a truncated tail is cut off or refused by `aof-load-truncated`, the files load into
//! redis-server and redis-server's load into the node, and `CONFIG SET appendonly yes` at run
//! time creates the file from the dataset.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use redis::aio::MultiplexedConnection;

use crate::common::{eventually, Server};
use crate::repl::info_int;
use crate::support::{
    assert_same, dump_all, fill_mixed, fresh_dir, node_in, run, without_block_layout, Redis,
};

/// A node keeping an append-only file in `dir`, with extra flags.
fn aof_node(dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--appendonly", "yes"];
    args.extend_from_slice(extra);
    node_in(dir, "", &args)
}

/// SIGKILLs `node` and waits until it is gone.
async fn kill(node: &mut Server) {
    node.signal(Signal::SIGKILL);
    assert!(
        eventually(Duration::from_secs(10), || {
            let gone = !node.is_running();
            async move { gone }
        })
        .await
    );
}

/// Waits until no rewrite runs and `aof_rewrites` reached `count`.
async fn rewritten(conn: &mut MultiplexedConnection, count: i64) {
    assert!(
        eventually(Duration::from_secs(20), || {
            let mut conn = conn.clone();
            async move {
                info_int(&mut conn, "persistence", "aof_rewrite_in_progress").await == 0
                    && info_int(&mut conn, "persistence", "aof_rewrites").await >= count
            }
        })
        .await,
        "the rewrite did not finish"
    );
}

/// Makes sure everything written so far is in the file: under `appendfsync always` a write's
/// reply waits until every byte before it is fsynced.
async fn synced(conn: &mut MultiplexedConnection) {
    run(conn, &["CONFIG", "SET", "appendfsync", "always"]).await;
    run(conn, &["SET", "synced-marker", "1"]).await;
}

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap()
}

/// Writers on `connections` connections, each doing `SET w<i>:<n> <n>` for `count` writes;
/// returns every acknowledged key.
async fn write_many(node: &Server, connections: usize, count: usize) -> Vec<String> {
    let mut tasks = Vec::new();
    for w in 0..connections {
        let mut conn = node.conn().await;
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for n in 0..count {
                let key = format!("w{w}:{n}");
                let ok: redis::RedisResult<()> = redis::cmd("SET")
                    .arg(&key)
                    .arg(n)
                    .query_async(&mut conn)
                    .await;
                if ok.is_err() {
                    break;
                }
                acked.push(key);
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for task in tasks {
        acked.extend(task.await.unwrap());
    }
    acked
}

async fn missing(conn: &mut MultiplexedConnection, keys: &[String]) -> Vec<String> {
    let mut missing = Vec::new();
    for chunk in keys.chunks(500) {
        let values: Vec<Option<String>> = redis::cmd("MGET")
            .arg(chunk)
            .query_async(conn)
            .await
            .unwrap();
        missing.extend(
            chunk
                .iter()
                .zip(values)
                .filter(|(_, v)| v.is_none())
                .map(|(k, _)| k.clone()),
        );
    }
    missing
}

#[tokio::test]
async fn with_appendfsync_always_every_acknowledged_write_survives_sigkill() {
    let dir = fresh_dir("aof-always");
    let mut node = aof_node(&dir, &["--appendfsync", "always"]);
    let mut conn = node.conn().await;
    assert_eq!(info_int(&mut conn, "persistence", "aof_enabled").await, 1);
    rewritten(&mut conn, 1).await;
    // Writers still sending when the node dies: only what was acknowledged must be there.
    let writers = {
        let addr = node.addr();
        tokio::spawn(async move {
            let client = redis::Client::open(format!("redis://{addr}")).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let mut acked = Vec::new();
            for n in 0..100_000 {
                let key = format!("late:{n}");
                let ok: redis::RedisResult<()> = redis::cmd("SET")
                    .arg(&key)
                    .arg(n)
                    .query_async(&mut conn)
                    .await;
                if ok.is_err() {
                    break;
                }
                acked.push(key);
            }
            acked
        })
    };
    // The reply comes only once the write is in the incremental file.
    for n in 0..20 {
        let value = format!("probe-value-{n}");
        run(&mut conn, &["SET", "probe", &value]).await;
        let incr = std::fs::read(dir.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
        assert!(
            incr.windows(value.len()).any(|w| w == value.as_bytes()),
            "acknowledged before it was written"
        );
    }
    let mut acked = write_many(&node, 4, 150).await;
    run(&mut conn, &["MULTI"]).await;
    run(&mut conn, &["INCR", "counter"]).await;
    run(&mut conn, &["RPUSH", "list", "a", "b"]).await;
    run(&mut conn, &["EXEC"]).await;
    run(&mut conn, &["SELECT", "3"]).await;
    run(&mut conn, &["SET", "in-3", "x", "EX", "1000"]).await;
    run(&mut conn, &["SELECT", "0"]).await;
    kill(&mut node).await;
    acked.extend(writers.await.unwrap());
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    let node = aof_node(&dir, &["--appendfsync", "always"]);
    let mut conn = node.conn().await;
    let lost = missing(&mut conn, &acked).await;
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    assert_eq!(
        run(&mut conn, &["GET", "counter"]).await,
        redis::Value::BulkString(b"1".to_vec())
    );
    run(&mut conn, &["SELECT", "3"]).await;
    let ttl: i64 = redis::cmd("TTL")
        .arg("in-3")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((900..=1000).contains(&ttl), "ttl {ttl}");
}

#[tokio::test]
async fn with_appendfsync_everysec_nothing_older_than_two_seconds_is_lost() {
    let dir = fresh_dir("aof-everysec");
    let mut node = aof_node(&dir, &["--appendfsync", "everysec"]);
    let mut conn = node.conn().await;
    rewritten(&mut conn, 1).await;
    let mut acked = Vec::new();
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < Duration::from_millis(2500) {
        run(&mut conn, &["SET", &format!("k{n}"), "v"]).await;
        acked.push((Instant::now(), format!("k{n}")));
        n += 1;
    }
    let killed = Instant::now();
    kill(&mut node).await;
    let node = aof_node(&dir, &[]);
    let mut conn = node.conn().await;
    let old: Vec<String> = acked
        .iter()
        .filter(|(at, _)| killed.duration_since(*at) > Duration::from_secs(2))
        .map(|(_, k)| k.clone())
        .collect();
    assert!(!old.is_empty());
    let lost = missing(&mut conn, &old).await;
    assert!(lost.is_empty(), "writes older than 2 s lost: {lost:?}");
}

#[tokio::test]
async fn bgrewriteaof_under_writes_keeps_every_write() {
    let dir = fresh_dir("aof-rewrite");
    let mut node = aof_node(&dir, &["--aof-use-rdb-preamble", "no"]);
    let mut conn = node.conn().await;
    rewritten(&mut conn, 1).await;
    fill_mixed(&mut conn).await;
    let writers = {
        let addr = node.addr();
        tokio::spawn(async move {
            let client = redis::Client::open(format!("redis://{addr}")).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            for n in 0..3000 {
                run(&mut conn, &["RPUSH", "during", &n.to_string()]).await;
                run(
                    &mut conn,
                    &[
                        "HSET",
                        "hash-small",
                        &format!("f{}", n % 50),
                        &n.to_string(),
                    ],
                )
                .await;
            }
        })
    };
    let reply = run(&mut conn, &["BGREWRITEAOF"]).await;
    assert_eq!(
        reply,
        redis::Value::SimpleString("Background append only file rewriting started".into())
    );
    writers.await.unwrap();
    rewritten(&mut conn, 2).await;
    run(
        &mut conn,
        &[
            "EVAL",
            "redis.call('SET', 'by-script', 'x'); redis.call('INCR', 'n'); return 1",
            "0",
        ],
    )
    .await;
    synced(&mut conn).await;
    let expected = dump_all(&mut conn).await;
    let text = manifest(&dir);
    assert_eq!(
        text,
        "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "appendonly.aof.2.base.aof",
            "appendonly.aof.2.incr.aof",
            "appendonly.aof.manifest"
        ],
        "the old files are deleted"
    );
    kill(&mut node).await;
    let node = aof_node(&dir, &[]);
    let mut conn = node.conn().await;
    // The RESP base rebuilds streams with XADD, which packs their entries afresh.
    assert_same(
        &without_block_layout(&expected),
        &without_block_layout(&dump_all(&mut conn).await),
        "after a rewrite and SIGKILL",
    );
    let len: i64 = redis::cmd("LLEN")
        .arg("during")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(len, 3000);
}

/// Starts the node on `dir` with `args` and expects it to refuse, returning its log.
fn refused_start(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_redoubt"))
        .args(["node", "--port", "0", "--dir"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the node started");
    String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
}

#[tokio::test]
async fn a_truncated_tail_is_cut_off_or_refused_by_aof_load_truncated() {
    let dir = fresh_dir("aof-truncated");
    // `always`: a reply means the write is in the file.
    let mut node = aof_node(&dir, &["--appendfsync", "always"]);
    let mut conn = node.conn().await;
    rewritten(&mut conn, 1).await;
    run(&mut conn, &["SET", "kept", "1"]).await;
    run(&mut conn, &["MULTI"]).await;
    run(&mut conn, &["SET", "in-multi", "1"]).await;
    run(&mut conn, &["EXEC"]).await;
    kill(&mut node).await;
    let incr = dir.join("appendonlydir/appendonly.aof.1.incr.aof");
    let whole = std::fs::read(&incr).unwrap();
    // An open MULTI block and half a command: both go.
    let mut torn = whole.clone();
    torn.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$4\r\nlost\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$2\r\nxy");
    std::fs::write(&incr, &torn).unwrap();
    let log = refused_start(&dir, &["--appendonly", "yes", "--aof-load-truncated", "no"]);
    assert!(log.contains("Unexpected end of file"), "{log}");
    assert_eq!(
        std::fs::read(&incr).unwrap(),
        torn,
        "a refused file is left as it was"
    );
    let node = aof_node(&dir, &["--aof-load-truncated", "yes"]);
    let mut conn = node.conn().await;
    assert_eq!(
        run(&mut conn, &["GET", "kept"]).await,
        redis::Value::BulkString(b"1".to_vec())
    );
    assert_eq!(
        run(&mut conn, &["GET", "in-multi"]).await,
        redis::Value::BulkString(b"1".to_vec())
    );
    assert_eq!(
        run(&mut conn, &["EXISTS", "lost"]).await,
        redis::Value::Int(0)
    );
    assert_eq!(
        std::fs::read(&incr).unwrap(),
        whole,
        "cut at the last complete command"
    );
    // Garbage is not a truncation: refused either way.
    drop(conn);
    drop(node);
    let mut bad = whole.clone();
    bad.extend_from_slice(b"garbage\r\n");
    std::fs::write(&incr, &bad).unwrap();
    let log = refused_start(&dir, &["--appendonly", "yes"]);
    assert!(log.contains("Bad file format"), "{log}");
}

#[tokio::test]
async fn the_node_files_load_into_redis_server_and_redis_server_files_into_the_node() {
    for preamble in ["yes", "no"] {
        let dir = fresh_dir(&format!("aof-to-redis-{preamble}"));
        let mut node = aof_node(
            &dir,
            &[
                "--aof-use-rdb-preamble",
                preamble,
                "--appendfsync",
                "always",
            ],
        );
        let mut conn = node.conn().await;
        rewritten(&mut conn, 1).await;
        fill_mixed(&mut conn).await;
        run(&mut conn, &["BGREWRITEAOF"]).await;
        rewritten(&mut conn, 2).await;
        run(&mut conn, &["MULTI"]).await;
        run(&mut conn, &["SADD", "after-rewrite", "a", "b"]).await;
        run(&mut conn, &["EXPIRE", "after-rewrite", "5000"]).await;
        run(&mut conn, &["EXEC"]).await;
        run(&mut conn, &["SELECT", "1"]).await;
        run(&mut conn, &["SET", "db1", "v"]).await;
        run(&mut conn, &["SELECT", "0"]).await;
        run(&mut conn, &["DEL", "str"]).await;
        let expected = dump_all(&mut conn).await;
        kill(&mut node).await;
        let redis = Redis::start_with(&dir, &["--appendonly", "yes"]);
        let mut rconn = redis.conn().await;
        assert_same(
            &expected,
            &dump_all(&mut rconn).await,
            &format!("redis-server loading the node's files (preamble {preamble})"),
        );
        run(&mut rconn, &["SELECT", "1"]).await;
        assert_eq!(
            run(&mut rconn, &["GET", "db1"]).await,
            redis::Value::BulkString(b"v".to_vec())
        );
    }
    // The other way: redis-server's append-only directory into the node.
    let dir = fresh_dir("aof-from-redis");
    let redis = Redis::start_with(&dir, &["--appendonly", "yes", "--appendfsync", "always"]);
    let mut rconn = redis.conn().await;
    fill_mixed(&mut rconn).await;
    run(&mut rconn, &["BGREWRITEAOF"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    run(&mut rconn, &["INCRBY", "int", "5"]).await;
    run(&mut rconn, &["SELECT", "1"]).await;
    run(&mut rconn, &["SET", "db1", "v"]).await;
    run(&mut rconn, &["SELECT", "0"]).await;
    let expected = dump_all(&mut rconn).await;
    drop(rconn);
    drop(redis);
    let node = aof_node(&dir, &[]);
    let mut conn = node.conn().await;
    assert_same(
        &expected,
        &dump_all(&mut conn).await,
        "the node loading redis-server's files",
    );
    run(&mut conn, &["SELECT", "1"]).await;
    assert_eq!(
        run(&mut conn, &["GET", "db1"]).await,
        redis::Value::BulkString(b"v".to_vec())
    );
}

#[tokio::test]
async fn config_set_appendonly_yes_at_run_time_creates_the_file_from_the_dataset() {
    let dir = fresh_dir("aof-config-set");
    let mut node = node_in(&dir, "", &[]);
    let mut conn = node.conn().await;
    assert_eq!(info_int(&mut conn, "persistence", "aof_enabled").await, 0);
    fill_mixed(&mut conn).await;
    run(&mut conn, &["CONFIG", "SET", "appendonly", "yes"]).await;
    assert_eq!(info_int(&mut conn, "persistence", "aof_enabled").await, 1);
    rewritten(&mut conn, 1).await;
    run(&mut conn, &["SET", "after", "enabling"]).await;
    run(&mut conn, &["CONFIG", "SET", "appendfsync", "always"]).await;
    run(&mut conn, &["SET", "after", "always"]).await;
    let expected = dump_all(&mut conn).await;
    assert!(info_int(&mut conn, "persistence", "aof_current_size").await > 0);
    assert!(info_int(&mut conn, "persistence", "aof_base_size").await > 0);
    kill(&mut node).await;
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    let node = aof_node(&dir, &[]);
    let mut conn = node.conn().await;
    assert_same(
        &expected,
        &dump_all(&mut conn).await,
        "after CONFIG SET appendonly yes",
    );
    // And off again: the node stops appending.
    run(&mut conn, &["CONFIG", "SET", "appendonly", "no"]).await;
    assert_eq!(info_int(&mut conn, "persistence", "aof_enabled").await, 0);
}

#[tokio::test]
async fn the_file_is_rewritten_by_itself_when_it_doubled_past_the_minimum_size() {
    let dir = fresh_dir("aof-auto");
    let mut node = aof_node(
        &dir,
        &[
            "--auto-aof-rewrite-min-size",
            "64kb",
            "--auto-aof-rewrite-percentage",
            "100",
        ],
    );
    let mut conn = node.conn().await;
    rewritten(&mut conn, 1).await;
    let value = "v".repeat(1000);
    for n in 0..40 {
        run(&mut conn, &["SET", &format!("small{n}"), &value]).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        info_int(&mut conn, "persistence", "aof_rewrites").await,
        1,
        "no rewrite below the minimum size"
    );
    // The same keys over and over: the file grows, the dataset does not.
    for round in 0..3 {
        for n in 0..40 {
            run(
                &mut conn,
                &["SET", &format!("small{n}"), &format!("{round}{value}")],
            )
            .await;
        }
    }
    rewritten(&mut conn, 2).await;
    // The new base holds the 40 keys once (about 40 KB), not the 160 writes.
    let text = manifest(&dir);
    let base = text.split_whitespace().nth(1).unwrap();
    assert!(!base.starts_with("appendonly.aof.1."), "{text}");
    let size = std::fs::metadata(dir.join("appendonlydir").join(base))
        .unwrap()
        .len();
    assert!(
        size < 60 * 1024,
        "the rewrite compacts the file: base of {size} bytes"
    );
    synced(&mut conn).await;
    let expected = dump_all(&mut conn).await;
    kill(&mut node).await;
    let node = aof_node(&dir, &[]);
    let mut conn = node.conn().await;
    assert_same(
        &expected,
        &dump_all(&mut conn).await,
        "after an automatic rewrite",
    );
}

#[tokio::test]
async fn a_standby_appends_its_primary_stream_and_restarts_from_it() {
    let pdir = fresh_dir("aof-standby-primary");
    let sdir = fresh_dir("aof-standby");
    let primary = node_in(&pdir, "", &[]);
    let mut p = primary.conn().await;
    fill_mixed(&mut p).await;
    let target = primary.addr().to_string();
    let sdir_arg = sdir.display().to_string();
    let mut standby = Server::spawn_redoubt(
        &[
            "node",
            "--port",
            "0",
            "--replicaof",
            &target,
            "--dir",
            &sdir_arg,
            "--appendonly",
            "yes",
        ],
        None,
    );
    crate::repl::caught_up(&primary, &[&standby]).await;
    let mut s = standby.conn().await;
    // The full resync replaced the dataset: a rewrite makes it the new base.
    rewritten(&mut s, 2).await;
    run(&mut p, &["MULTI"]).await;
    run(&mut p, &["INCR", "counter"]).await;
    run(&mut p, &["SADD", "set-small", "z"]).await;
    run(&mut p, &["EXEC"]).await;
    run(&mut p, &["SELECT", "2"]).await;
    run(&mut p, &["SET", "late-in-2", "x"]).await;
    run(&mut p, &["SELECT", "0"]).await;
    run(&mut p, &["DEL", "str"]).await;
    crate::repl::caught_up(&primary, &[&standby]).await;
    let expected = dump_all(&mut p).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill(&mut standby).await;
    let node = aof_node(&sdir, &[]);
    let mut conn = node.conn().await;
    assert_same(
        &expected,
        &dump_all(&mut conn).await,
        "a standby's append-only file",
    );
}

#[tokio::test]
async fn function_libraries_survive_a_rewrite_with_either_base_and_a_restart() {
    for preamble in ["yes", "no"] {
        let dir = fresh_dir(&format!("aof-functions-{preamble}"));
        let mut node = aof_node(&dir, &["--aof-use-rdb-preamble", preamble]);
        let mut conn = node.conn().await;
        let library =
            "#!lua name=aoflib\nredis.register_function('answer', function() return 42 end)";
        // A node starting with no file makes its base first.
        rewritten(&mut conn, 1).await;
        run(&mut conn, &["FUNCTION", "LOAD", library]).await;
        run(&mut conn, &["BGREWRITEAOF"]).await;
        rewritten(&mut conn, 2).await;
        synced(&mut conn).await;
        kill(&mut node).await;
        let node = aof_node(&dir, &["--aof-use-rdb-preamble", preamble]);
        let mut conn = node.conn().await;
        let answer: i64 = redis::cmd("FCALL")
            .arg("answer")
            .arg(0)
            .query_async(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("preamble {preamble}: {e}"));
        assert_eq!(answer, 42, "preamble {preamble}");
    }
}

/// Sets the soft file size limit (`ulimit -f`, in bytes) of the running process `pid` with
/// util-linux's `prlimit`.
fn limit_file_size(pid: u32, bytes: &str) {
    let status = Command::new("prlimit")
        .arg(format!("--fsize={bytes}:"))
        .args(["--pid", &pid.to_string()])
        .status()
        .expect("run prlimit (util-linux)");
    assert!(status.success(), "prlimit --fsize={bytes} failed");
}

/// Redis's `writeCommandsDeniedByDiskError`: once a write to the append-only file fails (here
/// past a file size limit put on the running node), writes and PING get `MISCONF` naming the
/// system's error while reads keep working; once the file can grow again the kept bytes are
/// written, writes are accepted, and after a restart every acknowledged write is there.
#[tokio::test]
async fn a_failing_append_only_file_refuses_writes_with_misconf_until_it_recovers() {
    let dir = fresh_dir("aof-write-error");
    let mut node = aof_node(&dir, &["--appendfsync", "everysec"]);
    let mut conn = node.conn().await;
    rewritten(&mut conn, 1).await;
    let mut raw = node.raw().await;
    assert_eq!(raw.q("SET before 1").await, crate::common::Reply::ok());
    limit_file_size(node.pid(), "1");
    let mut acked = vec!["before".to_string()];
    let started = Instant::now();
    let refusal = loop {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "writes were never refused"
        );
        let key = format!("k{}", acked.len());
        match raw.cmd(&["SET", key.as_str(), "v"]).await {
            crate::common::Reply::Error(e) => break e,
            _ => acked.push(key),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        refusal,
        "MISCONF Errors writing to the AOF file: File too large"
    );
    assert_eq!(raw.q("PING").await.err(), refusal);
    assert_eq!(raw.q("GET before").await, crate::common::Reply::bulk("1"));
    let info = raw.q("INFO persistence").await.text();
    assert!(info.contains("aof_last_write_status:err"), "{info}");

    limit_file_size(node.pid(), "unlimited");
    assert!(
        eventually(Duration::from_secs(15), || {
            let mut conn = conn.clone();
            async move {
                redis::cmd("SET")
                    .arg("after")
                    .arg("1")
                    .query_async::<()>(&mut conn)
                    .await
                    .is_ok()
            }
        })
        .await,
        "writes stayed refused after the limit was lifted"
    );
    acked.push("after".to_string());
    synced(&mut conn).await;
    kill(&mut node).await;
    let node = aof_node(&dir, &[]);
    let mut conn = node.conn().await;
    assert_eq!(missing(&mut conn, &acked).await, Vec::<String>::new());
}

/// RESP for one command, as an append-only file holds it.
fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    out
}

/// A single `appendonly.aof` as Redis before 7.0 kept it beside `dump.rdb` (an RDB preamble
/// written by redis-server, then commands) is moved into the directory as the base of a new
/// manifest and loaded; writes then go to a new incremental file and survive a restart.
#[tokio::test]
async fn an_old_style_single_append_only_file_is_moved_into_the_directory_and_loaded() {
    let dir = fresh_dir("aof-upgrade");
    let source = fresh_dir("aof-upgrade-source");
    {
        let redis = Redis::start(&source);
        let mut conn = redis.conn().await;
        run(&mut conn, &["SET", "from-preamble", "1"]).await;
        run(&mut conn, &["RPUSH", "list", "a", "b"]).await;
        run(&mut conn, &["SAVE"]).await;
    }
    let mut old = std::fs::read(source.join("dump.rdb")).unwrap();
    old.extend(resp(&["SELECT", "0"]));
    old.extend(resp(&["SET", "from-tail", "2"]));
    old.extend(resp(&["RPUSH", "list", "c"]));
    std::fs::write(dir.join("appendonly.aof"), &old).unwrap();

    let mut node = aof_node(&dir, &["--appendfsync", "always"]);
    let mut conn = node.conn().await;
    let got: (String, String, Vec<String>) = redis::pipe()
        .get("from-preamble")
        .get("from-tail")
        .lrange("list", 0, -1)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        got,
        (
            "1".into(),
            "2".into(),
            vec!["a".into(), "b".into(), "c".into()]
        )
    );
    assert!(!dir.join("appendonly.aof").exists(), "the old file stayed");
    assert_eq!(
        std::fs::read(dir.join("appendonlydir/appendonly.aof")).unwrap(),
        old
    );
    let text = manifest(&dir);
    assert!(
        text.starts_with("file appendonly.aof seq 1 type b\n"),
        "{text}"
    );
    assert!(text.contains("type i"), "{text}");

    run(&mut conn, &["SET", "after-upgrade", "3"]).await;
    kill(&mut node).await;
    let node = aof_node(&dir, &[]);
    let mut conn = node.conn().await;
    let got: (String, String, String) = redis::pipe()
        .get("from-preamble")
        .get("from-tail")
        .get("after-upgrade")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(got, ("1".into(), "2".into(), "3".into()));
}
