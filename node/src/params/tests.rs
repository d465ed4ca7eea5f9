use std::collections::{BTreeMap, HashSet};

use super::table::{HIDDEN, IMMUTABLE, MULTI_ARG, PROTECTED};
use super::*;

/// `/etc/redis/redis.conf` as the redis-server 7.0.15 Debian package ships it.
const SHIPPED_CONF: &str = include_str!("redis.conf");
/// `CONFIG GET *` of redis-server 7.0.15 started from `SHIPPED_CONF`; see its header.
const SHIPPED_GET_ALL: &str = include_str!("config_get_all.txt");
/// `SHIPPED_CONF` after `CONFIG SET`s and `CONFIG REWRITE` on redis-server 7.0.15; see
/// `rewrite_matches_redis_server`.
const SHIPPED_REWRITTEN: &str = include_str!("redis.conf.rewritten");
/// The port the fixtures' redis-server was started on.
const FIXTURE_PORT: &str = "60175";
/// Parameters Redis 7.2 has and 7.0.15 did not print.
const ONLY_IN_7_2: &[&str] = &[
    "set-max-listpack-entries",
    "set-max-listpack-value",
    "locale-collate",
    "cluster-announce-human-nodename",
];

fn set(store: &mut ParamStore, pairs: &[(&str, &str)]) -> Result<Vec<&'static str>, String> {
    let pairs: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
        .collect();
    store.set(&pairs, SetContext::default())
}

fn get_one(store: &ParamStore, name: &str) -> String {
    let found = store.get(&[name.as_bytes()]);
    assert_eq!(found.len(), 1, "{name}");
    String::from_utf8(found[0].1.clone()).unwrap()
}

fn loaded(text: &str) -> Result<ParamStore, ConfError> {
    let mut store = ParamStore::new();
    load_text(&mut store, text.as_bytes()).map(|()| store)
}

fn temp_dir() -> String {
    std::fs::canonicalize(std::env::temp_dir())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The store redis-server had for the fixtures: the shipped file and its command line.
fn shipped_store() -> ParamStore {
    // Tests run in parallel threads of one process: each call gets its own directory.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("redoubt-params-{}-{call}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("redis.conf");
    std::fs::write(&file, SHIPPED_CONF).unwrap();
    let args: Vec<String> = [
        "--daemonize",
        "no",
        "--pidfile",
        "",
        "--logfile",
        "",
        "--port",
        FIXTURE_PORT,
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(["--dir".to_string(), temp_dir()])
    .collect();
    let mut store = ParamStore::new();
    load(&mut store, Some(&file), &args).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    store
}

#[test]
fn table_names_are_unique_lowercase_and_defaults_read_back() {
    let mut names = HashSet::new();
    for param in PARAMS {
        for name in std::iter::once(param.name).chain(param.alias) {
            assert!(names.insert(name), "{name} twice");
            assert_eq!(name, name.to_ascii_lowercase());
        }
        // `dir` defaults to the working directory; `replicaof` has no value to read back.
        if matches!(param.kind, Kind::Dir | Kind::ReplicaOf) {
            continue;
        }
        let args: Vec<&[u8]> = if param.has(MULTI_ARG) {
            param.default.split(' ').map(str::as_bytes).collect()
        } else {
            vec![param.default.as_bytes()]
        };
        let read = value::parse(param, &args, param.default.as_bytes());
        assert_eq!(
            read.as_deref(),
            Ok(param.default.as_bytes()),
            "{}",
            param.name
        );
    }
    // 183 in Redis 7.2's table without its two LOG_REQ_RES test parameters, and Redoubt's.
    assert_eq!(PARAMS.len(), 183 + REDOUBT_ONLY.len());
}

#[test]
fn shipped_conf_loads_to_what_redis_server_printed() {
    let store = shipped_store();
    let mut expected: BTreeMap<String, String> = SHIPPED_GET_ALL
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (name, value) = l.split_once('\t').unwrap();
            (name.to_string(), value.to_string())
        })
        .collect();
    // Hidden from globs in 7.2; an exact name still shows it.
    let hidden = expected.remove("aof-disable-auto-gc").unwrap();
    assert_eq!(get_one(&store, "aof-disable-auto-gc"), hidden);
    // The fixture ran in another directory.
    assert_eq!(
        expected.insert("dir".into(), temp_dir()).as_deref(),
        Some("/tmp/rp/d")
    );
    let mut actual: BTreeMap<String, String> = store
        .get(&[b"*"])
        .into_iter()
        .map(|(n, v)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap()))
        .collect();
    for name in ONLY_IN_7_2.iter().chain(REDOUBT_ONLY) {
        let param = find(name.as_bytes()).unwrap().0;
        assert_eq!(
            actual.remove(*name).as_deref(),
            Some(param.default),
            "{name}"
        );
    }
    assert_eq!(actual, expected);
    assert_eq!(expected.len(), 191);
}

#[test]
fn get_prints_exact_names_as_given_and_globs_lowercase_with_aliases() {
    let store = ParamStore::new();
    let found = store.get(&[b"Maxmemory", b"HZ", b"max*policy", b"maxmemory"]);
    let names: Vec<&[u8]> = found.iter().map(|(n, _)| n.as_slice()).collect();
    assert_eq!(names, [&b"Maxmemory"[..], b"HZ", b"maxmemory-policy"]);
    let slaves: HashSet<Vec<u8>> = store
        .get(&[b"SLAVE*"])
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let expected: HashSet<Vec<u8>> = [
        "slave-serve-stale-data",
        "slave-announce-port",
        "slave-ignore-maxmemory",
        "slaveof",
        "slave-announce-ip",
        "slave-priority",
        "slave-lazy-flush",
        "slave-read-only",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    assert_eq!(slaves, expected);
    assert_eq!(get_one(&store, "hash-max-ziplist-entries"), "512");
    assert!(store.get(&[b"nosuch", b"use-exit-on-*"]).is_empty());
    assert_eq!(get_one(&store, "use-exit-on-panic"), "no");
    let all = store.get(&[b"*", b"port"]);
    assert_eq!(
        all.len(),
        PARAMS
            .iter()
            .filter(|p| !p.has(HIDDEN))
            .map(|p| 1 + p.alias.iter().count())
            .sum::<usize>()
    );
}

#[test]
fn set_errors_are_redis_texts() {
    let mut store = ParamStore::new();
    let failed = |name: &str, why: &str| {
        Err(format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
        ))
    };
    type Reply = Result<Vec<&'static str>, String>;
    let cases: &[(&str, &str, Reply)] = &[
        ("maxmemory", "abc", failed("maxmemory", "argument must be a memory value")),
        ("maxmemory", "1.5mb", failed("maxmemory", "argument must be a memory value")),
        ("hz", "abc", failed("hz", "argument couldn't be parsed into an integer")),
        ("hz", "+5", failed("hz", "argument couldn't be parsed into an integer")),
        ("activerehashing", "maybe", failed("activerehashing", "argument must be 'yes' or 'no'")),
        ("maxmemory-policy", "foo", failed("maxmemory-policy", "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction")),
        ("maxmemory-eviction-tenacity", "101", failed("maxmemory-eviction-tenacity", "argument must be between 0 and 100 inclusive")),
        ("nosuch", "1", Err("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'".into())),
        ("daemonize", "yes", failed("daemonize", "can't set immutable config")),
        ("dbfilename", "x", failed("dbfilename", "can't set protected config")),
        ("maxmemory-clients", "200%", failed("maxmemory-clients", "percentage argument must be less or equal to 100")),
        ("maxmemory-clients", "x%", failed("maxmemory-clients", "argument must be a memory or percent value")),
        ("save", "1 2 3", failed("save", "Invalid save parameters")),
        ("save", "0 1", failed("save", "Invalid save parameters")),
        ("notify-keyspace-events", "Q", failed("notify-keyspace-events", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")),
        ("client-output-buffer-limit", "master 1 1 1", failed("client-output-buffer-limit", "Invalid client class specified in buffer limit configuration.")),
        ("client-output-buffer-limit", "normal 1 1", failed("client-output-buffer-limit", "Wrong number of arguments in buffer limit configuration.")),
        ("client-output-buffer-limit", "normal 1 x 1", failed("client-output-buffer-limit", "Error in hard, soft or soft_seconds setting in buffer limit configuration.")),
        ("latency-tracking-info-percentiles", "50 abc", failed("latency-tracking-info-percentiles", "Invalid latency-tracking-info-percentiles parameters")),
        ("latency-tracking-info-percentiles", "101", failed("latency-tracking-info-percentiles", "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")),
        ("port", "-1", failed("port", "argument must be between 0 and 65535 inclusive")),
        ("maxclients", "0", failed("maxclients", "argument must be between 1 and 4294967295 inclusive")),
        ("maxclients", "-5", failed("maxclients", "argument must be between 1 and 4294967295 inclusive")),
        ("hash-max-listpack-entries", "-1", failed("hash-max-listpack-entries", "argument must be between 0 and 9223372036854775807 inclusive")),
        ("oom-score-adj-values", "0 200", failed("oom-score-adj-values", "wrong number of arguments")),
        ("oom-score-adj-values", "0 200 3000", failed("oom-score-adj-values", "Invalid oom-score-adj-values, elements must be between -2000 and 2000.")),
        ("shutdown-on-sigint", "save nosave", failed("shutdown-on-sigint", "shutdown options SAVE and NOSAVE can't be used simultaneously")),
        ("slaveof", "h 1", failed("slaveof", "can't set immutable config")),
        ("SLAVE-PRIORITY", "x", failed("slave-priority", "argument couldn't be parsed into an integer")),
        ("appendfilename", "a/b", failed("appendfilename", "can't set immutable config")),
        ("cluster-announce-hostname", "a_b", failed("cluster-announce-hostname", "Hostnames may only contain alphanumeric characters, hyphens or dots")),
        ("proc-title-template", "{nosuch}", failed("proc-title-template", "template format is invalid or contains unknown variables")),
        ("proc-title-template", "{title}", failed("proc-title-template", "template format is invalid or contains unknown variables")),
    ];
    for (name, value, expected) in cases {
        assert_eq!(
            &set(&mut store, &[(name, value)]),
            expected,
            "{name} {value}"
        );
    }
    let defaults = ParamStore::new();
    assert_eq!(
        store.get(&[b"*"]),
        defaults.get(&[b"*"]),
        "a failed set changed something"
    );
}

#[test]
fn set_is_all_or_nothing_and_reports_changes() {
    let mut store = ParamStore::new();
    assert_eq!(
        set(
            &mut store,
            &[("hz", "20"), ("maxmemory", "x"), ("nosuch", "1")]
        ),
        Err("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'".into())
    );
    assert_eq!(
        set(&mut store, &[("hz", "20"), ("maxmemory", "x")]),
        Err("ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value".into())
    );
    assert_eq!(get_one(&store, "hz"), "10");
    // The first problem in argument order wins, even over an unknown name after it.
    assert_eq!(
        set(&mut store, &[("daemonize", "no"), ("nosuch", "1")]),
        Err("ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config".into())
    );
    assert_eq!(
        set(&mut store, &[("maxmemory", "1"), ("MAXMEMORY", "2")]),
        Err("ERR CONFIG SET failed (possibly related to argument 'MAXMEMORY') - duplicate parameter".into())
    );
    // A name and its alias are separate entries: the later one wins.
    assert_eq!(
        set(
            &mut store,
            &[("slave-priority", "1"), ("replica-priority", "2")]
        ),
        Ok(vec!["replica-priority"])
    );
    assert_eq!(get_one(&store, "slave-priority"), "2");
    assert_eq!(
        set(
            &mut store,
            &[("hz", "20"), ("maxmemory", "1gb"), ("timeout", "0")]
        ),
        Ok(vec!["hz", "maxmemory"])
    );
    assert_eq!(store.get_i64("hz"), Some(20));
    assert_eq!(store.get_memory("maxmemory"), Some(1 << 30));
    assert_eq!(set(&mut store, &[("hz", "20")]), Ok(vec![]));
    let loading = SetContext {
        loading: true,
        ..SetContext::default()
    };
    assert_eq!(
        store.set(&[(b"appendonly", b"yes")], loading),
        Err("LOADING Redis is loading the dataset in memory".into())
    );
}

#[test]
fn protected_configs_follow_enable_protected_configs() {
    let mut store = load_and(&["enable-protected-configs local"]);
    let dir = temp_dir();
    let remote = SetContext::default();
    let local = SetContext {
        local_client: true,
        ..remote
    };
    assert!(store.set(&[(b"dir", dir.as_bytes())], remote).is_err());
    assert_eq!(
        store.set(&[(b"dbfilename", b"x.rdb")], local),
        Ok(vec!["dbfilename"])
    );
    assert_eq!(
        store.set(&[(b"dbfilename", b"a/x.rdb")], local),
        Err("ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename".into())
    );
    assert!(store
        .set(&[(b"dir", b"/no/such/dir")], local)
        .unwrap_err()
        .ends_with("- No such file or directory"));
}

fn load_and(lines: &[&str]) -> ParamStore {
    loaded(&lines.join("\n")).unwrap()
}

#[test]
fn values_are_canonical_as_redis_prints_them() {
    let mut store = ParamStore::new();
    let cases = [
        ("maxmemory", "1K", "1000"),
        ("maxmemory", "2Kb", "2048"),
        ("maxmemory", "3mB", "3145728"),
        ("maxmemory", "1g", "1000000000"),
        ("maxmemory", "1GB", "1073741824"),
        ("maxmemory", "5b", "5"),
        ("maxmemory-clients", "5%", "5%"),
        ("maxmemory-clients", "10mb", "10485760"),
        ("activerehashing", "NO", "no"),
        ("maxmemory-policy", "ALLKEYS-LRU", "allkeys-lru"),
        ("oom-score-adj", "relative", "yes"),
        ("loglevel", "nothing", "nothing"),
        ("notify-keyspace-events", "KExg", "gxKE"),
        ("notify-keyspace-events", "mAKn", "AKm"), // `A` hides `n`, as in Redis
        ("notify-keyspace-events", "g$lshzxetd", "A"),
        ("notify-keyspace-events", "$lshzxetd", "$lshzxetd"),
        ("notify-keyspace-events", "", ""),
        ("shutdown-on-sigint", "now save", "save now"),
        ("shutdown-on-sigint", "default", "default"),
        ("save", "900 1 60 00010", "900 1 60 10"),
        ("save", "", ""),
        (
            "client-output-buffer-limit",
            "pubsub 64mb 16mb 90 replica 1gb 0 0",
            "normal 0 0 0 slave 1073741824 0 0 pubsub 67108864 16777216 90",
        ),
        (
            "client-output-buffer-limit",
            "normal 1k 2kb 3",
            "normal 1000 2048 3 slave 1073741824 0 0 pubsub 67108864 16777216 90",
        ),
        (
            "latency-tracking-info-percentiles",
            "50.0 99.90 100",
            "50 99.9 100",
        ),
        ("latency-tracking-info-percentiles", "", ""),
        ("bind", "127.0.0.1 ::1", "127.0.0.1 ::1"),
        ("list-max-listpack-size", "-1", "-1"),
        ("requirepass", "s3cret", "s3cret"),
    ];
    for (name, value, shown) in cases {
        assert_eq!(
            set(&mut store, &[(name, value)]).map(|_| ()),
            Ok(()),
            "{name} {value}"
        );
        assert_eq!(get_one(&store, name), shown, "{name} {value}");
    }
    assert_eq!(
        store.get_memory_limit("maxmemory-clients"),
        Some(MemoryLimit::Bytes(10 << 20))
    );
    assert_eq!(store.notify_flags(), 0);
    set(
        &mut store,
        &[
            ("notify-keyspace-events", "Ex"),
            ("maxmemory-clients", "7%"),
        ],
    )
    .unwrap();
    assert_eq!(store.notify_flags(), 2 | 256);
    assert_eq!(
        store.get_memory_limit("maxmemory-clients"),
        Some(MemoryLimit::Percent(7))
    );
    assert_eq!(store.get_enum("maxmemory-policy"), Some("allkeys-lru"));
    assert_eq!(store.get_bool("activerehashing"), Some(false));
    assert_eq!(store.get_str("requirepass"), Some(&b"s3cret"[..]));
    assert_eq!(store.save_points(), vec![]);
    assert_eq!(
        store.bind_addrs(),
        vec!["127.0.0.1".to_string(), "::1".to_string()]
    );
    assert_eq!(store.latency_percentiles(), Vec::<f64>::new());
    assert_eq!(store.output_buffer_limits()[0], ("normal", 1000, 2048, 3));
    assert_eq!(store.get_i64("list-max-ziplist-size"), Some(-1));
    assert_eq!(store.get_i64("maxmemory-policy"), None);
    assert_eq!(store.get_bool("maxmemory-policy"), None);
    assert_eq!(store.get_enum("hz"), None);
    assert_eq!(store.value("nosuch"), None);
}

#[test]
fn conf_file_directives() {
    let store = load_and(&[
        "# comment",
        "  port 7000  ",
        "SAVE 900 1",
        "save 300 10",
        "client-output-buffer-limit replica 1mb 2mb 3",
        "client-output-buffer-limit pubsub 0 0 0",
        "slave-read-only no",
        "hash-max-ziplist-entries 10",
        "list-max-ziplist-entries 5",
        "requirepass \"a b\\x41\"",
        "bind 10.0.0.1 10.0.0.2",
        "hz 1000",
        "replicaof example.org 6380",
    ]);
    assert_eq!(store.get_i64("port"), Some(7000));
    assert_eq!(store.save_points(), vec![(900, 1), (300, 10)]);
    assert_eq!(
        get_one(&store, "client-output-buffer-limit"),
        "normal 0 0 0 slave 1048576 2097152 3 pubsub 0 0 0"
    );
    assert_eq!(store.get_bool("replica-read-only"), Some(false));
    assert_eq!(store.get_i64("hash-max-listpack-entries"), Some(10));
    assert_eq!(store.get_str("requirepass"), Some(&b"a bA"[..]));
    assert_eq!(store.bind_addrs(), ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(store.get_i64("hz"), Some(500), "clamped as Redis does");
    assert_eq!(store.replicaof(), Some(("example.org".to_string(), 6380)));
    // A later `save ""` clears the points before it.
    assert_eq!(
        load_and(&["save 900 1", "save \"\"", "save 60 5"]).save_points(),
        vec![(60, 5)]
    );
    assert_eq!(load_and(&["save \"\""]).save_points(), vec![]);
    assert_eq!(
        load_and(&["port 1"]).save_points(),
        vec![(3600, 1), (300, 100), (60, 10000)]
    );
}

#[test]
fn conf_file_errors_are_redis_texts() {
    let fatal = |line: usize, text: &str, reason: &str| {
        format!(
            "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{reason}",
            crate::REDIS_VERSION
        )
    };
    let error = |text: &str| loaded(text).unwrap_err().to_string();
    assert_eq!(
        error("port 1\nnosuch 1"),
        fatal(2, "nosuch 1", "Bad directive or wrong number of arguments")
    );
    assert_eq!(
        error("port 1 2"),
        fatal(1, "port 1 2", "wrong number of arguments")
    );
    assert_eq!(
        error("maxmemory lots"),
        fatal(1, "maxmemory lots", "argument must be a memory value")
    );
    assert_eq!(
        error("requirepass \"x"),
        fatal(
            1,
            "requirepass \"x",
            "Unbalanced quotes in configuration line"
        )
    );
    assert_eq!(
        error("rename-command FLUSHALL \"\""),
        fatal(
            1,
            "rename-command FLUSHALL \"\"",
            "'rename-command' is not supported by Redoubt"
        )
    );
    assert_eq!(
        error("include /no/such/file").lines().last(),
        Some("Fatal error, can't open config file '/no/such/file': No such file or directory")
    );
    assert_eq!(
        error("cluster-enabled yes\nreplicaof h 1"),
        format!("\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\nreplicaof directive not allowed in cluster mode", crate::REDIS_VERSION)
    );
}

#[test]
fn include_and_command_line_apply_in_order() {
    let dir = std::env::temp_dir().join(format!("redoubt-params-include-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    std::fs::write(dir.join("conf.d/a.conf"), "maxmemory 1mb\nsave 10 1\n").unwrap();
    std::fs::write(dir.join("conf.d/b.conf"), "maxmemory 2mb\n").unwrap();
    let main = dir.join("redis.conf");
    let pattern = dir.join("conf.d/*.conf");
    std::fs::write(
        &main,
        format!("hz 5\ninclude {}\nhz 6\nsave 20 2\n", pattern.display()),
    )
    .unwrap();
    let args: Vec<String> = [
        "--hz",
        "7",
        "--save",
        "--maxmemory-policy",
        "allkeys-lru",
        "--bind 1.2.3.4 5.6.7.8",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut store = ParamStore::new();
    load(&mut store, Some(&main), &args).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(store.get_i64("hz"), Some(7));
    assert_eq!(store.get_memory("maxmemory"), Some(2 << 20));
    assert_eq!(store.save_points(), vec![], "--save without a value clears");
    assert_eq!(store.get_enum("maxmemory-policy"), Some("allkeys-lru"));
    assert_eq!(store.bind_addrs(), ["1.2.3.4", "5.6.7.8"]);
    let mut store = ParamStore::new();
    load(
        &mut store,
        None,
        &[
            "--save".into(),
            "60".into(),
            "1".into(),
            "--requirepass".into(),
            "a\"b".into(),
        ],
    )
    .unwrap();
    assert_eq!(store.save_points(), vec![(60, 1)]);
    assert_eq!(store.get_str("requirepass"), Some(&b"a\"b"[..]));
}

/// The fixture came from redis-server 7.0.15 started as `shipped_store` describes (port
/// 49901, `dir /tmp/rp/rw`), then `CONFIG SET maxmemory 100mb hz 20 save "900 1 60 5"
/// slave-read-only no notify-keyspace-events KEx client-output-buffer-limit "pubsub 64mb 16mb
/// 90" requirepass "se cret" maxmemory-clients 5% tcp-keepalive 300 appendfsync always` and
/// `CONFIG REWRITE`. Redis appends new lines in its hash table's order and adds a `user`
/// line for its ACL; the appended block is compared as a set, without the `user` line.
#[test]
fn rewrite_matches_redis_server() {
    let mut store = shipped_store();
    set(&mut store, &[("port", "49901")]).unwrap();
    set(
        &mut store,
        &[
            ("maxmemory", "100mb"),
            ("hz", "20"),
            ("save", "900 1 60 5"),
            ("slave-read-only", "no"),
            ("notify-keyspace-events", "KEx"),
            ("client-output-buffer-limit", "pubsub 64mb 16mb 90"),
            ("requirepass", "se cret"),
            ("maxmemory-clients", "5%"),
            ("tcp-keepalive", "300"),
            ("appendfsync", "always"),
        ],
    )
    .unwrap();
    let raw = rewrite(SHIPPED_CONF, &store);
    // Like redis-server's, a second rewrite only adds a blank last line (the text after the
    // final newline counts as a line); a third changes nothing.
    let second = rewrite(&raw, &store);
    assert_eq!(second, format!("{raw}\n"));
    assert_eq!(rewrite(&second, &store), second);
    let ours = raw.replace(&format!("dir \"{}\"", temp_dir()), "dir \"/tmp/rp/rw\"");
    let split = |text: &str| {
        let (kept, appended) = text.split_once("# Generated by CONFIG REWRITE\n").unwrap();
        let appended: HashSet<String> = appended
            .lines()
            .filter(|l| !l.starts_with("user "))
            .map(str::to_string)
            .collect();
        (kept.to_string(), appended)
    };
    let (our_kept, our_appended) = split(&ours);
    let (their_kept, their_appended) = split(SHIPPED_REWRITTEN);
    assert_eq!(our_kept, their_kept);
    assert_eq!(our_appended, their_appended);
}

#[test]
fn rewrite_reuses_lines_blanks_extras_and_comments_unknown() {
    let original = "# top\nport 1\nmaxmemory 1mb\nmaxmemory 2mb\n\n\nslaveof h 1\nsave 10 1\nsave 20 2\nsave 30 3\nbogus 1\nbind 0.0.0.0\n";
    let mut store = loaded(original.replace("bogus 1\n", "").as_str()).unwrap();
    set(
        &mut store,
        &[
            ("save", "40 4"),
            ("bind", "* -::*"),
            ("hz", "11"),
            ("maxmemory", "3mb"),
        ],
    )
    .unwrap();
    let dir = store
        .value("dir")
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .unwrap();
    let expected = format!(
        "# top\nport 1\nmaxmemory 3mb\n\nreplicaof h 1\nsave 40 4\n\n# ??? bogus 1\n\n# Generated by CONFIG REWRITE\nhz 11\ndir \"{dir}\"\nlatency-tracking-info-percentiles 50 99 99.9\n"
    );
    assert_eq!(rewrite(original, &store), expected);
    let reloaded = loaded(&rewrite(original, &store)).unwrap();
    assert_eq!(
        reloaded.get(&[b"*"]),
        store.get(&[b"*"]),
        "the rewritten file loads back to the same values"
    );
}

#[test]
fn effects_name_only_known_parameters() {
    let applied: Vec<&str> = PARAMS
        .iter()
        .filter(|p| p.effect == Effect::Applied)
        .map(|p| p.name)
        .collect();
    for name in [
        "port",
        "bind",
        "maxmemory",
        "save",
        "dir",
        "replicaof",
        "min-replicas-to-ack",
        "jemalloc-bg-thread",
    ] {
        assert!(applied.contains(&name), "{name}");
    }
    for name in ["io-threads", "activedefrag", "lazyfree-lazy-eviction"] {
        assert_eq!(
            find(name.as_bytes()).unwrap().0.effect,
            Effect::StoredOnly,
            "{name}"
        );
    }
    assert!(find(b"daemonize").unwrap().0.has(IMMUTABLE));
    assert!(find(b"dir").unwrap().0.has(PROTECTED));
}
