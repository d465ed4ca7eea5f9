//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG): semantics tables holding Redis's own replies (checked against `redis-server` with
//! `REDOUBT_TEST_SERVER=redis-server cargo test --test node hll`).

use crate::common::Server;

/// Adds, counts, merges and the debug subcommands, with both WRONGTYPE errors in Redis's order.
#[tokio::test]
async fn pfadd_pfcount_pfmerge_pfdebug() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("PFADD h a b c d e f g", ":1"),
        ("PFADD h a b", ":0"),
        ("PFCOUNT h", ":7"),
        ("PFADD h", ":0"),
        ("PFADD fresh", ":1"),
        ("EXISTS fresh", ":1"),
        ("PFCOUNT fresh", ":0"),
        ("PFADD fresh", ":0"),
        ("PFCOUNT missing", ":0"),
        ("PFDEBUG ENCODING h", "+sparse"),
        ("PFDEBUG DECODE fresh", "\"Z:16384\""),
        ("SET str hello", "+OK"),
        ("PFADD str a", "-WRONGTYPE Key is not a valid HyperLogLog string value."),
        ("PFCOUNT str", "-WRONGTYPE Key is not a valid HyperLogLog string value."),
        ("PFCOUNT h str", "-WRONGTYPE Key is not a valid HyperLogLog string value."),
        ("RPUSH list a", ":1"),
        ("PFADD list a", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("PFCOUNT list", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("PFCOUNT h list", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("PFCOUNT str list", "-WRONGTYPE Key is not a valid HyperLogLog string value."),
        ("PFMERGE h list", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("PFMERGE list h", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("PFMERGE str h", "-WRONGTYPE Key is not a valid HyperLogLog string value."),
        ("PFADD h2 x y z", ":1"),
        ("PFCOUNT h h2", ":10"),
        ("PFCOUNT h h2 missing", ":10"),
        ("PFMERGE m h h2", "+OK"),
        ("PFCOUNT m", ":10"),
        ("PFDEBUG ENCODING m", "+sparse"),
        ("PFMERGE m", "+OK"),
        ("PFCOUNT m", ":10"),
        ("PFMERGE empty", "+OK"),
        ("EXISTS empty", ":1"),
        ("GET empty", "\"HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80\\x7f\\xff\""),
        ("PFDEBUG FOO h", "-ERR Unknown PFDEBUG subcommand 'FOO'"),
        ("PFDEBUG FOO missing", "-ERR The specified key does not exist"),
        ("PFDEBUG GETREG missing", "-ERR The specified key does not exist"),
        ("PFDEBUG DECODE h", "\"Z:1646 v:1,1 Z:5645 v:1,1 Z:1085 v:2,1 z:57 v:1,1 Z:4274 v:2,1 Z:2445 v:1,1 Z:622 v:1,1 Z:603\""),
        ("PFDEBUG TODENSE h", ":1"),
        ("PFDEBUG ENCODING h", "+dense"),
        ("PFDEBUG TODENSE h", ":0"),
        ("PFDEBUG DECODE h", "-ERR HLL encoding is not sparse"),
        ("PFCOUNT h", ":7"),
        ("PFADD h a", ":0"),
        ("PFADD h newone", ":1"),
        ("PFCOUNT h", ":8"),
        ("STRLEN h", ":12304"),
        ("PFDEBUG ENCODING str", "-WRONGTYPE Key is not a valid HyperLogLog string value."),
    ])
    .await;
}

/// The stored bytes are Redis's own: cache invalidated by PFADD, refreshed by PFCOUNT; PFMERGE keeps the destination's TTL.
#[tokio::test]
async fn values_are_redis_bytes() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("PFADD t a", ":1"),
        ("SET ttl x", "+OK"),
        ("EXPIRE ttl 100", ":1"),
        ("PFMERGE ttl t", "-WRONGTYPE Key is not a valid HyperLogLog string value."),
        ("TTL ttl", ":100"),
        ("PFCOUNT ttl", "-WRONGTYPE Key is not a valid HyperLogLog string value."),
        ("GET t", "\"HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80q\\xa6\\x84NW\""),
        ("PFADD t b", ":1"),
        ("GET t", "\"HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80q\\xa6\\x84K\\xfb\\x80BZ\""),
        ("PFCOUNT t", ":2"),
        ("GET t", "\"HYLL\\x01\\x00\\x00\\x00\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00q\\xa6\\x84K\\xfb\\x80BZ\""),
    ])
    .await;
}

/// FNV-1a of a value, to compare whole HyperLogLog values with Redis's in a line.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

async fn add_range(
    c: &mut crate::common::Raw,
    key: &str,
    prefix: &str,
    range: std::ops::Range<u32>,
) {
    let mut args = vec!["PFADD".to_string(), key.to_string()];
    args.extend(range.map(|i| format!("{prefix}{i}")));
    assert_eq!(c.cmd(&args).await.int(), 1);
}

/// Thousands of elements: the estimates, the turn to dense, the union and the stored bytes
/// are Redis's (the figures and digests were read from `redis-server`).
#[tokio::test]
async fn estimates_and_bytes_match_redis() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let counts = [1008, 2000, 2979, 3974, 4968];
    for (batch, want) in counts.into_iter().enumerate() {
        let start = batch as u32 * 1000;
        add_range(&mut c, "big", "e", start..start + 1000).await;
        assert_eq!(
            c.int("PFCOUNT big").await,
            want,
            "after {} elements",
            start + 1000
        );
    }
    add_range(&mut c, "small", "s", 0..300).await;
    c.table(&[
        ("PFDEBUG ENCODING big", "+dense"),
        ("PFDEBUG ENCODING small", "+sparse"),
        ("PFCOUNT small", ":302"),
        ("PFCOUNT big small", ":5270"),
        ("PFMERGE u big small", "+OK"),
        ("PFCOUNT u", ":5270"),
        ("PFDEBUG ENCODING u", "+dense"),
        ("STRLEN u", ":12304"),
        ("STRLEN small", ":697"),
    ])
    .await;
    for (key, digest) in [
        ("big", 0x9219_c5a2_921d_b657),
        ("small", 0x86b9_9dcb_17fe_3a69),
        ("u", 0xba85_9d31_9286_195d),
    ] {
        let value = c.cmd(&["GET", key]).await.bytes();
        assert_eq!(fnv(&value), digest, "GET {key}");
    }
    let registers = c.q("PFDEBUG GETREG small").await;
    assert_eq!(registers.array().len(), 16384);
    assert!(registers.array().iter().any(|r| r.int() > 0));
    assert_eq!(c.q("PFDEBUG ENCODING small").await.to_string(), "+dense");
    let value = c.q("GET small").await.bytes();
    assert_eq!(fnv(&value), 0x5b5c_feb9_897d_1886);
}
