//! Memory accounting: INFO `used_memory` is the allocator's count of the process's bytes, so it
//! rises as keys are added, falls after `FLUSHALL`, and `maxmemory` with `allkeys-lru` holds it
//! near the limit; the INFO memory fields and `MEMORY STATS` agree with each other the way
//! Redis documents them (dataset + overhead = used, the ratios of the figures they print).

use crate::common::{encode, info_field, info_fields, target, Raw, Reply, Server, Target};

async fn memory_info(c: &mut Raw) -> String {
    match c.cmd(&["INFO", "memory"]).await {
        Reply::Bulk(b) | Reply::Verbatim(_, b) => String::from_utf8(b).unwrap(),
        other => panic!("INFO memory: {other}"),
    }
}

fn number<T: std::str::FromStr>(info: &str, field: &str) -> T {
    let text = info_field(info, field).unwrap_or_else(|| panic!("INFO lacks {field}:\n{info}"));
    let text = text.trim_end_matches('%');
    text.parse()
        .unwrap_or_else(|_| panic!("{field}:{text} does not parse\n{info}"))
}

async fn used_memory(c: &mut Raw) -> i64 {
    number(&memory_info(c).await, "used_memory")
}

/// `SET prefix:i <value>` for `range`, 50 to a pipeline (so client buffers stay small).
async fn fill(c: &mut Raw, prefix: &str, range: std::ops::Range<usize>, value: &str) {
    let ids: Vec<usize> = range.collect();
    for chunk in ids.chunks(50) {
        let mut batch = Vec::new();
        for &i in chunk {
            batch.extend(encode(&["SET", &format!("{prefix}:{i}"), value]));
        }
        c.send(&batch).await;
        for _ in chunk {
            let reply = c.read_reply().await;
            assert_eq!(reply, Reply::ok());
        }
    }
}

#[tokio::test]
async fn used_memory_follows_the_data_and_maxmemory_holds_it() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let value = "v".repeat(1000);
    let empty = used_memory(&mut c).await;
    fill(&mut c, "k", 0..2000, &value).await;
    let full = used_memory(&mut c).await;
    // Two megabytes of values: at least that much more, and not several times that.
    assert!(
        full - empty >= 2_000_000 && full - empty <= 6_000_000,
        "used_memory went from {empty} to {full} for 2000 values of 1000 bytes"
    );
    assert_eq!(c.q("FLUSHALL SYNC").await, Reply::ok());
    let flushed = used_memory(&mut c).await;
    assert!(
        full - flushed >= 1_800_000,
        "used_memory {full} fell only to {flushed} after FLUSHALL"
    );

    assert_eq!(
        c.q("CONFIG SET maxmemory-policy allkeys-lru").await,
        Reply::ok()
    );
    let limit = flushed + 1_000_000;
    let set = c
        .cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()])
        .await;
    assert_eq!(set, Reply::ok());
    // Four times the room the limit leaves.
    fill(&mut c, "e", 0..4000, &value).await;
    let info = memory_info(&mut c).await;
    let used: i64 = number(&info, "used_memory");
    assert!(
        used <= limit + limit / 20,
        "used_memory {used} is far above maxmemory {limit}"
    );
    assert!(
        used >= limit - 600_000,
        "used_memory {used} is far under maxmemory {limit}: evicted too much"
    );
    let keys = c.q("DBSIZE").await.int();
    assert!(
        (300..4000).contains(&keys),
        "{keys} of 4000 keys kept under a 1 MB margin"
    );
}

/// `printed` (a ratio or percentage INFO prints with two decimals) is `a / b * scale`.
fn assert_ratio(info: &str, field: &str, a: i64, b: i64, scale: f64) {
    let printed: f64 = number(info, field);
    let expected = a as f64 / b as f64 * scale;
    // Two decimals, and figures sampled a moment apart (Redis samples some in its cron).
    assert!(
        (printed - expected).abs() <= 0.011 + expected.abs() * 0.01,
        "{field}:{printed}, expected {expected:.4} from {a} / {b}\n{info}"
    );
}

/// `printed` is `a - b`, give or take `slack` bytes.
fn assert_difference(info: &str, field: &str, a: i64, b: i64, slack: i64) {
    let printed: i64 = number(info, field);
    assert!(
        (printed - (a - b)).abs() <= slack,
        "{field}:{printed}, expected {a} - {b} = {}\n{info}",
        a - b
    );
}

#[tokio::test]
async fn info_memory_fields_are_consistent() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let value = "v".repeat(100);
    fill(&mut c, "k", 0..1000, &value).await;
    for i in 0..100 {
        c.cmd(&["EXPIRE", &format!("k:{i}"), "1000"]).await;
    }
    let info = memory_info(&mut c).await;
    // Redis's order (fields it prints beside these may come between).
    let order = [
        "used_memory",
        "used_memory_human",
        "used_memory_rss",
        "used_memory_rss_human",
        "used_memory_peak",
        "used_memory_peak_human",
        "used_memory_peak_perc",
        "used_memory_overhead",
        "used_memory_startup",
        "used_memory_dataset",
        "used_memory_dataset_perc",
        "allocator_allocated",
        "allocator_active",
        "allocator_resident",
        "total_system_memory",
        "maxmemory",
        "maxmemory_policy",
        "allocator_frag_ratio",
        "allocator_frag_bytes",
        "allocator_rss_ratio",
        "allocator_rss_bytes",
        "rss_overhead_ratio",
        "rss_overhead_bytes",
        "mem_fragmentation_ratio",
        "mem_fragmentation_bytes",
        "mem_not_counted_for_evict",
        "mem_replication_backlog",
        "mem_clients_slaves",
        "mem_clients_normal",
        "mem_aof_buffer",
        "mem_allocator",
    ];
    let names: Vec<String> = info_fields(&info).into_iter().map(|(k, _)| k).collect();
    let positions: Vec<usize> = order
        .iter()
        .map(|f| {
            names
                .iter()
                .position(|n| n == f)
                .unwrap_or_else(|| panic!("INFO lacks {f}:\n{info}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "fields out of Redis's order:\n{info}"
    );

    let get = |field: &str| number::<i64>(&info, field);
    let used = get("used_memory");
    let overhead = get("used_memory_overhead");
    let startup = get("used_memory_startup");
    let dataset = get("used_memory_dataset");
    // Redis reads its counter again after allocating the figures' struct.
    assert!(
        (dataset + overhead - used).abs() <= 1024,
        "dataset {dataset} + overhead {overhead} != used {used}"
    );
    assert!(
        startup > 0 && startup <= overhead && overhead <= used,
        "{info}"
    );
    // A hundred thousand bytes of values are part of the dataset.
    assert!(dataset >= 100_000, "{info}");
    assert_ratio(
        &info,
        "used_memory_dataset_perc",
        dataset,
        used - startup,
        100.0,
    );
    let peak = get("used_memory_peak");
    assert!(peak >= used, "{info}");
    assert_ratio(&info, "used_memory_peak_perc", used, peak, 100.0);

    let (rss, allocated) = (get("used_memory_rss"), get("allocator_allocated"));
    let (active, resident) = (get("allocator_active"), get("allocator_resident"));
    assert!(rss > 0 && allocated > 0 && active >= allocated && resident >= active);
    assert_ratio(&info, "allocator_frag_ratio", active, allocated, 1.0);
    assert_difference(&info, "allocator_frag_bytes", active, allocated, 0);
    assert_ratio(&info, "allocator_rss_ratio", resident, active, 1.0);
    assert_difference(&info, "allocator_rss_bytes", resident, active, 0);
    assert_ratio(&info, "rss_overhead_ratio", rss, resident, 1.0);
    assert_difference(&info, "rss_overhead_bytes", rss, resident, 0);
    // Redis divides figures it sampled in its last cron run; the node reads them now.
    if target() == Target::Redoubt {
        assert_ratio(&info, "mem_fragmentation_ratio", rss, used, 1.0);
        assert_difference(&info, "mem_fragmentation_bytes", rss, used, 0);
    }
    // Without an append-only file nor standbys, at most the backlog's unfilled room is left
    // out of eviction.
    assert_eq!(get("mem_aof_buffer"), 0);
    assert!(get("mem_not_counted_for_evict") <= get("mem_replication_backlog"));
    assert_eq!(get("mem_clients_slaves"), 0);
    if target() == Target::Redoubt {
        // This connection's buffers (Redis 7.0 counts an idle client's as 0).
        assert!(get("mem_clients_normal") > 0, "{info}");
    }
    assert!(info_field(&info, "used_memory_human").is_some_and(|h| h.ends_with(['K', 'M'])));

    // MEMORY STATS reports the same breakdown.
    let stats = c.q("MEMORY STATS").await;
    let stat = |name: &str| {
        stats
            .get(name)
            .unwrap_or_else(|| panic!("MEMORY STATS lacks {name}: {stats:?}"))
            .int()
    };
    let total = stat("total.allocated");
    assert!(
        (stat("dataset.bytes") + stat("overhead.total") - total).abs() <= 1024,
        "{stats:?}"
    );
    assert_eq!(stat("keys.count"), 1000);
    assert_eq!(stat("startup.allocated"), startup);
    assert!(stat("peak.allocated") >= total);
    let db0 = stats.get("db.0").expect("db.0 in MEMORY STATS");
    assert!(db0.get("overhead.hashtable.main").unwrap().int() > 0);
    assert!(db0.get("overhead.hashtable.expires").unwrap().int() > 0);
}
