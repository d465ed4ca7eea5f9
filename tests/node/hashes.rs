//! Hash commands: semantics tables against Redis 7's replies, random fields checked by their
//! properties, HSCAN's guarantee, RESP3 reply types and the generic key commands on hashes.
//! Small hashes keep insertion order in Redis (listpack), so their replies are compared whole.

use std::collections::{HashMap, HashSet};

use redis::AsyncCommands;

use crate::common::{Reply, Server};

#[tokio::test]
async fn set_get_delete() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("HSET h a 1 b 2", ":2"),
        ("HSET h a 10 c 3", ":1"),
        ("HGET h a", "\"10\""),
        ("HGET h z", "nil"),
        ("HGET missing a", "nil"),
        ("HMGET h a z c", "[\"10\", nil, \"3\"]"),
        ("HMGET missing a b", "[nil, nil]"),
        ("HGETALL h", "[\"a\", \"10\", \"b\", \"2\", \"c\", \"3\"]"),
        ("HGETALL missing", "[]"),
        ("HKEYS h", "[\"a\", \"b\", \"c\"]"),
        ("HVALS h", "[\"10\", \"2\", \"3\"]"),
        ("HKEYS missing", "[]"),
        ("HVALS missing", "[]"),
        ("HLEN h", ":3"),
        ("HLEN missing", ":0"),
        ("HEXISTS h a", ":1"),
        ("HEXISTS h z", ":0"),
        ("HEXISTS missing a", ":0"),
        ("HSTRLEN h a", ":2"),
        ("HSTRLEN h z", ":0"),
        ("HSTRLEN missing a", ":0"),
        ("HSETNX h a new", ":0"),
        ("HSETNX h d 4", ":1"),
        ("HSETNX fresh f v", ":1"),
        ("HGET fresh f", "\"v\""),
        ("HMSET h e 5 a 11", "+OK"),
        ("HGET h a", "\"11\""),
        // Deleting keeps the order of the rest, as a listpack does.
        ("HDEL h b z", ":1"),
        ("HKEYS h", "[\"a\", \"c\", \"d\", \"e\"]"),
        ("HDEL missing a", ":0"),
        // The last field going deletes the key.
        ("HDEL h a c d e", ":4"),
        ("EXISTS h", ":0"),
        ("TYPE h", "+none"),
        ("HSET h \"\" \"\"", ":1"),
        ("HGET h \"\"", "\"\""),
        (
            "HSET h f",
            "-ERR wrong number of arguments for 'hset' command",
        ),
        (
            "HSET h f v g",
            "-ERR wrong number of arguments for 'hset' command",
        ),
        (
            "HMSET h f v g",
            "-ERR wrong number of arguments for 'hmset' command",
        ),
        (
            "HDEL h",
            "-ERR wrong number of arguments for 'hdel' command",
        ),
        (
            "HMGET h",
            "-ERR wrong number of arguments for 'hmget' command",
        ),
        (
            "HSETNX h f",
            "-ERR wrong number of arguments for 'hsetnx' command",
        ),
        ("HLEN h", ":1"),
    ])
    .await;
}

#[tokio::test]
async fn wrong_type_errors() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value";
    c.q("SET str v").await;
    let mut rows = Vec::new();
    for line in [
        "HSET str f v",
        "HMSET str f v",
        "HSETNX str f v",
        "HGET str f",
        "HMGET str f",
        "HGETALL str",
        "HKEYS str",
        "HVALS str",
        "HDEL str f",
        "HEXISTS str f",
        "HLEN str",
        "HSTRLEN str f",
        "HINCRBY str f 1",
        "HINCRBYFLOAT str f 1",
        "HRANDFIELD str",
        "HRANDFIELD str 2 WITHVALUES",
        "HSCAN str 0",
    ] {
        rows.push((line, wrongtype));
    }
    rows.push(("GET str", "\"v\""));
    c.table(&rows).await;
}

#[tokio::test]
async fn increments() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("HINCRBY h n 5", ":5"),
        ("HINCRBY h n -7", ":-2"),
        ("HGET h n", "\"-2\""),
        ("HSET h s abc f 1.5 sp \" 1\"", ":3"),
        ("HINCRBY h s 1", "-ERR hash value is not an integer"),
        ("HINCRBY h f 1", "-ERR hash value is not an integer"),
        ("HINCRBY h sp 1", "-ERR hash value is not an integer"),
        (
            "HINCRBY h n 1.5",
            "-ERR value is not an integer or out of range",
        ),
        (
            "HINCRBY h n x",
            "-ERR value is not an integer or out of range",
        ),
        ("HINCRBY h big 9223372036854775807", ":9223372036854775807"),
        (
            "HINCRBY h big 1",
            "-ERR increment or decrement would overflow",
        ),
        (
            "HINCRBY h small -9223372036854775808",
            ":-9223372036854775808",
        ),
        (
            "HINCRBY h small -1",
            "-ERR increment or decrement would overflow",
        ),
        ("HGET h big", "\"9223372036854775807\""),
        // A failed increment on a missing key creates nothing.
        (
            "HINCRBY missing n x",
            "-ERR value is not an integer or out of range",
        ),
        (
            "HINCRBYFLOAT missing n x",
            "-ERR value is not a valid float",
        ),
        ("EXISTS missing", ":0"),
        ("HINCRBYFLOAT h x 10.5", "\"10.5\""),
        ("HINCRBYFLOAT h x 0.1", "\"10.6\""),
        ("HINCRBYFLOAT h y 0.1", "\"0.1\""),
        ("HINCRBYFLOAT h y 0.2", "\"0.3\""),
        ("HINCRBYFLOAT h e 5.0e3", "\"5000\""),
        ("HINCRBYFLOAT h e 2.0e2", "\"5200\""),
        ("HINCRBYFLOAT h e -5200", "\"0\""),
        ("HINCRBYFLOAT h n 1", "\"-1\""),
        ("HINCRBYFLOAT h f 1", "\"2.5\""),
        ("HINCRBYFLOAT h s 1", "-ERR hash value is not a float"),
        ("HINCRBYFLOAT h x abc", "-ERR value is not a valid float"),
        ("HINCRBYFLOAT h x inf", "-ERR value is NaN or Infinity"),
        ("HSET h m 1.7976931348623157e308", ":1"),
        ("HGET h x", "\"10.6\""),
        (
            "HINCRBY h",
            "-ERR wrong number of arguments for 'hincrby' command",
        ),
    ])
    .await;
}

#[tokio::test]
async fn random_fields() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("HRANDFIELD missing", "nil"),
        ("HRANDFIELD missing 2", "[]"),
        ("HRANDFIELD missing -2 WITHVALUES", "[]"),
        ("HSET h a 1 b 2 c 3", ":3"),
        ("HRANDFIELD h 0", "[]"),
        ("HRANDFIELD h 0 WITHVALUES", "[]"),
        ("HRANDFIELD h 5", "[\"a\", \"b\", \"c\"]"),
        (
            "HRANDFIELD h 3 WITHVALUES",
            "[\"a\", \"1\", \"b\", \"2\", \"c\", \"3\"]",
        ),
        ("HRANDFIELD h 1 FOO", "-ERR syntax error"),
        ("HRANDFIELD h 1 WITHVALUES x", "-ERR syntax error"),
        (
            "HRANDFIELD h x",
            "-ERR value is not an integer or out of range",
        ),
        (
            "HRANDFIELD h x FOO",
            "-ERR value is not an integer or out of range",
        ),
        (
            "HRANDFIELD h -9223372036854775808",
            "-ERR value is out of range, value must between -9223372036854775807 and \
             9223372036854775807",
        ),
        (
            "HRANDFIELD h -9223372036854775807 WITHVALUES",
            "-ERR value is out of range",
        ),
        (
            "HRANDFIELD h 9223372036854775807 WITHVALUES",
            "-ERR value is out of range",
        ),
    ])
    .await;
    let values: HashMap<String, String> = [("a", "1"), ("b", "2"), ("c", "3")]
        .map(|(f, v)| (f.to_string(), v.to_string()))
        .into();
    let one = c.q("HRANDFIELD h").await.text();
    assert!(values.contains_key(&one), "{one}");
    let two: Vec<String> = c
        .q("HRANDFIELD h 2")
        .await
        .array()
        .iter()
        .map(Reply::text)
        .collect();
    assert!(two.len() == 2 && two[0] != two[1], "{two:?}");
    assert!(two.iter().all(|f| values.contains_key(f)));
    let r = c.q("HRANDFIELD h -10 WITHVALUES").await;
    let pairs = r.pairs();
    assert_eq!(pairs.len(), 10, "{r}");
    for (f, v) in pairs {
        assert_eq!(values.get(&f.text()), Some(&v.text()), "{r}");
    }
    assert_eq!(c.int("HLEN h").await, 3, "HRANDFIELD must not remove");

    // A large hash: distinct picks.
    let args: Vec<String> = (0..300).map(|i| format!("f{i} v{i}")).collect();
    c.q(&format!("HSET big {}", args.join(" "))).await;
    let r = c.q("HRANDFIELD big 100 WITHVALUES").await;
    let pairs = r.pairs();
    assert_eq!(
        pairs
            .iter()
            .map(|(f, _)| f.text())
            .collect::<HashSet<_>>()
            .len(),
        100
    );
    assert!(pairs.iter().all(|(f, v)| f.text()[1..] == v.text()[1..]));
}

#[tokio::test]
async fn hscan() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("HSCAN missing 0", "[\"0\", []]"),
        ("HSCAN missing x", "-ERR invalid cursor"),
        ("HSET small b 2 a 1 c 3", ":3"),
        // A compact hash comes back whole in one step, whatever COUNT says.
        (
            "HSCAN small 0 COUNT 1",
            "[\"0\", [\"b\", \"2\", \"a\", \"1\", \"c\", \"3\"]]",
        ),
        ("HSCAN small 0 MATCH a", "[\"0\", [\"a\", \"1\"]]"),
        ("HSCAN small 0 MATCH 1", "[\"0\", []]"),
        ("HSCAN small 0 COUNT 0", "-ERR syntax error"),
        (
            "HSCAN small 0 COUNT x",
            "-ERR value is not an integer or out of range",
        ),
        ("HSCAN small 0 MATCH", "-ERR syntax error"),
        ("HSCAN small 0 FOO bar", "-ERR syntax error"),
    ])
    .await;

    // A large hash, scanned while fields outside the kept half are removed: every field
    // present for the whole scan comes back at least once, with its value.
    let args: Vec<String> = (0..1000).map(|i| format!("f{i} v{i}")).collect();
    c.q(&format!("HSET big {}", args.join(" "))).await;
    let mut seen = HashMap::new();
    let (mut cursor, mut steps) = ("0".to_string(), 0);
    loop {
        let r = c.q(&format!("HSCAN big {cursor} COUNT 20")).await;
        let [next, page] = r.array() else {
            panic!("{r}")
        };
        seen.extend(page.pairs().into_iter().map(|(f, v)| (f.text(), v.text())));
        let odd: Vec<String> = (steps * 40..steps * 40 + 40)
            .filter(|i| i % 2 == 1)
            .map(|i| format!("f{i}"))
            .collect();
        c.q(&format!("HDEL big {}", odd.join(" "))).await;
        steps += 1;
        cursor = next.text();
        if cursor == "0" {
            break;
        }
        assert!(steps < 1000, "HSCAN never ended");
    }
    for i in (0..1000).step_by(2) {
        assert_eq!(seen.get(&format!("f{i}")), Some(&format!("v{i}")), "f{i}");
    }
}

#[tokio::test]
async fn resp3_reply_types() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.q("HELLO 3").await;
    c.table(&[
        ("HSET h a 1 b 2", ":2"),
        ("HGETALL h", "{\"a\": \"1\", \"b\": \"2\"}"),
        ("HGETALL missing", "{}"),
        ("HGET missing a", "_"),
        ("HMGET h a z", "[\"1\", _]"),
        ("HKEYS h", "[\"a\", \"b\"]"),
        ("HRANDFIELD missing", "_"),
        ("HRANDFIELD h 2", "[\"a\", \"b\"]"),
        // RESP3 WITHVALUES: an array of [field, value] pairs.
        (
            "HRANDFIELD h 2 WITHVALUES",
            "[[\"a\", \"1\"], [\"b\", \"2\"]]",
        ),
        ("HSET one a 1", ":1"),
        (
            "HRANDFIELD one -2 WITHVALUES",
            "[[\"a\", \"1\"], [\"a\", \"1\"]]",
        ),
        ("HRANDFIELD missing 2 WITHVALUES", "[]"),
        ("HSCAN h 0", "[\"0\", [\"a\", \"1\", \"b\", \"2\"]]"),
        ("HINCRBYFLOAT h f 1.5", "\"1.5\""),
    ])
    .await;
}

#[tokio::test]
async fn generic_key_commands_on_hashes() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let long = "x".repeat(65);
    let many: Vec<String> = (0..513).map(|i| format!("f{i} v")).collect();
    c.table(&[
        ("HSET h a 1", ":1"),
        ("TYPE h", "+hash"),
        ("OBJECT ENCODING h", "\"listpack\""),
        ("SET str v", "+OK"),
        ("SCAN 0 TYPE hash", "[\"0\", [\"h\"]]"),
        ("RENAME h r", "+OK"),
        ("HGETALL r", "[\"a\", \"1\"]"),
        ("COPY r c", ":1"),
        ("HSET c b 2", ":1"),
        ("HLEN r", ":1"),
        ("HLEN c", ":2"),
        ("PEXPIRE c 50", ":1"),
        ("HSET c d 4", ":1"),
    ])
    .await;
    // Adding fields keeps the time to live.
    let pttl = c.int("PTTL c").await;
    assert!((1..=50).contains(&pttl), "PTTL {pttl}");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    c.table(&[
        ("HLEN c", ":0"),
        ("EXISTS c", ":0"),
        ("HSET c f v", ":1"),
        ("TTL c", ":-1"),
        // Encodings grow with the fields and never shrink back.
        (&format!("HSET r big {long}"), ":1"),
        ("OBJECT ENCODING r", "\"hashtable\""),
        ("HDEL r big", ":1"),
        ("OBJECT ENCODING r", "\"hashtable\""),
        (&format!("HSET wide {}", many[..512].join(" ")), ":512"),
        ("OBJECT ENCODING wide", "\"listpack\""),
        (&format!("HSET wide {}", many[512]), ":1"),
        ("OBJECT ENCODING wide", "\"hashtable\""),
    ])
    .await;
}

/// The same semantics through the `redis` crate's typed API.
#[tokio::test]
async fn typed_client_round_trip() {
    let s = Server::start(&[]);
    let mut conn = s.conn().await;
    let () = conn
        .hset_multiple("h", &[("a", "1"), ("b", "2")])
        .await
        .unwrap();
    let all: HashMap<String, String> = conn.hgetall("h").await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all["b"], "2");
    let v: Option<String> = conn.hget("h", "z").await.unwrap();
    assert_eq!(v, None);
    let n: i64 = conn.hincr("h", "a", 41).await.unwrap();
    assert_eq!(n, 42);
    let f: f64 = conn.hincr("h", "f", 2.5).await.unwrap();
    assert_eq!(f, 2.5);
    let removed: i64 = conn.hdel("h", &["a", "b", "f"]).await.unwrap();
    assert_eq!(removed, 3);
    let exists: bool = conn.exists("h").await.unwrap();
    assert!(!exists);
    let _: () = conn.set("str", "v").await.unwrap();
    let err = conn
        .hset::<_, _, _, i64>("str", "f", "v")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("WRONGTYPE"), "{err}");
}

/// `OBJECT ENCODING` follows Redis's conversion rules and the `hash-max-listpack-*` limits set
/// at runtime; a listpack keeps insertion order through updates and deletions.
#[tokio::test]
async fn encoding_transitions_follow_the_limits() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let old = super::sets::redis_before_7_2(&s, &mut c).await;
    c.table(&[
        ("HSET h a 1 b 22 c 333", ":3"),
        ("HSET h b 2222222", ":0"),
        ("HDEL h a", ":1"),
        ("HSET h a 1", ":1"),
        (
            "HGETALL h",
            "[\"b\", \"2222222\", \"c\", \"333\", \"a\", \"1\"]",
        ),
        ("HINCRBY h c 1", ":334"),
        ("HINCRBYFLOAT h n 1.5", "\"1.5\""),
        ("HKEYS h", "[\"b\", \"c\", \"a\", \"n\"]"),
        ("OBJECT ENCODING h", "\"listpack\""),
        ("CONFIG SET hash-max-listpack-entries 4", "+OK"),
        ("CONFIG SET hash-max-listpack-value 8", "+OK"),
        ("HSET h n 12345678", ":0"),
        ("OBJECT ENCODING h", "\"listpack\""),
        ("HSET h e 5", ":1"),
        ("OBJECT ENCODING h", "\"hashtable\""),
        ("HLEN h", ":5"),
        // A value, a field (HINCRBY, HSETNX) or a new field count over the limit converts.
        ("HSET v f 123456789", ":1"),
        ("OBJECT ENCODING v", "\"hashtable\""),
        ("HINCRBY i longfieldname 1", ":1"),
        ("OBJECT ENCODING i", "\"hashtable\""),
        ("HSETNX nx f 123456789", ":1"),
        ("OBJECT ENCODING nx", "\"hashtable\""),
        ("HSET p a 1 b 2 c 3 d 4", ":4"),
        ("OBJECT ENCODING p", "\"listpack\""),
        // Redis 7.2 presumes the fields of one HSET are new (`hashTypeTryConversion`).
        ("HSET q a 1 a 2 a 3 a 4 a 5", ":1"),
        (
            "OBJECT ENCODING q",
            if old { "\"listpack\"" } else { "\"hashtable\"" },
        ),
        ("HGET q a", "\"5\""),
        ("CONFIG SET hash-max-listpack-entries 0", "+OK"),
        ("HSET z a 1", ":1"),
        ("OBJECT ENCODING z", "\"hashtable\""),
        ("CONFIG SET hash-max-listpack-entries 512", "+OK"),
        ("CONFIG SET hash-max-listpack-value 64", "+OK"),
        // Converted hashes stay converted.
        ("HDEL h e n", ":2"),
        ("OBJECT ENCODING h", "\"hashtable\""),
        ("HGET h b", "\"2222222\""),
    ])
    .await;
}
