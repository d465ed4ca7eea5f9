//! Server commands: INFO DBSIZE FLUSHDB FLUSHALL TIME COMMAND CONFIG.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::{info_field, info_fields, kv_list, Raw, Reply, Server};

async fn info(c: &mut Raw, section: &str) -> String {
    let r = if section.is_empty() {
        c.q("INFO").await
    } else {
        c.cmd(&["INFO", section]).await
    };
    match r {
        Reply::Bulk(b) | Reply::Verbatim(_, b) => {
            let text = String::from_utf8(b).expect("INFO is text");
            assert!(
                text.is_empty() || text.ends_with("\r\n"),
                "INFO lines end in CRLF: {text:?}"
            );
            text
        }
        other => panic!("INFO {section}: {other}"),
    }
}

fn num(info: &str, field: &str) -> i64 {
    let v = info_field(info, field).unwrap_or_else(|| panic!("INFO lacks {field}:\n{info}"));
    v.parse()
        .unwrap_or_else(|_| panic!("INFO {field}:{v} is not an integer"))
}

#[tokio::test]
async fn info_default_sections_and_fields() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let text = info(&mut c, "").await;
    for header in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Stats",
        "# Replication",
        "# Keyspace",
    ] {
        assert!(
            text.lines().any(|l| l.trim_end() == header),
            "INFO lacks {header}:\n{text}"
        );
    }
    assert!(
        !text.contains("# Commandstats"),
        "commandstats is not a default section"
    );
    let version = info_field(&text, "redis_version").expect("redis_version");
    let parts: Vec<&str> = version.split('.').collect();
    assert!(
        parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok()),
        "redis_version {version:?}"
    );
    assert_eq!(
        info_field(&text, "redis_mode").as_deref(),
        Some("standalone")
    );
    assert_eq!(num(&text, "tcp_port"), i64::from(s.addr().port()));
    assert_eq!(num(&text, "process_id"), i64::from(s.pid()));
    assert!(num(&text, "uptime_in_seconds") >= 0);
    assert!(num(&text, "used_memory") > 0);
    assert!(info_field(&text, "used_memory_human").is_some());
    assert!(num(&text, "connected_clients") >= 1);
    assert!(num(&text, "total_connections_received") >= 1);
    num(&text, "total_commands_processed");
    num(&text, "expired_keys");
    num(&text, "keyspace_hits");
    num(&text, "keyspace_misses");
    assert_eq!(info_field(&text, "role").as_deref(), Some("master"));
    assert_eq!(num(&text, "connected_slaves"), 0);
}

#[tokio::test]
async fn info_single_sections() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let text = info(&mut c, "server").await;
    assert!(text.starts_with("# Server\r\n"), "{text}");
    assert!(!text.contains("# Clients"));
    assert!(info_field(&text, "redis_version").is_some());
    let text = info(&mut c, "MEMORY").await;
    assert!(text.starts_with("# Memory\r\n"), "{text}");
    assert!(num(&text, "used_memory") > 0);
    let text = info(&mut c, "replication").await;
    assert!(text.starts_with("# Replication\r\n"), "{text}");
    assert_eq!(info_field(&text, "role").as_deref(), Some("master"));
    let text = info(&mut c, "nosuchsection").await;
    assert!(info_fields(&text).is_empty(), "{text:?}");
}

#[tokio::test]
async fn info_clients_counts_connections() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let mut others = Vec::new();
    for _ in 0..3 {
        let mut o = s.raw().await;
        o.q("PING").await;
        others.push(o);
    }
    let text = info(&mut c, "clients").await;
    assert!(text.starts_with("# Clients\r\n"), "{text}");
    assert_eq!(num(&text, "connected_clients"), 4);
    drop(others);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = info(&mut c, "clients").await;
        if num(&text, "connected_clients") == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "closed clients still counted:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn info_stats_counts_commands_and_hits() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let before = info(&mut c, "stats").await;
    assert!(before.starts_with("# Stats\r\n"), "{before}");
    c.q("SET k v").await;
    c.q("GET k").await;
    c.q("GET k").await;
    c.q("GET missing").await;
    c.q("PING").await;
    let after = info(&mut c, "stats").await;
    // Five commands in between plus one of the two INFOs, however INFO counts itself.
    assert_eq!(
        num(&after, "total_commands_processed") - num(&before, "total_commands_processed"),
        6
    );
    assert_eq!(
        num(&after, "keyspace_hits") - num(&before, "keyspace_hits"),
        2
    );
    assert_eq!(
        num(&after, "keyspace_misses") - num(&before, "keyspace_misses"),
        1
    );
}

#[tokio::test]
async fn info_keyspace() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let text = info(&mut c, "keyspace").await;
    assert_eq!(text.trim_end(), "# Keyspace", "empty keyspace");
    c.q("MSET a 1 b 2 c 3").await;
    c.q("EXPIRE a 1000").await;
    c.q("SELECT 5").await;
    c.q("SET x y").await;
    let text = info(&mut c, "keyspace").await;
    let db0 = kv_list(&info_field(&text, "db0").expect("db0 line"));
    let names: Vec<&str> = db0.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["keys", "expires", "avg_ttl"], "{text}");
    assert_eq!(db0[0].1, "3");
    assert_eq!(db0[1].1, "1");
    let avg: i64 = db0[2].1.parse().expect("avg_ttl is an integer");
    assert!((0..=1_000_000).contains(&avg), "avg_ttl {avg}");
    assert_eq!(
        info_field(&text, "db5").as_deref(),
        Some("keys=1,expires=0,avg_ttl=0")
    );
    assert_eq!(
        info_field(&text, "db1"),
        None,
        "empty databases are omitted"
    );
}

#[tokio::test]
async fn info_commandstats() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    for i in 0..3 {
        c.cmd(&["SET", "k", &i.to_string()]).await;
    }
    c.q("GET k").await;
    c.q("INCR k").await;
    c.q("INCR k").await;
    let text = info(&mut c, "commandstats").await;
    assert!(text.starts_with("# Commandstats\r\n"), "{text}");
    let stat = |name: &str| -> Vec<(String, String)> {
        kv_list(
            &info_field(&text, &format!("cmdstat_{name}"))
                .unwrap_or_else(|| panic!("no cmdstat_{name}:\n{text}")),
        )
    };
    let set = stat("set");
    let names: Vec<&str> = set.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        &names[..3],
        ["calls", "usec", "usec_per_call"],
        "cmdstat_set fields"
    );
    assert!(names.contains(&"rejected_calls") && names.contains(&"failed_calls"));
    assert_eq!(set[0].1, "3", "cmdstat_set calls");
    assert_eq!(stat("get")[0].1, "1", "cmdstat_get calls");
    assert_eq!(stat("incr")[0].1, "2", "cmdstat_incr calls");
    assert!(
        info_field(&text, "cmdstat_mset").is_none(),
        "unused commands are omitted"
    );

    // INFO all / everything include it too.
    let all = info(&mut c, "all").await;
    assert!(all.contains("# Commandstats"));
    assert!(all.contains("# Keyspace"));
    let everything = info(&mut c, "everything").await;
    assert!(everything.contains("cmdstat_set:calls=3,"));
}

#[tokio::test]
async fn dbsize_flushdb_flushall() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("DBSIZE", ":0"),
        ("MSET a 1 b 2 c 3", "+OK"),
        ("DBSIZE", ":3"),
        ("SELECT 1", "+OK"),
        ("SET x 1", "+OK"),
        ("DBSIZE", ":1"),
        ("FLUSHDB", "+OK"),
        ("DBSIZE", ":0"),
        ("SELECT 0", "+OK"),
        ("DBSIZE", ":3"),
        ("SELECT 2", "+OK"),
        ("SET y 2", "+OK"),
        ("FLUSHALL", "+OK"),
        ("DBSIZE", ":0"),
        ("SELECT 0", "+OK"),
        ("DBSIZE", ":0"),
        ("SET z 1", "+OK"),
        ("FLUSHDB ASYNC", "+OK"),
        ("DBSIZE", ":0"),
        ("SET z 1", "+OK"),
        ("FLUSHALL SYNC", "+OK"),
        ("DBSIZE", ":0"),
        ("FLUSHDB FOO", "-ERR syntax error"),
        ("FLUSHALL FOO", "-ERR syntax error"),
    ])
    .await;
}

#[tokio::test]
async fn time() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let r = c.q("TIME").await;
    let parts = r.array();
    assert_eq!(parts.len(), 2, "TIME: {r}");
    assert!(
        matches!(parts[0], Reply::Bulk(_)),
        "TIME replies with bulk strings: {r}"
    );
    let secs: u64 = parts[0].text().parse().unwrap();
    let micros: u64 = parts[1].text().parse().unwrap();
    assert!(micros < 1_000_000);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.abs_diff(now) <= 2, "TIME {secs} vs now {now}");
}

/// One COMMAND INFO entry: name, arity, flags, first key, last key, step.
fn entry(r: &Reply) -> (String, i64, Vec<String>, i64, i64, i64) {
    let a = r.array();
    assert!(a.len() >= 6, "COMMAND entry {r}");
    let flags = a[2].array().iter().map(|f| f.text()).collect();
    (
        a[0].text(),
        a[1].int(),
        flags,
        a[3].int(),
        a[4].int(),
        a[5].int(),
    )
}

#[tokio::test]
async fn command_info_count_list() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let r = c.q("COMMAND INFO get set mset del nosuchcmd").await;
    let a = r.array();
    assert_eq!(a.len(), 5, "{r}");
    let (name, arity, flags, first, last, step) = entry(&a[0]);
    assert_eq!(
        (name.as_str(), arity, first, last, step),
        ("get", 2, 1, 1, 1)
    );
    assert!(
        flags.contains(&"readonly".to_string()),
        "get flags {flags:?}"
    );
    let (name, arity, flags, first, last, step) = entry(&a[1]);
    assert_eq!(
        (name.as_str(), arity, first, last, step),
        ("set", -3, 1, 1, 1)
    );
    assert!(flags.contains(&"write".to_string()), "set flags {flags:?}");
    let (name, arity, _, first, last, step) = entry(&a[2]);
    assert_eq!(
        (name.as_str(), arity, first, last, step),
        ("mset", -3, 1, -1, 2)
    );
    let (name, arity, _, first, last, step) = entry(&a[3]);
    assert_eq!(
        (name.as_str(), arity, first, last, step),
        ("del", -2, 1, -1, 1)
    );
    assert_eq!(a[4], Reply::Nil);

    let count = c.int("COMMAND COUNT").await;
    let list = c.q("COMMAND LIST").await;
    let names: Vec<String> = list.array().iter().map(|n| n.text()).collect();
    // COMMAND LIST also names subcommands (`client|id`); COMMAND COUNT counts only commands.
    let top = names.iter().filter(|n| !n.contains('|')).count();
    assert_eq!(
        top as i64, count,
        "COMMAND LIST has COMMAND COUNT top-level names"
    );
    let wanted = [
        "ping",
        "echo",
        "quit",
        "hello",
        "select",
        "auth",
        "client",
        "info",
        "dbsize",
        "flushdb",
        "flushall",
        "time",
        "command",
        "config",
        "get",
        "set",
        "setnx",
        "setex",
        "psetex",
        "mget",
        "mset",
        "msetnx",
        "getset",
        "getdel",
        "getex",
        "append",
        "strlen",
        "incr",
        "decr",
        "incrby",
        "decrby",
        "incrbyfloat",
        "getrange",
        "setrange",
        "del",
        "unlink",
        "exists",
        "type",
        "expire",
        "pexpire",
        "expireat",
        "pexpireat",
        "expiretime",
        "pexpiretime",
        "ttl",
        "pttl",
        "persist",
        "rename",
        "renamenx",
        "keys",
        "scan",
        "randomkey",
        "touch",
        "copy",
        "object",
    ];
    for w in wanted {
        assert!(names.iter().any(|n| n == w), "COMMAND LIST lacks {w}");
    }

    // Subcommands are nested under their container.
    let client = c.q("COMMAND INFO client").await;
    let client = client.array()[0].array();
    assert!(
        client.len() >= 10,
        "COMMAND INFO client: 10 fields in Redis 7"
    );
    let subs: Vec<String> = client[9]
        .array()
        .iter()
        .map(|e| e.array()[0].text())
        .collect();
    assert!(subs.contains(&"client|setname".to_string()), "{subs:?}");
}

/// `COMMAND` without arguments: every command, consistent with COMMAND COUNT and COMMAND INFO.
#[tokio::test]
async fn command_without_arguments() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let count = c.int("COMMAND COUNT").await;
    let all = c.q("COMMAND").await;
    assert_eq!(
        all.array().len() as i64,
        count,
        "COMMAND lists COMMAND COUNT entries"
    );
    let get = all
        .array()
        .iter()
        .find(|e| e.array()[0].text() == "get")
        .expect("COMMAND includes get");
    assert_eq!(entry(get).1, 2);
    // Every entry in COMMAND is consistent with COMMAND INFO.
    let info = c.q("COMMAND INFO incrbyfloat").await;
    assert!(all.array().contains(&info.array()[0]));
}

#[tokio::test]
async fn command_docs() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let r = c.q("COMMAND DOCS get set").await;
    let docs = r.pairs();
    assert_eq!(docs.len(), 2, "{r}");
    for (name, doc) in &docs {
        let name = name.text();
        assert!(name == "get" || name == "set", "{name}");
        let summary = doc
            .get("summary")
            .unwrap_or_else(|| panic!("{name}: no summary"));
        assert!(!summary.text().is_empty());
        assert!(doc.get("since").is_some(), "{name}: no since");
        assert_eq!(doc.get("group").unwrap().text(), "string");
        let args = doc
            .get("arguments")
            .unwrap_or_else(|| panic!("{name}: no arguments"));
        let first = &args.array()[0];
        assert_eq!(first.get("name").unwrap().text(), "key");
        assert_eq!(first.get("type").unwrap().text(), "key");
    }
    let r = c.q("COMMAND DOCS nosuchcmd").await;
    assert!(r.pairs().is_empty(), "{r}");
    // RESP3: a map.
    c.q("HELLO 3").await;
    let r = c.q("COMMAND DOCS get").await;
    assert!(matches!(r, Reply::Map(_)), "COMMAND DOCS in RESP3: {r}");
}

#[tokio::test]
async fn config_get_set() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("CONFIG GET maxmemory", "[\"maxmemory\", \"0\"]"),
        (
            "CONFIG GET proto-max-bulk-len",
            "[\"proto-max-bulk-len\", \"536870912\"]",
        ),
        ("CONFIG GET databases", "[\"databases\", \"16\"]"),
        ("CONFIG GET nosuchparam", "[]"),
        ("CONFIG SET maxmemory 1000000", "+OK"),
        ("CONFIG GET maxmemory", "[\"maxmemory\", \"1000000\"]"),
        ("CONFIG SET maxmemory 100mb", "+OK"),
        ("CONFIG GET maxmemory", "[\"maxmemory\", \"104857600\"]"),
        ("CONFIG SET maxmemory 0", "+OK"),
        (
            "CONFIG GET maxmemory-policy",
            "[\"maxmemory-policy\", \"noeviction\"]",
        ),
        ("CONFIG SET maxmemory-policy allkeys-lru", "+OK"),
        (
            "CONFIG GET maxmemory-policy",
            "[\"maxmemory-policy\", \"allkeys-lru\"]",
        ),
        (
            "CONFIG SET",
            "-ERR wrong number of arguments for 'config|set' command",
        ),
    ])
    .await;
    // Glob patterns and several parameters at once.
    let r = c.q("CONFIG GET maxmemory*").await;
    let names: Vec<String> = r.pairs().iter().map(|(k, _)| k.text()).collect();
    assert!(names.contains(&"maxmemory".to_string()), "{r}");
    assert!(names.contains(&"maxmemory-policy".to_string()), "{r}");
    let r = c.q("CONFIG GET maxmemory databases").await;
    assert_eq!(r.get("databases"), Some(Reply::bulk("16")), "{r}");
    assert_eq!(r.get("maxmemory"), Some(Reply::bulk("0")), "{r}");
    let e = c.err("CONFIG SET nosuchparam 1").await;
    assert!(e.starts_with("ERR "), "{e}");
    let e = c.err("CONFIG SET maxmemory notasize").await;
    assert!(e.starts_with("ERR "), "{e}");
    let e = c.err("CONFIG SET maxmemory-policy nosuchpolicy").await;
    assert!(e.starts_with("ERR "), "{e}");
    assert_eq!(
        c.q("CONFIG GET maxmemory-policy").await.to_string(),
        "[\"maxmemory-policy\", \"allkeys-lru\"]"
    );
    let e = c.err("CONFIG FOO").await;
    assert!(e.starts_with("ERR unknown subcommand 'FOO'"), "{e}");
}

/// `used_memory` follows the data: it grows with values and falls when they are deleted or expire.
#[tokio::test]
async fn used_memory_tracks_data() {
    // A small backlog: the stream it keeps of these writes would otherwise hold 20 MB.
    let s = Server::start(&["--repl-backlog-size", "1mb"]);
    let mut c = s.raw().await;
    let used = |text: String| num(&text, "used_memory");
    let base = used(info(&mut c, "memory").await);
    let value = "v".repeat(10 * 1024);
    let mut batch = Vec::new();
    for i in 0..2000 {
        batch.extend(crate::common::encode(&[
            "SET",
            &format!("mem:{i}"),
            &value,
            "PX",
            "300",
        ]));
    }
    c.send(&batch).await;
    for _ in 0..2000 {
        assert_eq!(c.read_reply().await, Reply::ok());
    }
    let grown = used(info(&mut c, "memory").await);
    assert!(
        grown >= base + 15_000_000,
        "20 MB of values: used_memory {base} -> {grown}"
    );
    // Never touched again: active expiry must give the memory back.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = used(info(&mut c, "memory").await);
        if now < base + 5_000_000 {
            break;
        }
        // The connection that sent the 20 MB pipeline must give back its buffers too.
        assert!(
            Instant::now() < deadline,
            "expired values still hold memory: used_memory {base} -> {grown} -> {now}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And DEL frees a big value at once.
    let big = "b".repeat(20 * 1024 * 1024);
    c.cmd(&["SET", "big", &big]).await;
    let with_big = used(info(&mut c, "memory").await);
    assert!(
        with_big >= base + 19_000_000,
        "used_memory with a 20 MB value: {with_big}"
    );
    assert_eq!(c.int("DEL big").await, 1);
    let after = used(info(&mut c, "memory").await);
    assert!(
        after < with_big - 15_000_000,
        "used_memory after DEL: {with_big} -> {after}"
    );
}

#[tokio::test]
async fn commandstats_count_failed_and_rejected_calls() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.q("SET s abc").await;
    c.q("INCR s").await;
    c.q("INCR s").await;
    c.q("INCR n").await;
    c.q("GET").await;
    c.q("GET a b").await;
    let text = info(&mut c, "commandstats").await;
    let stat = |name: &str| -> Vec<(String, String)> {
        kv_list(
            &info_field(&text, &format!("cmdstat_{name}"))
                .unwrap_or_else(|| panic!("no cmdstat_{name}:\n{text}")),
        )
    };
    let field = |fields: &[(String, String)], name: &str| -> String {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .unwrap_or_else(|| panic!("no {name} in {fields:?}"))
            .1
            .clone()
    };
    let incr = stat("incr");
    assert_eq!(field(&incr, "calls"), "3", "cmdstat_incr");
    assert_eq!(field(&incr, "failed_calls"), "2", "cmdstat_incr");
    assert_eq!(field(&incr, "rejected_calls"), "0", "cmdstat_incr");
    let get = stat("get");
    assert_eq!(field(&get, "calls"), "0", "cmdstat_get");
    assert_eq!(field(&get, "rejected_calls"), "2", "cmdstat_get");
    assert_eq!(field(&get, "failed_calls"), "0", "cmdstat_get");
}

#[tokio::test]
async fn info_memory_reports_maxmemory() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    assert_eq!(c.q("CONFIG SET maxmemory 1000000").await, Reply::ok());
    let text = info(&mut c, "memory").await;
    assert_eq!(num(&text, "maxmemory"), 1_000_000);
    assert!(info_field(&text, "maxmemory_human").is_some(), "{text}");
    assert_eq!(
        info_field(&text, "maxmemory_policy").as_deref(),
        Some("noeviction")
    );
}

#[tokio::test]
async fn flushall_empties_the_keyspace_info() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.q("SET a 1 EX 100").await;
    c.q("SELECT 3").await;
    c.q("SET b 1").await;
    c.q("FLUSHALL").await;
    let text = info(&mut c, "keyspace").await;
    assert_eq!(text.trim_end(), "# Keyspace", "after FLUSHALL");
}

/// `COMMAND DOCS` without arguments (what redis-cli 7 asks for its hints): every command.
#[tokio::test]
async fn command_docs_for_all_commands() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let count = c.int("COMMAND COUNT").await;
    let r = c.q("COMMAND DOCS").await;
    let docs = r.pairs();
    assert_eq!(
        docs.len() as i64,
        count,
        "COMMAND DOCS covers every command"
    );
    let set = docs
        .iter()
        .find(|(k, _)| k.text() == "set")
        .map(|(_, v)| v.clone())
        .expect("COMMAND DOCS includes set");
    let args = set.get("arguments").expect("set has arguments");
    let names: Vec<String> = args
        .array()
        .iter()
        .map(|a| a.get("name").unwrap().text())
        .collect();
    assert_eq!(&names[..2], ["key", "value"], "SET arguments {names:?}");
}
