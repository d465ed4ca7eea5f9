//! `maxmemory` and eviction: `used_memory` held at the limit under `allkeys-lru` with recently
//! read keys kept, `noeviction` refusing `denyoom` commands, `volatile-ttl` evicting the
//! soonest-expiring keys, and evictions reaching the standbys as `DEL`s.

use std::time::{Duration, Instant};

use crate::common::{encode, info_field, Raw, Reply, Server, Target};

/// A small replication backlog: Redoubt keeps one from the start (Redis only once a standby
/// connects), and the stream of these tests' writes would otherwise fill megabytes of it.
const BOUNDED_BACKLOG: &[&str] = &["--repl-backlog-size", "16kb"];

async fn info(c: &mut Raw, section: &str) -> String {
    match c.cmd(&["INFO", section]).await {
        Reply::Bulk(b) | Reply::Verbatim(_, b) => String::from_utf8(b).unwrap(),
        other => panic!("INFO {section}: {other}"),
    }
}

async fn num(c: &mut Raw, section: &str, field: &str) -> u64 {
    let text = info(c, section).await;
    info_field(&text, field)
        .unwrap_or_else(|| panic!("INFO lacks {field}:\n{text}"))
        .parse()
        .unwrap()
}

/// Sends `SET prefix:i value [EX ttl(i)]` for `range`, pipelined, and returns the replies.
async fn fill(
    c: &mut Raw,
    prefix: &str,
    range: std::ops::Range<usize>,
    value: &str,
    ttl: impl Fn(usize) -> Option<u64>,
) -> Vec<Reply> {
    let mut replies = Vec::new();
    let ids: Vec<usize> = range.collect();
    // Fifty to a pipeline: the query buffer counts in used_memory, as in Redis.
    for chunk in ids.chunks(50) {
        let mut batch = Vec::new();
        for &i in chunk {
            let key = format!("{prefix}:{i}");
            match ttl(i) {
                Some(s) => batch.extend(encode(&["SET", &key, value, "EX", &s.to_string()])),
                None => batch.extend(encode(&["SET", &key, value])),
            }
        }
        c.send(&batch).await;
        for _ in chunk {
            replies.push(c.read_reply().await);
        }
    }
    replies
}

async fn exists(c: &mut Raw, key: &str) -> bool {
    c.cmd(&["EXISTS", key]).await == Reply::Int(1)
}

/// Sets `maxmemory` to the current `used_memory` plus `headroom` bytes; returns the limit.
async fn limit_above_current(c: &mut Raw, headroom: u64) -> u64 {
    let limit = num(c, "memory", "used_memory").await + headroom;
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()])
            .await,
        Reply::ok()
    );
    limit
}

#[tokio::test]
async fn allkeys_lru_holds_the_limit_and_keeps_recently_read_keys() {
    let s = Server::start(BOUNDED_BACKLOG);
    let mut c = s.raw().await;
    assert_eq!(
        c.q("CONFIG SET maxmemory-policy allkeys-lru").await,
        Reply::ok()
    );
    let limit = limit_above_current(&mut c, 5_000_000).await;
    let value = "v".repeat(1000);
    fill(&mut c, "hot", 0..100, &value, |_| None).await;
    // 3.3 MB that nobody reads again; the LRU clock counts seconds, so let them age.
    fill(&mut c, "cold", 0..3000, &value, |_| None).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for i in 0..100 {
        assert!(exists(&mut c, &format!("hot:{i}")).await);
        c.cmd(&["GET", &format!("hot:{i}")]).await;
    }
    // 3.3 MB more: about 2.5 MB must go.
    let replies = fill(&mut c, "new", 0..3000, &value, |_| None).await;
    assert!(replies.iter().all(|r| *r == Reply::ok()), "a SET failed");
    let used = num(&mut c, "memory", "used_memory").await;
    assert!(
        used <= limit + limit / 100 && used >= limit - limit * 3 / 100,
        "used_memory {used} should be at most 1% over maxmemory {limit} and not 3% under"
    );
    let evicted = num(&mut c, "stats", "evicted_keys").await;
    assert!(evicted > 1000, "evicted_keys {evicted}");
    let mut hot = 0;
    for i in 0..100 {
        hot += usize::from(exists(&mut c, &format!("hot:{i}")).await);
    }
    let mut cold = 0;
    for i in 0..3000 {
        cold += usize::from(exists(&mut c, &format!("cold:{i}")).await);
    }
    assert!(hot >= 95, "{hot} of 100 recently read keys kept");
    assert!(cold < 1500, "{cold} of 3000 idle keys kept");
    let info = info(&mut c, "memory").await;
    assert_eq!(
        info_field(&info, "maxmemory_policy").as_deref(),
        Some("allkeys-lru")
    );
    assert_eq!(
        info_field(&info, "maxmemory").unwrap(),
        limit.to_string(),
        "{info}"
    );
}

#[tokio::test]
async fn noeviction_refuses_commands_that_need_memory() {
    let s = Server::start(BOUNDED_BACKLOG);
    let mut c = s.raw().await;
    let value = "v".repeat(1000);
    limit_above_current(&mut c, 200_000).await;
    // One at a time, so no query buffer of a long pipeline counts (Redis counts client
    // buffers in used_memory).
    let mut first_oom = None;
    for i in 0..1000 {
        let reply = c.cmd(&["SET", &format!("k:{i}"), &value]).await;
        if reply != Reply::ok() {
            assert_eq!(
                reply,
                Reply::Error("OOM command not allowed when used memory > 'maxmemory'.".into())
            );
            first_oom = Some(i);
            break;
        }
    }
    let first_oom = first_oom.expect("SETs beyond maxmemory fail");
    assert!(first_oom > 50, "{first_oom} SETs before the limit");
    // Reads and deletions still run, and deleting makes room.
    assert_eq!(c.q("GET k:0").await, Reply::bulk(value.as_str()));
    let mut del = vec!["DEL".to_string()];
    del.extend((0..first_oom).map(|i| format!("k:{i}")));
    c.cmd(&del).await;
    assert_eq!(c.q("SET after 1").await, Reply::ok());
    assert_eq!(num(&mut c, "stats", "evicted_keys").await, 0);
    let errors = info(&mut c, "errorstats").await;
    assert!(info_field(&errors, "errorstat_OOM").is_some(), "{errors}");
}

#[tokio::test]
async fn volatile_ttl_evicts_the_soonest_expiring_keys() {
    let s = Server::start(BOUNDED_BACKLOG);
    let mut c = s.raw().await;
    assert_eq!(
        c.q("CONFIG SET maxmemory-policy volatile-ttl maxmemory-samples 10")
            .await,
        Reply::ok()
    );
    let value = "v".repeat(500);
    // 900 keys expiring 1000 + i seconds from now.
    let before = num(&mut c, "memory", "used_memory").await;
    fill(&mut c, "t", 0..900, &value, |i| Some(1000 + i as u64)).await;
    // Room for three quarters as much again: about a quarter of the TTL keys must go.
    let grown = num(&mut c, "memory", "used_memory").await - before;
    let limit = limit_above_current(&mut c, grown * 3 / 4).await;
    // Keys without a TTL push the total over the limit; only TTL keys may go.
    let replies = fill(&mut c, "p", 0..900, &value, |_| None).await;
    assert!(replies.iter().all(|r| *r == Reply::ok()));
    for i in 0..900 {
        assert!(exists(&mut c, &format!("p:{i}")).await, "p:{i} was evicted");
    }
    let kept: Vec<bool> = {
        let mut kept = Vec::new();
        for i in 0..900 {
            kept.push(exists(&mut c, &format!("t:{i}")).await);
        }
        kept
    };
    let evicted = kept.iter().filter(|k| !**k).count();
    assert!(evicted > 50, "{evicted} keys evicted");
    // Sampling picks the soonest-expiring of its samples: nearly all the evicted keys are
    // among the first twice as many to expire.
    let soonest_gone = kept[..2 * evicted].iter().filter(|k| !**k).count();
    assert!(
        soonest_gone * 10 >= evicted * 9,
        "{soonest_gone} of the {evicted} evicted keys among the {} soonest-expiring",
        2 * evicted
    );
    assert!(
        kept[600..].iter().all(|k| *k),
        "a late-expiring key was evicted"
    );
    assert!(num(&mut c, "memory", "used_memory").await <= limit + limit / 100);
}

#[tokio::test]
async fn lfu_counts_accesses_and_object_reports_them() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.q("SET k v").await;
    assert_eq!(c.q("OBJECT IDLETIME k").await, Reply::Int(0));
    assert!(c
        .err("OBJECT FREQ k")
        .await
        .starts_with("ERR An LFU maxmemory policy is not selected"));
    c.q("CONFIG SET maxmemory-policy allkeys-lfu").await;
    c.q("SET f v").await;
    let before = c.int("OBJECT FREQ f").await;
    for _ in 0..200 {
        c.q("GET f").await;
    }
    let after = c.int("OBJECT FREQ f").await;
    assert!(after > before, "OBJECT FREQ {before} -> {after}");
    assert_eq!(c.q("OBJECT FREQ nosuch").await, Reply::Nil);
    assert!(c
        .err("OBJECT IDLETIME f")
        .await
        .starts_with("ERR An LFU maxmemory policy is selected"));
}

#[tokio::test]
async fn evictions_reach_the_standby_as_deletions() {
    if crate::common::target() != Target::Redoubt {
        return; // the shared starter takes `--replicaof HOST:PORT`, Redoubt's form
    }
    // A backlog large enough that the standby never falls behind it (a full resync would
    // hold the evicted values in its snapshot); its bytes count in used_memory.
    let primary = Server::start(&["--repl-backlog-size", "1mb"]);
    let target = primary.addr().to_string();
    let standby = Server::start(&["--replicaof", &target]);
    let mut p = primary.raw().await;
    let mut r = standby.raw().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(&info(&mut r, "replication").await, "master_link_status").as_deref()
        != Some("up")
    {
        assert!(Instant::now() < deadline, "the standby never synced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        p.q("CONFIG SET maxmemory-policy allkeys-random").await,
        Reply::ok()
    );
    limit_above_current(&mut p, 1_800_000).await;
    let value = "v".repeat(1000);
    // Every write finds room: a standby slow to read holds stream bytes that eviction
    // leaves out, so they never make it evict every key and then refuse with OOM.
    for (i, reply) in fill(&mut p, "k", 0..2000, &value, |_| None)
        .await
        .iter()
        .enumerate()
    {
        assert_eq!(*reply, Reply::ok(), "SET k:{i}");
    }
    // Any command may evict while over the limit (Redis's `processCommand`), INFO and KEYS
    // included: lift the limit so the count and the keys below are read from one state.
    assert_eq!(p.q("CONFIG SET maxmemory 0").await, Reply::ok());
    let evicted = num(&mut p, "stats", "evicted_keys").await;
    assert!(evicted > 1000, "evicted_keys {evicted}");
    let keys = |reply: Reply| {
        let mut keys: Vec<String> = match reply {
            Reply::Array(items) => items.iter().map(Reply::text).collect(),
            other => panic!("{other}"),
        };
        keys.sort();
        keys
    };
    let want = keys(p.q("KEYS *").await);
    assert_eq!(want.len() as u64 + evicted, 2000);
    loop {
        let have = keys(r.q("KEYS *").await);
        if have == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "standby keys {} vs primary {}",
            have.len(),
            want.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The standby ignores maxmemory itself (replica-ignore-maxmemory yes).
    assert_eq!(num(&mut r, "stats", "evicted_keys").await, 0);
}
