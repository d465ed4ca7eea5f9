//! Helpers: nodes and redis-servers with their own directory, a mixed dataset, whole-dataset
//! dumps to compare.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

use crate::common::{test_dir, Server};

/// A fresh directory for one test's files.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = test_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `<dir>/node.toml` with `save` and `extra` lines; returns its path.
pub fn node_config(dir: &Path, save: &str, extra: &str) -> PathBuf {
    let path = dir.join("node.toml");
    std::fs::write(&path, format!("save = \"{save}\"\n{extra}")).unwrap();
    path
}

/// Starts a node keeping its files in `dir` (snapshot schedule `save`), with extra flags.
pub fn node_in(dir: &Path, save: &str, extra: &[&str]) -> Server {
    let config = node_config(dir, save, "");
    let (config, dir) = (config.display().to_string(), dir.display().to_string());
    let mut args = vec!["node", "--port", "0", "--config", &config, "--dir", &dir];
    args.extend_from_slice(extra);
    Server::spawn_redoubt(&args, None)
}

/// A redis-server process in `dir`, killed when dropped.
pub struct Redis {
    child: Child,
    pub port: u16,
}

impl Redis {
    /// Starts `redis-server` with no save schedule, its files in `dir`.
    pub fn start(dir: &Path) -> Redis {
        Self::start_with(dir, &[])
    }

    /// As [`Redis::start`], with extra arguments.
    pub fn start_with(dir: &Path, extra: &[&str]) -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--dir", &dir.display().to_string()])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let redis = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    /// A connection, once the server answers (it may still be loading its file).
    pub async fn conn(&self) -> MultiplexedConnection {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}", self.port)).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
            if pong.is_ok() {
                return conn;
            }
            assert!(Instant::now() < deadline, "redis-server kept loading");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs one command, panicking on an error reply.
pub async fn run(conn: &mut MultiplexedConnection, args: &[&str]) -> redis::Value {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(conn)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Fills databases 0 and 2 with every type, in the compact and the large encodings Redis
/// chooses by size, integers, long compressible strings, binary data and expiries.
pub async fn fill_mixed(conn: &mut MultiplexedConnection) {
    let long = "x".repeat(5000);
    let big: Vec<String> = (0..300).map(|i| format!("member-{i}")).collect();
    let ints: Vec<String> = (0..50).map(|i| (i * 1_000_003).to_string()).collect();
    run(conn, &["SET", "str", "hello"]).await;
    run(conn, &["SET", "int", "12345"]).await;
    run(conn, &["SET", "neg", "-9223372036854775808"]).await;
    run(conn, &["SET", "long", &long]).await;
    run(conn, &["SET", "ttl", "soon", "PX", "3600000"]).await;
    let mut args = vec!["RPUSH", "list-small", "a", "1", "b"];
    run(conn, &args).await;
    args = vec!["RPUSH", "list-big"];
    args.extend(big.iter().map(String::as_str));
    args.push(&long);
    run(conn, &args).await;
    args = vec!["SADD", "set-ints"];
    args.extend(ints.iter().map(String::as_str));
    run(conn, &args).await;
    run(conn, &["SADD", "set-small", "x", "y"]).await;
    args = vec!["SADD", "set-big"];
    args.extend(big.iter().map(String::as_str));
    run(conn, &args).await;
    run(conn, &["HSET", "hash-small", "f", "v", "n", "7"]).await;
    let mut hash = vec!["HSET".to_string(), "hash-big".to_string()];
    for m in &big {
        hash.push(m.clone());
        hash.push(format!("value of {m}"));
    }
    let hash: Vec<&str> = hash.iter().map(String::as_str).collect();
    run(conn, &hash).await;
    run(
        conn,
        &["ZADD", "zset-small", "1.5", "a", "-inf", "b", "3", "c"],
    )
    .await;
    let mut zset = vec!["ZADD".to_string(), "zset-big".to_string()];
    for (i, m) in big.iter().enumerate() {
        zset.push(format!("{}", i as f64 / 7.0));
        zset.push(m.clone());
    }
    let zset: Vec<&str> = zset.iter().map(String::as_str).collect();
    run(conn, &zset).await;
    fill_streams(conn).await;
    run(conn, &["EXPIRE", "hash-big", "100000"]).await;
    run(conn, &["SELECT", "2"]).await;
    run(conn, &["SET", "in-db-2", "yes"]).await;
    run(conn, &["LPUSH", "list-db-2", "z"]).await;
    run(conn, &["SELECT", "0"]).await;
}

/// Streams in every shape a snapshot must carry: blocks with the same and other fields than
/// their first entry, integer values, tombstones left by XDEL and an exact trim, several
/// blocks, consumer groups with pending entries owned by consumers, an unknown entries-read
/// counter, and an empty stream that only holds a group.
pub async fn fill_streams(conn: &mut MultiplexedConnection) {
    for seq in 1..=5 {
        let seq = seq.to_string();
        run(
            conn,
            &[
                "XADD",
                "stream-small",
                &format!("1-{seq}"),
                "f",
                &seq,
                "g",
                "text",
            ],
        )
        .await;
    }
    run(
        conn,
        &["XADD", "stream-small", "2-0", "other", "-12", "x", "yyy"],
    )
    .await;
    run(
        conn,
        &["XADD", "stream-small", "2-1", "f", "9223372036854775807"],
    )
    .await;
    run(conn, &["XDEL", "stream-small", "1-3"]).await;
    run(conn, &["XGROUP", "CREATE", "stream-small", "g1", "0"]).await;
    run(conn, &["XGROUP", "CREATE", "stream-small", "g2", "$"]).await;
    run(
        conn,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "alice",
            "COUNT",
            "3",
            "STREAMS",
            "stream-small",
            ">",
        ],
    )
    .await;
    run(
        conn,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "bob",
            "COUNT",
            "2",
            "STREAMS",
            "stream-small",
            ">",
        ],
    )
    .await;
    run(conn, &["XACK", "stream-small", "g1", "1-2"]).await;
    run(
        conn,
        &["XGROUP", "CREATECONSUMER", "stream-small", "g2", "idle-one"],
    )
    .await;
    run(conn, &["XDEL", "stream-small", "2-0"]).await;
    let long = "v".repeat(300);
    for i in 0..250 {
        let value = if i % 7 == 0 {
            long.clone()
        } else {
            i.to_string()
        };
        let id = format!("{}-{}", 1000 + i / 3, i % 3);
        if i % 5 == 0 {
            run(conn, &["XADD", "stream-big", &id, "a", &value, "b", "x"]).await;
        } else {
            run(conn, &["XADD", "stream-big", &id, "a", &value]).await;
        }
    }
    run(conn, &["XTRIM", "stream-big", "MAXLEN", "=", "230"]).await;
    run(
        conn,
        &[
            "XGROUP",
            "CREATE",
            "stream-big",
            "readers",
            "1010-0",
            "ENTRIESREAD",
            "3",
        ],
    )
    .await;
    run(
        conn,
        &[
            "XREADGROUP",
            "GROUP",
            "readers",
            "r",
            "COUNT",
            "4",
            "STREAMS",
            "stream-big",
            ">",
        ],
    )
    .await;
    run(
        conn,
        &["XGROUP", "CREATE", "stream-empty", "g", "$", "MKSTREAM"],
    )
    .await;
}

/// A stream's contents and bookkeeping as both servers report them (times left out: they
/// are relative to now).
async fn stream_contents(conn: &mut MultiplexedConnection, key: &str) -> redis::Value {
    fn pick(reply: redis::Value, names: &[&str]) -> Vec<String> {
        let redis::Value::Array(items) = reply else {
            panic!("expected an array, got {reply:?}");
        };
        items
            .chunks(2)
            .filter(|pair| {
                matches!(&pair[0], redis::Value::BulkString(name)
                    if names.contains(&String::from_utf8_lossy(name).as_ref()))
            })
            .map(|pair| format!("{pair:?}"))
            .collect()
    }
    let mut out = vec![format!("{:?}", run(conn, &["XRANGE", key, "-", "+"]).await)];
    let info = run(conn, &["XINFO", "STREAM", key]).await;
    out.extend(pick(
        info,
        &[
            "length",
            "radix-tree-keys",
            "last-generated-id",
            "max-deleted-entry-id",
            "entries-added",
            "recorded-first-entry-id",
        ],
    ));
    let redis::Value::Array(groups) = run(conn, &["XINFO", "GROUPS", key]).await else {
        panic!("XINFO GROUPS answers an array");
    };
    for group in groups {
        let fields = [
            "name",
            "consumers",
            "pending",
            "last-delivered-id",
            "entries-read",
            "lag",
        ];
        let name = match &group {
            redis::Value::Array(items) => match &items[1] {
                redis::Value::BulkString(name) => String::from_utf8_lossy(name).into_owned(),
                other => panic!("group name {other:?}"),
            },
            other => panic!("group {other:?}"),
        };
        out.extend(pick(group, &fields));
        let redis::Value::Array(pending) =
            run(conn, &["XPENDING", key, &name, "-", "+", "100"]).await
        else {
            panic!("XPENDING answers an array");
        };
        for entry in pending {
            let redis::Value::Array(mut parts) = entry else {
                panic!("pending entry")
            };
            parts.remove(2); // idle time
            out.push(format!("{parts:?}"));
        }
        let redis::Value::Array(consumers) = run(conn, &["XINFO", "CONSUMERS", key, &name]).await
        else {
            panic!("XINFO CONSUMERS answers an array");
        };
        for consumer in consumers {
            out.extend(pick(consumer, &["name", "pending"]));
        }
    }
    redis::Value::SimpleString(out.join("\n"))
}

/// Every key of databases 0..3 with its type, contents and absolute expiry (ms).
pub async fn dump_all(conn: &mut MultiplexedConnection) -> BTreeMap<(usize, String), String> {
    let mut out = BTreeMap::new();
    for db in 0..3usize {
        run(conn, &["SELECT", &db.to_string()]).await;
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(conn).await.unwrap();
        for key in keys {
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query_async(conn)
                .await
                .unwrap();
            let contents = match kind.as_str() {
                "string" => run(conn, &["GET", &key]).await,
                "list" => run(conn, &["LRANGE", &key, "0", "-1"]).await,
                "hash" => run(conn, &["HGETALL", &key]).await,
                "set" => {
                    let mut members: Vec<Vec<u8>> = redis::cmd("SMEMBERS")
                        .arg(&key)
                        .query_async(conn)
                        .await
                        .unwrap();
                    members.sort();
                    redis::Value::SimpleString(format!("{members:?}"))
                }
                "zset" => {
                    // Scores compared as doubles: Redis 7.0 prints 17 digits, 7.2 the shortest.
                    let pairs: Vec<(Vec<u8>, f64)> = redis::cmd("ZRANGE")
                        .arg(&key)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES")
                        .query_async(conn)
                        .await
                        .unwrap();
                    redis::Value::SimpleString(format!("{pairs:?}"))
                }
                "stream" => stream_contents(conn, &key).await,
                other => panic!("unexpected type {other}"),
            };
            let mut contents = contents;
            if kind == "hash" {
                // Field order is not part of a hash's value.
                if let redis::Value::Array(items) = &contents {
                    let mut pairs: Vec<(String, String)> = items
                        .chunks(2)
                        .map(|p| (format!("{:?}", p[0]), format!("{:?}", p[1])))
                        .collect();
                    pairs.sort();
                    contents = redis::Value::SimpleString(format!("{pairs:?}"));
                }
            }
            let expires: i64 = redis::cmd("PEXPIRETIME")
                .arg(&key)
                .query_async(conn)
                .await
                .unwrap();
            out.insert((db, key), format!("{kind} {contents:?} expires={expires}"));
        }
    }
    run(conn, &["SELECT", "0"]).await;
    out
}

/// Asserts two dumps are equal, reporting only the keys that differ (values shortened).
pub fn assert_same(
    expected: &BTreeMap<(usize, String), String>,
    actual: &BTreeMap<(usize, String), String>,
    what: &str,
) {
    if expected == actual {
        return;
    }
    let mut report = String::new();
    for key in expected.keys().chain(actual.keys()) {
        let (e, a) = (expected.get(key), actual.get(key));
        // Show both values from a little before their first difference.
        let from = match (e, a) {
            (Some(e), Some(a)) => e.bytes().zip(a.bytes()).take_while(|(x, y)| x == y).count(),
            _ => 0,
        };
        let short = |v: Option<&String>| {
            v.map_or("(missing)".to_string(), |v| {
                let start = from.saturating_sub(80).min(v.len());
                let end = (start + 240).min(v.len());
                format!("…{}…", String::from_utf8_lossy(&v.as_bytes()[start..end]))
            })
        };
        if e != a && !report.contains(&format!("{key:?}")) {
            report.push_str(&format!(
                "{key:?}\n  expected {}\n  actual   {}\n",
                short(expected.get(key)),
                short(actual.get(key))
            ));
        }
    }
    panic!("{what}: datasets differ\n{report}");
}
