//! Server introspection: SLOWLOG, LATENCY (monitor events and per-command histograms), INFO
//! latencystats and errorstats, MONITOR, LOLWUT, COMMAND GETKEYSANDFLAGS, CLIENT NO-TOUCH and
//! `hll-sparse-max-bytes`. Every test but CLIENT NO-TOUCH (Redis 7.2) also runs against
//! redis-server.

use std::time::Duration;

use crate::common::{encode, info_field, target, Raw, Reply, Server, Target};

/// A script that keeps the server busy for tens of milliseconds (a slow command for the slow
/// log and the latency monitor without `DEBUG SLEEP`).
const BUSY_SCRIPT: &str = "local i = 0 while i < 3000000 do i = i + 1 end return 1";

async fn info(c: &mut Raw, section: &str) -> String {
    c.cmd(&["INFO", section]).await.text()
}

fn texts(reply: &Reply) -> Vec<String> {
    reply.array().iter().map(Reply::text).collect()
}

/// The slow log's entries as `(id, µs, args, peer, name)`, newest first.
async fn slowlog(c: &mut Raw) -> Vec<(i64, i64, Vec<String>, String, String)> {
    let reply = c.q("SLOWLOG GET -1").await;
    reply
        .array()
        .iter()
        .map(|entry| {
            let fields = entry.array();
            assert_eq!(fields.len(), 6, "an entry has six fields: {entry}");
            assert!(fields[1].int() > 1_600_000_000, "unix time: {entry}");
            (
                fields[0].int(),
                fields[2].int(),
                texts(&fields[3]),
                fields[4].text(),
                fields[5].text(),
            )
        })
        .collect()
}

#[tokio::test]
async fn slowlog_logs_commands_as_redis_does() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let me = c.local_addr().to_string();
    c.table(&[
        ("CONFIG SET slowlog-log-slower-than 0", "+OK"),
        ("SLOWLOG RESET", "+OK"),
        ("CLIENT SETNAME nm", "+OK"),
    ])
    .await;
    let long = "x".repeat(200);
    assert_eq!(c.cmd(&["SET", "b", &long]).await, Reply::ok());
    let mut rpush = vec!["RPUSH".to_string(), "l".to_string()];
    rpush.extend((0..40).map(|i| i.to_string()));
    assert_eq!(c.cmd(&rpush).await.int(), 40);
    assert!(c.q("AUTH secret").await.err().starts_with("ERR AUTH"));
    c.table(&[
        ("MULTI", "+OK"),
        ("SET a 1", "+QUEUED"),
        ("EXEC", "[+OK]"),
        ("EVAL \"redis.call('set','x','1') return 1\" 0", ":1"),
    ])
    .await;
    let entries = slowlog(&mut c).await;
    let find = |first: &[&str]| {
        entries
            .iter()
            .find(|e| e.2.len() >= first.len() && e.2[..first.len()] == *first)
            .unwrap_or_else(|| panic!("no entry for {first:?} in {entries:?}"))
            .clone()
    };
    // Newest first, ids one apart.
    for pair in entries.windows(2) {
        assert_eq!(pair[0].0, pair[1].0 + 1, "{entries:?}");
    }
    let set = find(&["SET", "b"]);
    assert_eq!(set.2[2], format!("{}... (72 more bytes)", "x".repeat(128)));
    assert_eq!((set.3.as_str(), set.4.as_str()), (me.as_str(), "nm"));
    let rpush = find(&["RPUSH"]);
    assert_eq!(rpush.2.len(), 32);
    assert_eq!(rpush.2[30], "28");
    assert_eq!(rpush.2[31], "... (11 more arguments)");
    assert_eq!(find(&["AUTH"]).2, vec!["AUTH", "(redacted)"]);
    assert_eq!(find(&["SET", "a", "1"]).3, me);
    // EXEC is never logged (`skip_slowlog`); a script's call is, before the script, as `?:0`.
    assert!(!entries.iter().any(|e| e.2[0] == "EXEC"), "{entries:?}");
    let inner = find(&["set", "x", "1"]);
    assert_eq!((inner.3.as_str(), inner.4.as_str()), ("?:0", ""));
    let eval = find(&["EVAL"]);
    assert!(eval.0 > inner.0, "the script is logged after its call");

    let len = c.int("SLOWLOG LEN").await;
    assert_eq!(
        len as usize,
        entries.len() + 1,
        "SLOWLOG GET itself was logged"
    );
    assert_eq!(c.q("SLOWLOG GET 2").await.array().len(), 2);
    assert_eq!(c.q("SLOWLOG GET").await.array().len(), 10);
    assert_eq!(c.q("SLOWLOG GET 0").await.array().len(), 0);
    for bad in ["SLOWLOG GET -2", "SLOWLOG GET x"] {
        assert_eq!(
            c.err(bad).await,
            "ERR count should be greater than or equal to -1"
        );
    }
    assert_eq!(
        c.err("SLOWLOG LEN 1").await,
        "ERR wrong number of arguments for 'slowlog|len' command"
    );
    assert_eq!(
        c.err("SLOWLOG FOO").await,
        "ERR unknown subcommand 'FOO'. Try SLOWLOG HELP."
    );
    let help = texts(&c.q("SLOWLOG HELP").await);
    assert_eq!(
        help[0],
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert_eq!(help.last().unwrap(), "    Prints this help.");

    // slowlog-max-len trims at the next entry; -1 turns the log off.
    c.table(&[
        ("CONFIG SET slowlog-max-len 2", "+OK"),
        ("PING", "+PONG"),
        ("SLOWLOG LEN", ":2"),
        ("CONFIG SET slowlog-log-slower-than -1", "+OK"),
        ("SLOWLOG RESET", "+OK"),
        ("PING", "+PONG"),
        ("SLOWLOG LEN", ":0"),
        ("CONFIG SET slowlog-log-slower-than 1000000", "+OK"),
        ("PING", "+PONG"),
        ("SLOWLOG LEN", ":0"),
    ])
    .await;
}

#[tokio::test]
async fn latency_monitor_samples_slow_commands() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let doctor = c.q("LATENCY DOCTOR").await.text();
    assert!(
        doctor.starts_with("I'm sorry, Dave, I can't do that. Latency monitoring is disabled"),
        "{doctor}"
    );
    c.table(&[
        ("CONFIG SET latency-monitor-threshold 1", "+OK"),
        ("LATENCY LATEST", "[]"),
        ("LATENCY HISTORY command", "[]"),
        (
            "LATENCY GRAPH command",
            "-ERR No samples available for event 'command'",
        ),
    ])
    .await;
    let doctor = c.q("LATENCY DOCTOR").await.text();
    assert!(
        doctor.starts_with("Dave, no latency spike was observed"),
        "{doctor}"
    );
    assert_eq!(c.cmd(&["EVAL", BUSY_SCRIPT, "0"]).await.int(), 1);

    let latest = c.q("LATENCY LATEST").await;
    let event = latest
        .array()
        .iter()
        .find(|e| e.array()[0].text() == "command")
        .unwrap_or_else(|| panic!("no command event: {latest}"))
        .array()
        .to_vec();
    assert_eq!(event.len(), 4);
    let (time, ms, max) = (event[1].int(), event[2].int(), event[3].int());
    assert!(time > 1_600_000_000 && ms >= 1 && max >= ms, "{latest}");
    let history = c.q("LATENCY HISTORY command").await;
    let last = history.array().last().expect("a sample").array().to_vec();
    assert_eq!((last[0].int(), last[1].int()), (time, ms));

    let graph = c.q("LATENCY GRAPH command").await.text();
    let lines: Vec<&str> = graph.lines().collect();
    assert_eq!(
        lines[0],
        format!("command - high {ms} ms, low {ms} ms (all time high {max} ms)")
    );
    assert_eq!(lines[1], "-".repeat(80));
    // One sample: four graph rows (the sample at the bottom), a margin, then its age.
    assert_eq!(&lines[2..7], &[" ", " ", " ", "_", " "]);
    assert!(lines[7..].concat().ends_with('s'), "{graph}");

    let doctor = c.q("LATENCY DOCTOR").await.text();
    assert!(
        doctor.starts_with("Dave, I have observed latency spikes"),
        "{doctor}"
    );
    assert!(
        doctor.contains(&format!(
            "1. command: 1 latency spikes (average {ms}ms, mean deviation 0ms"
        )),
        "{doctor}"
    );
    c.table(&[
        ("LATENCY RESET nosuch", ":0"),
        ("LATENCY RESET", ":1"),
        ("LATENCY LATEST", "[]"),
        (
            "LATENCY FOO",
            "-ERR unknown subcommand 'FOO'. Try LATENCY HELP.",
        ),
        (
            "LATENCY GRAPH",
            "-ERR wrong number of arguments for 'latency|graph' command",
        ),
    ])
    .await;
    let help = texts(&c.q("LATENCY HELP").await);
    assert_eq!(
        help[0],
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert!(help.iter().any(|l| l == "HISTOGRAM [COMMAND ...]"));
}

/// The `histogram_usec` levels Redis's HDR histogram reports (1024 ns × 2^k, in µs).
const LEVELS: [i64; 12] = [1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113];

#[tokio::test]
async fn latency_histograms_and_latencystats() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    for _ in 0..3 {
        assert_eq!(c.q("SET k v").await, Reply::ok());
    }
    let reply = c.q("LATENCY HISTOGRAM set nosuch").await;
    let commands = reply.pairs();
    assert_eq!(commands.len(), 1, "{reply}");
    assert_eq!(commands[0].0.text(), "set");
    let set = &commands[0].1;
    assert_eq!(set.get("calls"), Some(Reply::Int(3)));
    let levels = set.get("histogram_usec").expect("histogram_usec").pairs();
    let mut previous = 0;
    for (level, count) in &levels {
        assert!(
            LEVELS.contains(&level.int()) || level.int() > 2113,
            "level {level}: {set}"
        );
        assert!(count.int() > previous, "cumulative: {set}");
        previous = count.int();
    }
    assert_eq!(previous, 3);
    assert_eq!(c.q("LATENCY HISTOGRAM nosuch").await.pairs().len(), 0);
    assert_eq!(c.q("CONFIG SET maxmemory 0").await, Reply::ok());
    let config = c.q("LATENCY HISTOGRAM config").await;
    assert!(
        config
            .pairs()
            .iter()
            .any(|(name, _)| name.text() == "config|set"),
        "{config}"
    );
    let all = c.q("LATENCY HISTOGRAM").await;
    assert!(all.pairs().len() >= 3, "{all}");

    let text = info(&mut c, "latencystats").await;
    assert!(text.starts_with("# Latencystats\r\n"), "{text}");
    let line = info_field(&text, "latency_percentiles_usec_set").expect("set's percentiles");
    let parts: Vec<&str> = line.split(',').collect();
    assert_eq!(parts.len(), 3, "{line}");
    for (part, label) in parts.iter().zip(["p50=", "p99=", "p99.9="]) {
        let value = part.strip_prefix(label).unwrap_or_else(|| panic!("{line}"));
        let (_, decimals) = value.split_once('.').expect("three decimals");
        assert_eq!(decimals.len(), 3, "{line}");
    }
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "0 100"
        ])
        .await,
        Reply::ok()
    );
    let text = info(&mut c, "latencystats").await;
    let line = info_field(&text, "latency_percentiles_usec_set").unwrap();
    assert!(line.starts_with("p0=") && line.contains(",p100="), "{line}");
    assert!(
        !info(&mut c, "default").await.contains("# Latencystats"),
        "latencystats is not a default section"
    );
    assert!(info(&mut c, "everything").await.contains("# Latencystats"));
}

#[tokio::test]
async fn errorstats_count_every_error_prefix() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    assert_eq!(c.q("SET s v").await, Reply::ok());
    c.err("GET").await;
    c.err("NOSUCH x").await;
    c.err("CONFIG FOO").await;
    c.err("LPUSH s x").await;
    c.err("INCR s").await;
    let text = info(&mut c, "errorstats").await;
    assert_eq!(
        text,
        "# Errorstats\r\nerrorstat_ERR:count=4\r\nerrorstat_WRONGTYPE:count=1\r\n"
    );
    let stats = info(&mut c, "stats").await;
    assert_eq!(
        info_field(&stats, "total_error_replies").as_deref(),
        Some("5")
    );
    let commands = info(&mut c, "commandstats").await;
    let get = info_field(&commands, "cmdstat_get").expect("cmdstat_get");
    assert!(get.ends_with("rejected_calls=1,failed_calls=0"), "{get}");
    let incr = info_field(&commands, "cmdstat_incr").expect("cmdstat_incr");
    assert!(incr.ends_with("rejected_calls=0,failed_calls=1"), "{incr}");
}

/// Each command's time is the difference of two microsecond readings, as Redis's `call()`
/// takes it, so thousands of sub-microsecond GETs add up to some time rather than to none.
#[tokio::test]
async fn commandstats_count_the_time_of_fast_commands() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    assert_eq!(c.q("SET k v").await, Reply::ok());
    const ROUNDS: usize = 10;
    const PIPELINE: usize = 2_000;
    const CALLS: usize = ROUNDS * PIPELINE;
    let batch = encode(&["GET", "k"]).repeat(PIPELINE);
    for _ in 0..ROUNDS {
        c.send(&batch).await;
        for _ in 0..PIPELINE {
            assert_eq!(c.read_reply().await, Reply::bulk("v"));
        }
    }
    let commands = info(&mut c, "commandstats").await;
    let get = info_field(&commands, "cmdstat_get").expect("cmdstat_get");
    let field = |name: &str| -> f64 {
        let value = get
            .split(',')
            .find_map(|part| part.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {get}"));
        value.parse().unwrap()
    };
    assert_eq!(field("calls="), CALLS as f64, "{get}");
    assert!(field("usec=") > 0.0, "{get}");
    assert!(field("usec_per_call=") > 0.0, "{get}");
}

/// Reads monitor lines until one ends with `last`; returns them without their timestamps.
async fn monitor_lines(m: &mut Raw, last: &str) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let line = match m.read_reply().await {
            Reply::Simple(line) => line,
            other => panic!("a monitor line, got {other}"),
        };
        let (stamp, rest) = line.split_once(' ').expect("timestamp first");
        let (secs, micros) = stamp.split_once('.').expect("seconds.micros");
        assert!(secs.parse::<u64>().unwrap() > 1_600_000_000, "{line}");
        assert!(micros.len() == 6 && micros.parse::<u32>().is_ok(), "{line}");
        let done = rest.ends_with(last);
        lines.push(rest.to_string());
        if done {
            return lines;
        }
    }
}

#[tokio::test]
async fn monitor_shows_what_others_run() {
    let s = Server::start(&[]);
    let mut m = s.raw().await;
    assert_eq!(m.q("MONITOR").await, Reply::ok());
    let mut c = s.raw().await;
    let me = c.local_addr().to_string();
    assert_eq!(c.cmd(&["SET", "k", "a b\x01\"c\\\n"]).await, Reply::ok());
    assert_eq!(
        c.q("EVAL \"redis.call('set','x','1') return 1\" 0")
            .await
            .int(),
        1
    );
    c.err("AUTH secret").await;
    c.err("NOSUCH x").await;
    c.err("GET").await;
    assert_eq!(c.q("CONFIG SET maxmemory 0").await, Reply::ok());
    c.table(&[
        ("SELECT 3", "+OK"),
        ("MULTI", "+OK"),
        ("SET a 1", "+QUEUED"),
        ("EXEC", "[+OK]"),
        ("PING done", "\"done\""),
    ])
    .await;
    let lines = monitor_lines(&mut m, "\"done\"").await;
    let expected = [
        format!(r#"[0 {me}] "SET" "k" "a b\x01\"c\\\n""#),
        format!(r#"[0 {me}] "EVAL" "redis.call('set','x','1') return 1" "0""#),
        r#"[0 lua] "set" "x" "1""#.to_string(),
        format!(r#"[0 {me}] "AUTH" "(redacted)""#),
        format!(r#"[3 {me}] "SELECT" "3""#),
        format!(r#"[3 {me}] "MULTI""#),
        format!(r#"[3 {me}] "SET" "a" "1""#),
        format!(r#"[3 {me}] "EXEC""#),
        format!(r#"[3 {me}] "PING" "done""#),
    ];
    assert_eq!(lines, expected);

    // A monitor stays off the keyspace; RESET ends monitoring.
    assert_eq!(
        m.q("GET k").await.err(),
        "ERR Replica can't interact with the keyspace"
    );
    assert_eq!(m.q("RESET").await, Reply::Simple("RESET".into()));
    assert_eq!(c.q("PING").await, Reply::Simple("PONG".into()));
    assert_eq!(m.q("PING").await, Reply::Simple("PONG".into()));
}

#[tokio::test]
async fn a_monitor_that_stops_reading_is_cut_off() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 1mb 1mb 0"
        ])
        .await,
        Reply::ok()
    );
    let mut m = s.raw().await;
    assert_eq!(m.q("MONITOR").await, Reply::ok());
    // About 40 MB of monitor lines; the monitor reads none of them meanwhile.
    let value = "x".repeat(10_000);
    let batch: Vec<u8> = (0..100)
        .flat_map(|i| encode(&["SET", &format!("k{i}"), &value]))
        .collect();
    for _ in 0..40 {
        c.send(&batch).await;
        for _ in 0..100 {
            assert_eq!(c.read_reply().await, Reply::ok());
        }
    }
    let rest = m.read_until_closed().await;
    assert!(
        rest.len() < 40_000_000,
        "the monitor was cut off before it all"
    );
    // The server forgets the monitor once its connection is gone.
    let mut clients = String::new();
    for _ in 0..100 {
        clients = c.q("CLIENT LIST").await.text();
        if clients.lines().count() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(clients.lines().count(), 1, "{clients}");
}

#[tokio::test]
async fn lolwut_ends_with_the_version() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let plain = c.q("LOLWUT").await.text();
    assert!(
        plain.starts_with("Redis ver. 7.") && plain.ends_with('\n'),
        "{plain:?}"
    );
    assert_eq!(plain.lines().count(), 1);
    let version = plain.trim_end().to_string();
    let five = c.q("LOLWUT VERSION 5 20 4 3").await.text();
    assert!(
        five.ends_with(&format!(
            "\nGeorg Nees - schotter, plotter on paper, 1968. {version}\n"
        )),
        "{five}"
    );
    let six = c.q("LOLWUT VERSION 6").await.text();
    assert!(
        six.contains("\nDedicated to the 8 bit game developers of past and present.\n"),
        "{six}"
    );
    assert!(
        six.ends_with(&format!("by hikikomori. {version}\n")),
        "{six}"
    );
    assert_eq!(c.q("LOLWUT VERSION 7").await.text(), plain);
    assert_eq!(
        c.err("LOLWUT VERSION x").await,
        "ERR value is not an integer or out of range"
    );
}

#[tokio::test]
async fn getkeysandflags_names_each_key_s_flags() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        (
            "COMMAND GETKEYSANDFLAGS SET k v",
            r#"[["k", [+OW, +update]]]"#,
        ),
        (
            "COMMAND GETKEYSANDFLAGS SET k v GET",
            r#"[["k", [+RW, +access, +update]]]"#,
        ),
        (
            "COMMAND GETKEYSANDFLAGS BITFIELD k GET u8 0",
            r#"[["k", [+RO, +access]]]"#,
        ),
        (
            "COMMAND GETKEYSANDFLAGS BITFIELD k INCRBY u8 0 1",
            r#"[["k", [+RW, +access, +update]]]"#,
        ),
        (
            "COMMAND GETKEYSANDFLAGS LMOVE a b LEFT RIGHT",
            r#"[["a", [+RW, +access, +delete]], ["b", [+RW, +insert]]]"#,
        ),
        (
            "COMMAND GETKEYSANDFLAGS SORT k BY w GET # STORE d",
            r#"[["k", [+RO, +access]], ["d", [+OW, +update]]]"#,
        ),
        (
            "COMMAND GETKEYSANDFLAGS EVAL x 2 a b c",
            r#"[["a", [+RW, +access, +update]], ["b", [+RW, +access, +update]]]"#,
        ),
        ("COMMAND GETKEYSANDFLAGS EVAL x 0", "[]"),
        (
            "COMMAND GETKEYSANDFLAGS XREADGROUP GROUP g c STREAMS s1 s2 0 0",
            r#"[["s1", [+RO, +access]], ["s2", [+RO, +access]]]"#,
        ),
        (
            "COMMAND GETKEYSANDFLAGS PING x",
            "-ERR The command has no key arguments",
        ),
        (
            "COMMAND GETKEYSANDFLAGS NOSUCH x",
            "-ERR Invalid command specified",
        ),
        (
            "COMMAND GETKEYSANDFLAGS SET k",
            "-ERR Invalid number of arguments specified for command",
        ),
        (
            "COMMAND GETKEYSANDFLAGS GET",
            "-ERR wrong number of arguments for 'command|getkeysandflags' command",
        ),
        ("COMMAND GETKEYS EVAL x 0", "[]"),
        (
            "COMMAND GETKEYS PING x",
            "-ERR The command has no key arguments",
        ),
    ])
    .await;
    // RESP3: the flags are a set.
    c.q("HELLO 3").await;
    assert_eq!(
        c.q("COMMAND GETKEYSANDFLAGS SET k v").await.to_string(),
        r#"[["k", ~[+OW, +update]]]"#
    );
}

#[tokio::test]
async fn client_no_touch_leaves_the_lru_alone() {
    if target() == Target::RedisServer {
        // CLIENT NO-TOUCH is Redis 7.2's; the redis-server here is 7.0.
        eprintln!("client_no_touch_leaves_the_lru_alone: not run against redis-server 7.0, which lacks CLIENT NO-TOUCH");
        return;
    }
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SET k v", "+OK"),
        ("SET t v", "+OK"),
        ("CLIENT NO-TOUCH maybe", "-ERR syntax error"),
        ("CLIENT NO-TOUCH on", "+OK"),
    ])
    .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(c.q("GET k").await, Reply::bulk("v"));
    assert!(c.int("OBJECT IDLETIME k").await >= 2, "GET kept k's LRU");
    assert_eq!(c.int("TOUCH t").await, 1);
    assert_eq!(c.int("OBJECT IDLETIME t").await, 0, "TOUCH still touches");
    assert_eq!(c.q("CLIENT NO-TOUCH off").await, Reply::ok());
    assert_eq!(c.q("GET k").await, Reply::bulk("v"));
    assert_eq!(c.int("OBJECT IDLETIME k").await, 0);
    let info = c.q("COMMAND INFO client|no-touch").await;
    assert_eq!(info.array()[0].array()[1], Reply::Int(3), "{info}");
}

#[tokio::test]
async fn hll_sparse_max_bytes_bounds_the_sparse_encoding() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("PFADD small a b c", ":1"),
        ("PFDEBUG ENCODING small", "+sparse"),
        ("CONFIG SET hll-sparse-max-bytes 0", "+OK"),
        (
            "CONFIG GET hll-sparse-max-bytes",
            r#"["hll-sparse-max-bytes", "0"]"#,
        ),
        ("PFADD big a", ":1"),
        ("PFDEBUG ENCODING big", "+dense"),
        ("STRLEN big", ":12304"),
        ("PFADD small d", ":1"),
        ("PFDEBUG ENCODING small", "+dense"),
        ("PFCOUNT small", ":4"),
        ("CONFIG SET hll-sparse-max-bytes 3000", "+OK"),
        ("PFADD other a", ":1"),
        ("PFDEBUG ENCODING other", "+sparse"),
    ])
    .await;
}
