//! String commands: semantics tables against Redis's documented replies.

use redis::AsyncCommands;

use crate::common::{Reply, Server};

#[tokio::test]
async fn get_set_basics() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("GET k", "nil"),
        ("SET k v", "+OK"),
        ("GET k", "\"v\""),
        ("SET k \"\"", "+OK"),
        ("GET k", "\"\""),
        ("SET k \"bin\\x00\\xff\\r\\n\"", "+OK"),
        ("GET k", "\"bin\\x00\\xff\\r\\n\""),
        ("set K upper", "+OK"),
        ("GET k", "\"bin\\x00\\xff\\r\\n\""),
        ("GET K", "\"upper\""),
        ("GET", "-ERR wrong number of arguments for 'get' command"),
        (
            "GET a b",
            "-ERR wrong number of arguments for 'get' command",
        ),
        ("SET k", "-ERR wrong number of arguments for 'set' command"),
    ])
    .await;
}

#[tokio::test]
async fn set_nx_xx_get() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SET k v1 XX", "nil"),
        ("GET k", "nil"),
        ("SET k v1 NX", "+OK"),
        ("SET k v2 NX", "nil"),
        ("GET k", "\"v1\""),
        ("SET k v2 XX", "+OK"),
        ("GET k", "\"v2\""),
        ("SET k v3 GET", "\"v2\""),
        ("SET new v GET", "nil"),
        ("GET new", "\"v\""),
        ("SET k v4 XX GET", "\"v3\""),
        ("SET missing v XX GET", "nil"),
        ("EXISTS missing", ":0"),
        ("SET k v NX XX", "-ERR syntax error"),
        ("SET k v FOO", "-ERR syntax error"),
        ("SET k v EX 10 PX 100", "-ERR syntax error"),
        ("SET k v EX 10 KEEPTTL", "-ERR syntax error"),
        ("SET k v EX", "-ERR syntax error"),
        ("GET k", "\"v4\""),
    ])
    .await;
}

#[tokio::test]
async fn set_expiry_options() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SET k v EX 100", "+OK"),
        ("TTL k", ":100"),
        ("SET k v PX 100000", "+OK"),
        ("TTL k", ":100"),
        ("SET k v", "+OK"),
        ("TTL k", ":-1"),
        ("SET fresh v KEEPTTL", "+OK"),
        ("TTL fresh", ":-1"),
        ("SET k v ex 100", "+OK"),
        ("SET k v2 KEEPTTL", "+OK"),
        ("TTL k", ":100"),
        ("GET k", "\"v2\""),
        ("SET k v3 GET KEEPTTL", "\"v2\""),
        ("TTL k", ":100"),
        ("SET k v EX 0", "-ERR invalid expire time in 'set' command"),
        ("SET k v EX -5", "-ERR invalid expire time in 'set' command"),
        ("SET k v PX 0", "-ERR invalid expire time in 'set' command"),
        (
            "SET k v EXAT 0",
            "-ERR invalid expire time in 'set' command",
        ),
        (
            "SET k v PXAT -1",
            "-ERR invalid expire time in 'set' command",
        ),
        (
            "SET k v EX abc",
            "-ERR value is not an integer or out of range",
        ),
        (
            "SET k v EX 1.5",
            "-ERR value is not an integer or out of range",
        ),
        (
            "SET k v PX 9223372036854775807",
            "-ERR invalid expire time in 'set' command",
        ),
        (
            "SET k v EX 9223372036854775807",
            "-ERR invalid expire time in 'set' command",
        ),
        // Failed SETs changed nothing.
        ("GET k", "\"v3\""),
        ("TTL k", ":100"),
        ("SET k v EXAT 4102444800", "+OK"),
        ("EXPIRETIME k", ":4102444800"),
        ("SET k v PXAT 4102444800123", "+OK"),
        ("PEXPIRETIME k", ":4102444800123"),
        // An absolute time in the past: the key is gone at once.
        ("SET k v EXAT 1", "+OK"),
        ("GET k", "nil"),
        ("EXISTS k", ":0"),
        ("SET k v PXAT 1000", "+OK"),
        ("EXISTS k", ":0"),
    ])
    .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    c.q(&format!("SET k v EXAT {}", now.as_secs() + 50)).await;
    let ttl = c.int("TTL k").await;
    assert!((48..=50).contains(&ttl), "TTL after EXAT now+50: {ttl}");
    c.q("SET k v PX 5000").await;
    let pttl = c.int("PTTL k").await;
    assert!((4000..=5000).contains(&pttl), "PTTL after PX 5000: {pttl}");
}

#[tokio::test]
async fn setnx_setex_psetex() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SETNX k a", ":1"),
        ("SETNX k b", ":0"),
        ("GET k", "\"a\""),
        ("SETEX k 100 c", "+OK"),
        ("GET k", "\"c\""),
        ("TTL k", ":100"),
        ("PSETEX k 100000 d", "+OK"),
        ("TTL k", ":100"),
        ("GET k", "\"d\""),
        ("SETEX k 0 c", "-ERR invalid expire time in 'setex' command"),
        (
            "SETEX k -1 c",
            "-ERR invalid expire time in 'setex' command",
        ),
        (
            "PSETEX k 0 c",
            "-ERR invalid expire time in 'psetex' command",
        ),
        (
            "SETEX k x c",
            "-ERR value is not an integer or out of range",
        ),
        (
            "SETEX k 10",
            "-ERR wrong number of arguments for 'setex' command",
        ),
        (
            "SETNX k",
            "-ERR wrong number of arguments for 'setnx' command",
        ),
        ("GET k", "\"d\""),
    ])
    .await;
}

#[tokio::test]
async fn mget_mset_msetnx() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("MSET a 1 b 2 c 3", "+OK"),
        ("MGET a b c missing", "[\"1\", \"2\", \"3\", nil]"),
        ("MSET a 10 a 11", "+OK"),
        ("GET a", "\"11\""),
        (
            "MSET a 1 b",
            "-ERR wrong number of arguments for 'mset' command",
        ),
        ("MSET", "-ERR wrong number of arguments for 'mset' command"),
        ("MGET", "-ERR wrong number of arguments for 'mget' command"),
        ("MSETNX x 1 y 2", ":1"),
        ("MSETNX y 3 z 4", ":0"),
        ("MGET x y z", "[\"1\", \"2\", nil]"),
        (
            "MSETNX z",
            "-ERR wrong number of arguments for 'msetnx' command",
        ),
    ])
    .await;
}

#[tokio::test]
async fn getset_getdel_getex() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("GETSET k a", "nil"),
        ("GETSET k b", "\"a\""),
        ("SET k v EX 100", "+OK"),
        ("GETSET k w", "\"v\""),
        // GETSET drops the TTL.
        ("TTL k", ":-1"),
        ("GETDEL k", "\"w\""),
        ("GETDEL k", "nil"),
        ("EXISTS k", ":0"),
        ("GETEX k", "nil"),
        ("SET k v", "+OK"),
        ("GETEX k", "\"v\""),
        ("TTL k", ":-1"),
        ("GETEX k EX 100", "\"v\""),
        ("TTL k", ":100"),
        ("GETEX k PERSIST", "\"v\""),
        ("TTL k", ":-1"),
        ("GETEX k PX 200000", "\"v\""),
        ("TTL k", ":200"),
        ("GETEX k EXAT 4102444800", "\"v\""),
        ("EXPIRETIME k", ":4102444800"),
        ("GETEX k PXAT 4102444800500", "\"v\""),
        ("PEXPIRETIME k", ":4102444800500"),
        ("GETEX k EX 10 PX 10", "-ERR syntax error"),
        ("GETEX k EX 10 PERSIST", "-ERR syntax error"),
        ("GETEX k FOO", "-ERR syntax error"),
        (
            "GETEX k EX 0",
            "-ERR invalid expire time in 'getex' command",
        ),
        (
            "GETEX k EX x",
            "-ERR value is not an integer or out of range",
        ),
        ("GETEX k EXAT 1", "\"v\""),
        ("EXISTS k", ":0"),
        (
            "GETEX",
            "-ERR wrong number of arguments for 'getex' command",
        ),
        (
            "GETDEL",
            "-ERR wrong number of arguments for 'getdel' command",
        ),
    ])
    .await;
}

#[tokio::test]
async fn append_strlen() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("STRLEN k", ":0"),
        ("APPEND k Hello", ":5"),
        ("APPEND k \" World\"", ":11"),
        ("GET k", "\"Hello World\""),
        ("STRLEN k", ":11"),
        ("APPEND k \"\"", ":11"),
        ("SET n 10", "+OK"),
        ("APPEND n 5", ":3"),
        ("INCR n", ":106"),
        ("SET k v EX 100", "+OK"),
        // APPEND keeps the TTL.
        ("APPEND k w", ":2"),
        ("TTL k", ":100"),
        ("STRLEN \"\"", ":0"),
        (
            "APPEND k",
            "-ERR wrong number of arguments for 'append' command",
        ),
    ])
    .await;
}

#[tokio::test]
async fn incr_decr() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("INCR n", ":1"),
        ("INCR n", ":2"),
        ("DECR n", ":1"),
        ("DECR fresh", ":-1"),
        ("INCRBY n 10", ":11"),
        ("INCRBY n -20", ":-9"),
        ("DECRBY n 3", ":-12"),
        ("DECRBY n -12", ":0"),
        ("GET n", "\"0\""),
        ("SET n \" 1\"", "+OK"),
        ("INCR n", "-ERR value is not an integer or out of range"),
        ("SET n 1.5", "+OK"),
        ("INCR n", "-ERR value is not an integer or out of range"),
        ("SET n abc", "+OK"),
        ("INCR n", "-ERR value is not an integer or out of range"),
        ("SET n 007", "+OK"),
        ("INCR n", "-ERR value is not an integer or out of range"),
        ("SET n \"1 \"", "+OK"),
        ("INCR n", "-ERR value is not an integer or out of range"),
        ("SET n +1", "+OK"),
        ("INCR n", "-ERR value is not an integer or out of range"),
        ("SET n -0", "+OK"),
        ("INCR n", "-ERR value is not an integer or out of range"),
        ("SET n 1e3", "+OK"),
        ("INCR n", "-ERR value is not an integer or out of range"),
        ("SET n \"\"", "+OK"),
        ("INCR n", "-ERR value is not an integer or out of range"),
        ("SET n -", "+OK"),
        ("INCR n", "-ERR value is not an integer or out of range"),
        ("SET n 9223372036854775808", "+OK"),
        ("INCR n", "-ERR value is not an integer or out of range"),
        ("SET n 0", "+OK"),
        ("INCR n", ":1"),
        ("SET n -17", "+OK"),
        ("INCRBY n 17", ":0"),
        ("SET n 9223372036854775807", "+OK"),
        ("INCR n", "-ERR increment or decrement would overflow"),
        ("INCRBY n 1", "-ERR increment or decrement would overflow"),
        ("SET n -9223372036854775808", "+OK"),
        ("DECR n", "-ERR increment or decrement would overflow"),
        ("GET n", "\"-9223372036854775808\""),
        ("SET n 5", "+OK"),
        (
            "INCRBY n abc",
            "-ERR value is not an integer or out of range",
        ),
        (
            "INCRBY n 9223372036854775808",
            "-ERR value is not an integer or out of range",
        ),
        ("DECRBY n x", "-ERR value is not an integer or out of range"),
        ("GET n", "\"5\""),
        ("SET n 10 EX 100", "+OK"),
        // INCR keeps the TTL.
        ("INCR n", ":11"),
        ("TTL n", ":100"),
        ("INCR", "-ERR wrong number of arguments for 'incr' command"),
        (
            "INCRBY n",
            "-ERR wrong number of arguments for 'incrby' command",
        ),
    ])
    .await;
}

#[tokio::test]
async fn incrbyfloat() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SET f 10.50", "+OK"),
        ("INCRBYFLOAT f 0.1", "\"10.6\""),
        ("INCRBYFLOAT f -5", "\"5.6\""),
        ("GET f", "\"5.6\""),
        ("SET f 5.0e3", "+OK"),
        ("INCRBYFLOAT f 2.0e2", "\"5200\""),
        ("INCRBYFLOAT new 3", "\"3\""),
        ("INCRBYFLOAT new 1.25", "\"4.25\""),
        ("SET f 7", "+OK"),
        ("INCRBYFLOAT f 0", "\"7\""),
        ("SET f 10", "+OK"),
        ("INCRBYFLOAT f 1e3", "\"1010\""),
        ("INCRBYFLOAT f .5", "\"1010.5\""),
        ("INCRBYFLOAT f 5.", "\"1015.5\""),
        ("INCRBYFLOAT f -.5", "\"1015\""),
        ("INCRBYFLOAT f -1015", "\"0\""),
        ("INCRBYFLOAT tiny 0.000015", "\"0.000015\""),
        ("INCRBYFLOAT big 1e20", "\"100000000000000000000\""),
        ("INCRBYFLOAT f \" 1\"", "-ERR value is not a valid float"),
        ("SET n 10 EX 100", "+OK"),
        // INCRBYFLOAT keeps the TTL.
        ("INCRBYFLOAT n 1.5", "\"11.5\""),
        ("TTL n", ":100"),
        ("INCRBYFLOAT f abc", "-ERR value is not a valid float"),
        (
            "INCRBYFLOAT f inf",
            "-ERR increment would produce NaN or Infinity",
        ),
        ("SET f abc", "+OK"),
        ("INCRBYFLOAT f 1", "-ERR value is not a valid float"),
        (
            "INCRBYFLOAT",
            "-ERR wrong number of arguments for 'incrbyfloat' command",
        ),
    ])
    .await;
    // Compare numerically: formatting of long fractions differs between versions.
    c.q("SET g 0.1").await;
    let v: f64 = c.q("INCRBYFLOAT g 0.2").await.text().parse().unwrap();
    assert!((v - 0.3).abs() < 1e-12, "0.1 + 0.2 = {v}");
}

#[tokio::test]
async fn getrange_setrange() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SET mykey \"This is a string\"", "+OK"),
        ("GETRANGE mykey 0 3", "\"This\""),
        ("GETRANGE mykey -3 -1", "\"ing\""),
        ("GETRANGE mykey 0 -1", "\"This is a string\""),
        ("GETRANGE mykey 10 100", "\"string\""),
        ("GETRANGE mykey 5 3", "\"\""),
        ("GETRANGE mykey -100 3", "\"This\""),
        ("GETRANGE missing 0 -1", "\"\""),
        (
            "GETRANGE mykey a 1",
            "-ERR value is not an integer or out of range",
        ),
        (
            "GETRANGE mykey 0",
            "-ERR wrong number of arguments for 'getrange' command",
        ),
        ("SET key1 \"Hello World\"", "+OK"),
        ("SETRANGE key1 6 Redis", ":11"),
        ("GET key1", "\"Hello Redis\""),
        ("SETRANGE key2 6 Redis", ":11"),
        ("GET key2", "\"\\x00\\x00\\x00\\x00\\x00\\x00Redis\""),
        ("SETRANGE key1 0 \"\"", ":11"),
        ("SETRANGE key3 5 \"\"", ":0"),
        ("EXISTS key3", ":0"),
        ("SETRANGE key1 -1 x", "-ERR offset is out of range"),
        (
            "SETRANGE key1 536870912 x",
            "-ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ),
        (
            "SETRANGE key1 x y",
            "-ERR value is not an integer or out of range",
        ),
        ("SET i 12345", "+OK"),
        ("GETRANGE i 1 2", "\"23\""),
        ("STRLEN i", ":5"),
        ("SET n 1234", "+OK"),
        ("SETRANGE n 1 x", ":4"),
        ("GET n", "\"1x34\""),
    ])
    .await;
}

#[tokio::test]
async fn object_encoding_of_strings() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let long = "x".repeat(45);
    c.table(&[
        ("SET i 12345", "+OK"),
        ("OBJECT ENCODING i", "\"int\""),
        ("SET i -9223372036854775808", "+OK"),
        ("OBJECT ENCODING i", "\"int\""),
        ("SET e hello", "+OK"),
        ("OBJECT ENCODING e", "\"embstr\""),
        ("SET e 012", "+OK"),
        ("OBJECT ENCODING e", "\"embstr\""),
        ("SET e 1.5", "+OK"),
        ("OBJECT ENCODING e", "\"embstr\""),
        (&format!("SET r {long}"), "+OK"),
        ("OBJECT ENCODING r", "\"raw\""),
        (&format!("SET e44 {}", "y".repeat(44)), "+OK"),
        ("OBJECT ENCODING e44", "\"embstr\""),
        ("SET a foo", "+OK"),
        ("APPEND a bar", ":6"),
        ("OBJECT ENCODING a", "\"raw\""),
        ("INCR i2", ":1"),
        ("OBJECT ENCODING i2", "\"int\""),
        ("OBJECT ENCODING missing", "nil"),
        (
            "OBJECT FOO i",
            "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.",
        ),
    ])
    .await;
}

/// The same semantics through the `redis` crate's typed API.
#[tokio::test]
async fn typed_client_round_trip() {
    let s = Server::start(&[]);
    let mut conn = s.conn().await;
    let () = conn.set("name", "redoubt").await.unwrap();
    let v: String = conn.get("name").await.unwrap();
    assert_eq!(v, "redoubt");
    let missing: Option<String> = conn.get("nope").await.unwrap();
    assert_eq!(missing, None);
    let n: i64 = conn.incr("counter", 5).await.unwrap();
    assert_eq!(n, 5);
    let () = conn.mset(&[("x", "1"), ("y", "2")]).await.unwrap();
    let vals: Vec<Option<String>> = conn.mget(&["x", "y", "z"]).await.unwrap();
    assert_eq!(vals, [Some("1".into()), Some("2".into()), None]);
    let err = conn.incr::<_, _, i64>("name", 1).await.unwrap_err();
    assert_eq!(err.code(), Some("ERR"), "{err}");
    assert_eq!(
        err.detail(),
        Some("value is not an integer or out of range")
    );
    let len: usize = conn.append("name", "!").await.unwrap();
    assert_eq!(len, 8);
    let mut raw = s.raw().await;
    assert_eq!(raw.q("GET name").await, Reply::bulk("redoubt!"));
}

/// LCS: the subsequence, its length, its match ranges, and its errors.
#[tokio::test]
async fn lcs() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("MSET key1 ohmytext key2 mynewtext", "+OK"),
        ("LCS key1 key2", "\"mytext\""),
        ("LCS key1 key2 LEN", ":6"),
        (
            "LCS key1 key2 IDX",
            "[\"matches\", [[[:4, :7], [:5, :8]], [[:2, :3], [:0, :1]]], \"len\", :6]",
        ),
        (
            "LCS key1 key2 IDX MINMATCHLEN 4",
            "[\"matches\", [[[:4, :7], [:5, :8]]], \"len\", :6]",
        ),
        (
            "LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN",
            "[\"matches\", [[[:4, :7], [:5, :8], :4]], \"len\", :6]",
        ),
        (
            "LCS key1 key2 LEN IDX",
            "-ERR If you want both the length and indexes, please just use IDX.",
        ),
        ("LCS key1 key2 FOO", "-ERR syntax error"),
        (
            "LCS key1 key2 MINMATCHLEN x",
            "-ERR value is not an integer or out of range",
        ),
        ("LCS key1 missing", "\"\""),
        ("LCS missing missing2 LEN", ":0"),
        ("RPUSH list a", ":1"),
        (
            "LCS key1 list",
            "-ERR The specified keys must contain string values",
        ),
        (
            "LCS list key1 FOO",
            "-ERR The specified keys must contain string values",
        ),
    ])
    .await;
}
