//! Configuration: the node started from Redis's own `redis.conf` and `--name value` arguments,
//! `CONFIG GET` with several glob patterns, atomic `CONFIG SET`, `CONFIG RESETSTAT`,
//! `CONFIG REWRITE` and `CONFIG HELP`.

use crate::common::{info_field, test_dir, Raw, Reply, Server, Target};

/// `/etc/redis/redis.conf` as the redis-server 7.0.15 Debian package ships it.
const SHIPPED_CONF: &str = include_str!("../../node/src/params/redis.conf");
/// `CONFIG GET *` of redis-server 7.0.15 started from `SHIPPED_CONF` (see its header).
const SHIPPED_GET_ALL: &str = include_str!("../../node/src/params/config_get_all.txt");

/// A fresh directory for one test's files.
fn dir(name: &str) -> std::path::PathBuf {
    let dir = test_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts the server under test from `file` (first argument, as redis-server takes it) with
/// `args` after it, on a free port, in `dir`.
fn start_from_file(file: &std::path::Path, dir: &std::path::Path, args: &[&str]) -> Server {
    let file = file.to_str().unwrap();
    let dir = dir.to_str().unwrap();
    let mut all = vec!["node", file, "--port", "0", "--dir", dir];
    all.extend_from_slice(args);
    Server::spawn_redoubt(&all, None)
}

async fn get_all(c: &mut Raw) -> Vec<(String, String)> {
    c.q("CONFIG GET *")
        .await
        .pairs()
        .iter()
        .map(|(k, v)| (k.text(), v.text()))
        .collect()
}

async fn get(c: &mut Raw, name: &str) -> String {
    let r = c.cmd(&["CONFIG", "GET", name]).await;
    r.get(name)
        .map(|v| v.text())
        .unwrap_or_else(|| panic!("{name}: {r}"))
}

/// Every value redis-server 7.0.15 printed for the shipped file is what the node prints,
/// except the port and directory (given on the command line), `repl-backlog-size` (the
/// node's default is 64 MB; the file leaves it commented out) and the parameters Redis 7.2
/// changed (see the fixture's header).
#[tokio::test]
async fn starts_from_redis_conf_and_honours_it() {
    if crate::common::target() != Target::Redoubt {
        return; // the shared starter gives redis-server no file; the fixture is its output
    }
    let dir = dir("shipped-conf");
    let file = dir.join("redis.conf");
    std::fs::write(&file, SHIPPED_CONF).unwrap();
    let s = start_from_file(
        &file,
        &dir,
        &["--daemonize", "no", "--pidfile", "", "--logfile", ""],
    );
    let mut c = s.raw().await;
    let ours: std::collections::HashMap<String, String> =
        get_all(&mut c).await.into_iter().collect();
    let skip = ["port", "dir", "repl-backlog-size", "aof-disable-auto-gc"];
    let mut compared = 0;
    for line in SHIPPED_GET_ALL.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.split_once('\t').unwrap();
        if skip.contains(&name) {
            continue;
        }
        assert_eq!(ours.get(name).map(String::as_str), Some(value), "{name}");
        compared += 1;
    }
    assert!(compared > 150, "{compared} parameters compared");
    assert_eq!(get(&mut c, "bind").await, "127.0.0.1 -::1");
    assert_eq!(get(&mut c, "daemonize").await, "no");
    assert_eq!(get(&mut c, "port").await, s.addr().port().to_string());
    let info = match c.cmd(&["INFO", "server"]).await {
        Reply::Bulk(b) => String::from_utf8(b).unwrap(),
        other => panic!("{other}"),
    };
    assert_eq!(
        info_field(&info, "config_file").as_deref(),
        Some(std::fs::canonicalize(&file).unwrap().to_str().unwrap())
    );
}

/// Any parameter is a flag, as with redis-server; later flags win over the file.
#[tokio::test]
async fn parameters_as_flags() {
    let s = Server::start(&[
        "--maxmemory",
        "1gb",
        "--maxmemory-policy",
        "allkeys-lfu",
        "--hz",
        "20",
        "--save",
        "",
        "--list-max-listpack-size",
        "-3",
    ]);
    let mut c = s.raw().await;
    assert_eq!(get(&mut c, "maxmemory").await, "1073741824");
    assert_eq!(get(&mut c, "maxmemory-policy").await, "allkeys-lfu");
    assert_eq!(get(&mut c, "hz").await, "20");
    assert_eq!(get(&mut c, "save").await, "");
    assert_eq!(get(&mut c, "list-max-listpack-size").await, "-3");
}

#[tokio::test]
async fn get_with_several_patterns_and_atomic_set() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let r = c.q("CONFIG GET maxmemory-p* lfu-* hz").await;
    let mut names: Vec<String> = r.pairs().iter().map(|(k, _)| k.text()).collect();
    names.sort();
    assert_eq!(
        names,
        ["hz", "lfu-decay-time", "lfu-log-factor", "maxmemory-policy"],
        "{r}"
    );
    assert_eq!(
        c.q("CONFIG SET maxmemory 10mb maxmemory-policy volatile-ttl hz 50")
            .await,
        Reply::ok()
    );
    assert_eq!(get(&mut c, "maxmemory").await, "10485760");
    assert_eq!(get(&mut c, "maxmemory-policy").await, "volatile-ttl");
    // One bad pair: nothing changes, and the error names it.
    let e = c
        .err("CONFIG SET maxmemory 20mb lfu-log-factor -1 hz 40")
        .await;
    assert_eq!(
        e,
        "ERR CONFIG SET failed (possibly related to argument 'lfu-log-factor') - argument must be between 0 and 2147483647 inclusive"
    );
    assert_eq!(get(&mut c, "maxmemory").await, "10485760");
    assert_eq!(get(&mut c, "hz").await, "50");
    assert_eq!(
        c.err("CONFIG SET hz 10 hz 20").await,
        "ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter"
    );
    assert_eq!(
        c.err("CONFIG SET databases 3").await,
        "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
    );
    assert_eq!(
        c.err("CONFIG SET nosuch 3").await,
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    );
    assert_eq!(
        c.err("CONFIG SET appendonly maybe").await,
        "ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"
    );
    // A value accepted and stored even where the node has nothing behind it.
    assert_eq!(c.q("CONFIG SET slowlog-max-len 7").await, Reply::ok());
    assert_eq!(get(&mut c, "slowlog-max-len").await, "7");
    // `hz` is clamped to 500, as Redis stores it.
    assert_eq!(c.q("CONFIG SET hz 1000").await, Reply::ok());
    assert_eq!(get(&mut c, "hz").await, "500");
    let help = c.q("CONFIG HELP").await;
    let Reply::Array(lines) = help else {
        panic!("{help}")
    };
    assert!(lines[0].text().starts_with("CONFIG <subcommand>"));
    assert_eq!(lines.len(), 11);
}

#[tokio::test]
async fn resetstat_clears_the_statistics() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.q("SET a 1").await;
    c.q("GET a").await;
    c.q("GET nosuch").await;
    c.err("INCR nosuch-number-x y").await;
    assert_eq!(c.q("CONFIG RESETSTAT").await, Reply::ok());
    let info = match c.q("INFO all").await {
        Reply::Bulk(b) => String::from_utf8(b).unwrap(),
        other => panic!("{other}"),
    };
    for field in [
        "keyspace_hits",
        "keyspace_misses",
        "expired_keys",
        "evicted_keys",
        "total_error_replies",
    ] {
        assert_eq!(info_field(&info, field).as_deref(), Some("0"), "{field}");
    }
    // Only INFO itself has run since.
    assert!(info_field(&info, "cmdstat_get").is_none(), "{info}");
    assert!(info_field(&info, "errorstat_ERR").is_none(), "{info}");
    let processed: u64 = info_field(&info, "total_commands_processed")
        .unwrap()
        .parse()
        .unwrap();
    assert!(processed <= 1, "{processed}");
}

#[tokio::test]
async fn rewrite_needs_a_file() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    assert_eq!(
        c.err("CONFIG REWRITE").await,
        "ERR The server is running without a config file"
    );
}

/// `CONFIG REWRITE` keeps the file's comments and order and writes the changed values.
#[tokio::test]
async fn rewrite_keeps_comments_and_writes_values() {
    if crate::common::target() != Target::Redoubt {
        return;
    }
    let dir = dir("rewrite-conf");
    let file = dir.join("node.conf");
    std::fs::write(
        &file,
        "# The node's file\nmaxmemory 1mb\n\n# eviction\nmaxmemory-policy noeviction\n",
    )
    .unwrap();
    let s = start_from_file(&file, &dir, &[]);
    let mut c = s.raw().await;
    assert_eq!(
        c.q("CONFIG SET maxmemory 2mb maxmemory-policy allkeys-lru slowlog-max-len 9")
            .await,
        Reply::ok()
    );
    assert_eq!(c.q("CONFIG REWRITE").await, Reply::ok());
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# The node's file");
    assert_eq!(lines[1], "maxmemory 2mb");
    assert!(lines.contains(&"# eviction"), "{text}");
    assert!(lines.contains(&"maxmemory-policy allkeys-lru"), "{text}");
    assert!(lines.contains(&"slowlog-max-len 9"), "{text}");
    // The rewritten file starts a node with the same values.
    drop(s);
    let s = start_from_file(&file, &dir, &[]);
    let mut c = s.raw().await;
    assert_eq!(get(&mut c, "maxmemory").await, "2097152");
    assert_eq!(get(&mut c, "slowlog-max-len").await, "9");

    // A TOML file is rewritten key by key.
    let toml = dir.join("node.toml");
    std::fs::write(&toml, "# sync\nmin-replicas-to-ack = 0\nhz = 15\n").unwrap();
    let s = start_from_file(&toml, &dir, &[]);
    let mut c = s.raw().await;
    assert_eq!(get(&mut c, "hz").await, "15");
    assert_eq!(c.q("CONFIG SET hz 25 maxmemory 3mb").await, Reply::ok());
    assert_eq!(c.q("CONFIG REWRITE").await, Reply::ok());
    let text = std::fs::read_to_string(&toml).unwrap();
    assert!(
        text.starts_with("# sync\nmin-replicas-to-ack = \"0\"\nhz = \"25\"\n"),
        "{text}"
    );
    assert!(text.contains("maxmemory = \"3145728\""), "{text}");
}
