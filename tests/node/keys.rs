//! Key-space commands: DEL UNLINK EXISTS TYPE EXPIRE* TTL PERSIST RENAME KEYS SCAN RANDOMKEY TOUCH
//! COPY.

use std::collections::BTreeSet;

use crate::common::{Raw, Reply, Server};

#[tokio::test]
async fn del_unlink_exists_type_touch() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("MSET a 1 b 2 c 3 d 4", "+OK"),
        ("EXISTS a", ":1"),
        ("EXISTS a b missing", ":2"),
        ("EXISTS a a a", ":3"),
        ("TYPE a", "+string"),
        ("TYPE missing", "+none"),
        ("TOUCH a b missing", ":2"),
        ("DEL a missing", ":1"),
        ("DEL a", ":0"),
        ("DEL b b", ":1"),
        ("UNLINK c d missing", ":2"),
        ("UNLINK c", ":0"),
        ("EXISTS a b c d", ":0"),
        ("DBSIZE", ":0"),
        ("DEL", "-ERR wrong number of arguments for 'del' command"),
        (
            "UNLINK",
            "-ERR wrong number of arguments for 'unlink' command",
        ),
        (
            "EXISTS",
            "-ERR wrong number of arguments for 'exists' command",
        ),
        (
            "TOUCH",
            "-ERR wrong number of arguments for 'touch' command",
        ),
        ("TYPE", "-ERR wrong number of arguments for 'type' command"),
    ])
    .await;
}

#[tokio::test]
async fn expire_ttl_persist() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("TTL missing", ":-2"),
        ("PTTL missing", ":-2"),
        ("EXPIRETIME missing", ":-2"),
        ("PEXPIRETIME missing", ":-2"),
        ("SET k v", "+OK"),
        ("TTL k", ":-1"),
        ("PTTL k", ":-1"),
        ("EXPIRETIME k", ":-1"),
        ("PEXPIRETIME k", ":-1"),
        ("EXPIRE missing 100", ":0"),
        ("EXPIRE k 100", ":1"),
        ("TTL k", ":100"),
        ("PEXPIRE k 200000", ":1"),
        ("TTL k", ":200"),
        ("EXPIREAT k 4102444800", ":1"),
        ("EXPIRETIME k", ":4102444800"),
        ("PEXPIRETIME k", ":4102444800000"),
        ("PEXPIREAT k 4102444800999", ":1"),
        ("PEXPIRETIME k", ":4102444800999"),
        ("EXPIRETIME k", ":4102444801"), // rounded to the nearest second
        ("PERSIST k", ":1"),
        ("PERSIST k", ":0"),
        ("PERSIST missing", ":0"),
        ("TTL k", ":-1"),
        (
            "EXPIRE k abc",
            "-ERR value is not an integer or out of range",
        ),
        (
            "EXPIRE k 1.5",
            "-ERR value is not an integer or out of range",
        ),
        (
            "PEXPIRE k x",
            "-ERR value is not an integer or out of range",
        ),
        (
            "EXPIRE k",
            "-ERR wrong number of arguments for 'expire' command",
        ),
        ("TTL", "-ERR wrong number of arguments for 'ttl' command"),
        ("TTL k", ":-1"),
        // A time in the past deletes the key.
        ("EXPIRE k -1", ":1"),
        ("EXISTS k", ":0"),
        ("SET k v", "+OK"),
        ("EXPIRE k 0", ":1"),
        ("EXISTS k", ":0"),
        ("SET k v", "+OK"),
        ("EXPIREAT k 100", ":1"),
        ("EXISTS k", ":0"),
        ("SET k v", "+OK"),
        ("PEXPIREAT k 1", ":1"),
        ("GET k", "nil"),
        (
            "EXPIRE k 9223372036854775807",
            "-ERR invalid expire time in 'expire' command",
        ),
    ])
    .await;
    c.q("SET k v").await;
    assert_eq!(
        c.err("EXPIRE k 9223372036854775807").await,
        "ERR invalid expire time in 'expire' command"
    );
    assert_eq!(
        c.err("PEXPIRE k 9223372036854775807").await,
        "ERR invalid expire time in 'pexpire' command"
    );
    assert_eq!(c.int("TTL k").await, -1);
    c.q("PEXPIRE k 1200").await;
    let pttl = c.int("PTTL k").await;
    assert!((1000..=1200).contains(&pttl), "PTTL {pttl}");
    // TTL rounds to the nearest second: 1.2 s -> 1, 1.7 s -> 2.
    assert_eq!(c.int("TTL k").await, 1, "TTL after PEXPIRE 1200");
    c.q("PEXPIRE k 1700").await;
    assert_eq!(c.int("TTL k").await, 2, "TTL after PEXPIRE 1700");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let et = c.int("EXPIRETIME k").await;
    assert!((now..=now + 3).contains(&et), "EXPIRETIME {et}, now {now}");
}

#[tokio::test]
async fn expire_options_nx_xx_gt_lt() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SET k v", "+OK"),
        // No TTL yet: XX and GT do nothing, NX and LT set it.
        ("EXPIRE k 100 XX", ":0"),
        ("EXPIRE k 100 GT", ":0"),
        ("TTL k", ":-1"),
        ("EXPIRE k 100 NX", ":1"),
        ("TTL k", ":100"),
        ("EXPIRE k 200 NX", ":0"),
        ("TTL k", ":100"),
        ("EXPIRE k 200 XX", ":1"),
        ("TTL k", ":200"),
        ("EXPIRE k 100 GT", ":0"),
        ("EXPIRE k 300 GT", ":1"),
        ("TTL k", ":300"),
        ("EXPIRE k 400 LT", ":0"),
        ("EXPIRE k 150 LT", ":1"),
        ("TTL k", ":150"),
        ("EXPIRE k 140 gt", ":0"),
        ("PEXPIRE k 100000 lt", ":1"),
        ("TTL k", ":100"),
        ("EXPIREAT k 4102444800 GT", ":1"),
        ("PEXPIREAT k 4102444700000 GT", ":0"),
        ("EXPIRETIME k", ":4102444800"),
        ("PERSIST k", ":1"),
        ("EXPIREAT k 4102444800 LT", ":1"),
        ("EXPIRETIME k", ":4102444800"),
        ("PERSIST k", ":1"),
        ("EXPIRE k 100 LT XX", ":0"),
        ("TTL k", ":-1"),
        ("EXPIRE missing 100 NX", ":0"),
        (
            "EXPIRE k 100 NX XX",
            "-ERR NX and XX, GT or LT options at the same time are not compatible",
        ),
        (
            "EXPIRE k 100 NX GT",
            "-ERR NX and XX, GT or LT options at the same time are not compatible",
        ),
        (
            "EXPIRE k 100 GT LT",
            "-ERR GT and LT options at the same time are not compatible",
        ),
        ("EXPIRE k 100 FOO", "-ERR Unsupported option FOO"),
        ("TTL k", ":-1"),
    ])
    .await;
}

#[tokio::test]
async fn rename_renamenx() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("RENAME missing x", "-ERR no such key"),
        ("RENAMENX missing x", "-ERR no such key"),
        ("SET a 1 EX 100", "+OK"),
        ("RENAME a b", "+OK"),
        ("EXISTS a", ":0"),
        ("GET b", "\"1\""),
        // The TTL moves with the value.
        ("TTL b", ":100"),
        ("SET c 3", "+OK"),
        ("RENAME b c", "+OK"),
        ("GET c", "\"1\""),
        ("TTL c", ":100"),
        ("RENAME c c", "+OK"),
        ("GET c", "\"1\""),
        ("SET d 4", "+OK"),
        ("RENAMENX c d", ":0"),
        ("GET c", "\"1\""),
        ("GET d", "\"4\""),
        ("RENAMENX c e", ":1"),
        ("GET e", "\"1\""),
        ("EXISTS c", ":0"),
        ("RENAMENX e e", ":0"),
        ("SET p v", "+OK"),
        ("SET q w EX 100", "+OK"),
        // Renaming onto a key with a TTL drops that TTL.
        ("RENAME p q", "+OK"),
        ("TTL q", ":-1"),
        (
            "RENAME a",
            "-ERR wrong number of arguments for 'rename' command",
        ),
    ])
    .await;
}

#[tokio::test]
async fn keys_glob_patterns() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.q("MSET hello 1 hallo 2 hxllo 3 hllo 4 heeello 5 hillo 6 \"h*llo\" 7 other 8")
        .await;
    let keys = |r: Reply| -> BTreeSet<String> { r.array().iter().map(|k| k.text()).collect() };
    let cases: &[(&str, &[&str])] = &[
        (
            "*",
            &[
                "hello", "hallo", "hxllo", "hllo", "heeello", "hillo", "h*llo", "other",
            ],
        ),
        ("h?llo", &["hello", "hallo", "hxllo", "hillo", "h*llo"]),
        (
            "h*llo",
            &[
                "hello", "hallo", "hxllo", "hllo", "heeello", "hillo", "h*llo",
            ],
        ),
        ("h[ae]llo", &["hello", "hallo"]),
        ("h[^e]llo", &["hallo", "hxllo", "hillo", "h*llo"]),
        ("h[a-b]llo", &["hallo"]),
        ("h\\*llo", &["h*llo"]),
        ("oth*", &["other"]),
        ("nomatch*", &[]),
        ("hello", &["hello"]),
    ];
    for (pattern, want) in cases {
        let got = keys(c.cmd(&["KEYS", pattern]).await);
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, want, "KEYS {pattern}");
    }
    assert_eq!(
        c.err("KEYS").await,
        "ERR wrong number of arguments for 'keys' command"
    );
    // Only the current database.
    c.q("SELECT 1").await;
    assert!(c.q("KEYS *").await.array().is_empty());
}

/// Runs a full SCAN iteration with `extra` arguments and returns every key seen.
async fn scan_all(c: &mut Raw, extra: &[&str]) -> (BTreeSet<String>, usize) {
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    let mut rounds = 0;
    loop {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(extra);
        let r = c.cmd(&args).await;
        let parts = r.array();
        assert_eq!(parts.len(), 2, "SCAN reply: {r}");
        let next = parts[0].text();
        for k in parts[1].array() {
            seen.insert(k.text());
        }
        rounds += 1;
        assert!(rounds < 100_000, "SCAN does not terminate");
        if next == "0" {
            return (seen, rounds);
        }
        cursor = next;
    }
}

#[tokio::test]
async fn scan_iterates_every_key() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let mut all = BTreeSet::new();
    let mut mset = vec!["MSET".to_string()];
    for i in 0..1000 {
        let k = if i % 3 == 0 {
            format!("user:{i}")
        } else {
            format!("item:{i}")
        };
        mset.push(k.clone());
        mset.push(i.to_string());
        all.insert(k);
    }
    assert_eq!(c.cmd(&mset).await, Reply::ok());

    let (seen, rounds) = scan_all(&mut c, &[]).await;
    assert_eq!(seen, all, "plain SCAN");
    assert!(
        rounds > 1,
        "1000 keys at the default COUNT 10 take several calls"
    );

    let (seen, _) = scan_all(&mut c, &["COUNT", "100"]).await;
    assert_eq!(seen, all, "SCAN COUNT 100");

    let users: BTreeSet<String> = all
        .iter()
        .filter(|k| k.starts_with("user:"))
        .cloned()
        .collect();
    let (seen, _) = scan_all(&mut c, &["MATCH", "user:*", "COUNT", "50"]).await;
    assert_eq!(seen, users, "SCAN MATCH user:*");

    let (seen, _) = scan_all(&mut c, &["TYPE", "string"]).await;
    assert_eq!(seen, all, "SCAN TYPE string");
    let (seen, _) = scan_all(&mut c, &["TYPE", "hash"]).await;
    assert!(seen.is_empty(), "SCAN TYPE hash: {seen:?}");
    let (seen, _) = scan_all(&mut c, &["MATCH", "item:1?", "TYPE", "string"]).await;
    let want: BTreeSet<String> = (10..20)
        .filter(|i| i % 3 != 0)
        .map(|i| format!("item:{i}"))
        .collect();
    assert_eq!(seen, want, "SCAN MATCH item:1? TYPE string");

    // A large COUNT returns everything in one call.
    let r = c.q("SCAN 0 COUNT 100000").await;
    assert_eq!(r.array()[0], Reply::bulk("0"));
    assert_eq!(r.array()[1].array().len(), 1000);

    assert_eq!(c.err("SCAN 0 COUNT 0").await, "ERR syntax error");
    assert_eq!(
        c.err("SCAN 0 COUNT x").await,
        "ERR value is not an integer or out of range"
    );
    assert_eq!(c.err("SCAN 0 FOO").await, "ERR syntax error");
    assert_eq!(c.err("SCAN x").await, "ERR invalid cursor");
    assert_eq!(
        c.err("SCAN").await,
        "ERR wrong number of arguments for 'scan' command"
    );
}

#[tokio::test]
async fn scan_keys_that_stay_are_seen_despite_writes() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let mut w = s.raw().await;
    let mut mset = vec!["MSET".to_string()];
    for i in 0..500 {
        mset.push(format!("stay:{i}"));
        mset.push("x".into());
    }
    c.cmd(&mset).await;
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    let mut added = 0;
    loop {
        let r = c.cmd(&["SCAN", &cursor, "COUNT", "20"]).await;
        for k in r.array()[1].array() {
            seen.insert(k.text());
        }
        // Grow the keyspace while iterating (forces rehashing in hash-table designs).
        for _ in 0..50 {
            w.cmd(&["SET", &format!("new:{added}"), "y"]).await;
            added += 1;
        }
        cursor = r.array()[0].text();
        if cursor == "0" {
            break;
        }
        assert!(added < 1_000_000, "SCAN does not terminate");
    }
    for i in 0..500 {
        assert!(
            seen.contains(&format!("stay:{i}")),
            "stay:{i} never returned"
        );
    }
}

#[tokio::test]
async fn randomkey() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    assert_eq!(c.q("RANDOMKEY").await, Reply::Nil);
    c.q("MSET a 1 b 2 c 3").await;
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        let k = c.q("RANDOMKEY").await.text();
        assert!(["a", "b", "c"].contains(&k.as_str()), "RANDOMKEY gave {k}");
        seen.insert(k);
    }
    assert_eq!(seen.len(), 3, "RANDOMKEY is random: {seen:?}");
    c.q("SELECT 2").await;
    assert_eq!(c.q("RANDOMKEY").await, Reply::Nil);
}

#[tokio::test]
async fn copy_with_db_and_replace() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("COPY missing dst", ":0"),
        ("SET src v EX 100", "+OK"),
        ("COPY src dst", ":1"),
        ("GET dst", "\"v\""),
        ("TTL dst", ":100"),
        ("GET src", "\"v\""),
        ("SET src v2", "+OK"),
        ("COPY src dst", ":0"),
        ("GET dst", "\"v\""),
        ("COPY src dst REPLACE", ":1"),
        ("GET dst", "\"v2\""),
        ("TTL dst", ":-1"),
        (
            "COPY src src",
            "-ERR source and destination objects are the same",
        ),
        ("COPY src dst DB 1", ":1"),
        ("COPY src dst DB 1", ":0"),
        ("COPY src dst DB 1 REPLACE", ":1"),
        ("COPY src src DB 2", ":1"),
        ("COPY src x DB 16", "-ERR DB index is out of range"),
        ("COPY src x DB -1", "-ERR DB index is out of range"),
        (
            "COPY src x DB abc",
            "-ERR value is not an integer or out of range",
        ),
        ("COPY src x FOO", "-ERR syntax error"),
        (
            "COPY src",
            "-ERR wrong number of arguments for 'copy' command",
        ),
        ("SELECT 1", "+OK"),
        ("GET dst", "\"v2\""),
        ("EXISTS src", ":0"),
        ("SELECT 2", "+OK"),
        ("GET src", "\"v2\""),
    ])
    .await;
    // The copy is independent of the original.
    c.table(&[
        ("SELECT 0", "+OK"),
        ("APPEND dst -changed", ":10"),
        ("GET src", "\"v2\""),
        ("SET n 10", "+OK"),
        ("COPY n m", ":1"),
        ("INCR m", ":11"),
        ("GET n", "\"10\""),
    ])
    .await;
}
