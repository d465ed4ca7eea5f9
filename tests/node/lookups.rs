//! Keyspace hits and misses (`INFO stats`): every read lookup counts, a key of another type
//! included (Redis counts the lookup before its type check).

use crate::common::Server;

async fn hits_and_misses(c: &mut crate::common::Raw) -> (i64, i64) {
    let info = c.q("INFO stats").await.text();
    let field = |name: &str| {
        info.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}:")))
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or_else(|| panic!("{name} in INFO stats"))
    };
    (field("keyspace_hits"), field("keyspace_misses"))
}

#[tokio::test]
async fn reads_of_a_key_of_another_type_count_as_hits() {
    let s = Server::start(&[]);
    let mut c = s.raw_authed().await;
    assert_eq!(c.int("RPUSH l a").await, 1);
    let before = hits_and_misses(&mut c).await;
    for line in ["GET l", "ZSCORE l x", "HGET l f", "SMEMBERS l"] {
        assert!(c.err(line).await.starts_with("WRONGTYPE"), "{line}");
    }
    // MGET answers nil for it, after the same lookup.
    assert!(c.q("MGET l").await.array()[0].is_null());
    let (hits, misses) = hits_and_misses(&mut c).await;
    assert_eq!((hits - before.0, misses - before.1), (5, 0));
    // Absent keys are misses, present ones of the right type hits.
    c.q("GET nothing").await;
    c.q("LLEN l").await;
    let (hits2, misses2) = hits_and_misses(&mut c).await;
    assert_eq!((hits2 - hits, misses2 - misses), (1, 1));
}
