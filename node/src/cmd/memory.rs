//! `MEMORY USAGE`, `STATS`, `DOCTOR`, `MALLOC-STATS`, `PURGE` and `HELP`. Sizes are the
//! node's own estimates of its structures (bytes the allocator hands out), not Redis's: the
//! shapes, fields and errors are Redis's. Source: Redis 7.2 `object.c` (`memoryCommand`,
//! `objectComputeSize`, `getMemoryOverheadData`, `getMemoryDoctorReport`).

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{is, parse_i64, CmdResult, Ctx, SYNTAX};
use crate::value::Value;

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("memory|usage", usage),
    ("memory|stats", stats),
    ("memory|doctor", doctor),
    ("memory|malloc-stats", malloc_stats),
    ("memory|purge", purge),
    ("memory|help", help),
];

/// Elements of a collection `MEMORY USAGE` samples by default (Redis's
/// `OBJ_COMPUTE_SIZE_DEF_SAMPLES`).
const DEFAULT_SAMPLES: usize = 5;
/// Bookkeeping per key: its slot in the keyspace map and its hash (an estimate).
const KEY_OVERHEAD: usize = 24;

/// An allocation of `len` bytes rounded up as a size-class allocator would (to 8 bytes).
fn alloc(len: usize) -> usize {
    len.div_ceil(8) * 8
}

/// Estimated bytes of `value`, averaging the first `samples` elements of a collection over
/// all of them (every element when `samples` is `usize::MAX`).
fn value_size(value: &Value, samples: usize) -> usize {
    fn estimate<'a>(len: usize, samples: usize, sizes: impl Iterator<Item = usize> + 'a) -> usize {
        let taken: Vec<usize> = sizes.take(samples.max(1)).collect();
        if taken.is_empty() {
            return 0;
        }
        let sum: usize = taken.iter().sum();
        sum / taken.len() * len
    }
    let boxed = std::mem::size_of::<Value>();
    boxed
        + match value {
            Value::Str(s) => match s.heap_bytes() {
                0 => 0,
                n => alloc(n),
            },
            // Their encodings know their sizes: packs exactly, tables from their allocation
            // and a sample of the elements kept outside it.
            Value::List(l) => l.heap_bytes(),
            Value::Set(s) => s.heap_bytes(),
            Value::Hash(h) => h.heap_bytes(),
            // A listpack packs member, length and score; the skiplist encoding knows its size.
            Value::ZSet(z) => match z.heap_bytes() {
                Some(bytes) => bytes,
                None => estimate(z.len(), samples, z.iter().map(|(m, _)| m.len() + 6)),
            },
            // Blocks are flat buffers: their size is known, not sampled.
            Value::Stream(s) => s.heap_bytes(),
        }
}

/// `MEMORY USAGE key [SAMPLES count]` → estimated bytes of the key and its value, nil when
/// missing. `SAMPLES 0` samples every element.
///
/// # Errors
/// `ERR value is not an integer or out of range`, `ERR syntax error` (negative count or
/// another option).
fn usage(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut samples = DEFAULT_SAMPLES;
    let mut j = 3;
    while j < args.len() {
        if is(&args[j], "samples") && j + 1 < args.len() {
            let n = parse_i64(&args[j + 1])?;
            if n < 0 {
                return Err(Reply::error(SYNTAX));
            }
            samples = if n == 0 { usize::MAX } else { n as usize };
            j += 2;
        } else {
            return Err(Reply::error(SYNTAX));
        }
    }
    let now = ctx.now_ms;
    let key = &args[2];
    Ok(match ctx.db().get(key, now) {
        None => Reply::Null,
        Some(entry) => {
            Reply::Int((value_size(&entry.value, samples) + alloc(key.len()) + KEY_OVERHEAD) as i64)
        }
    })
}

/// A ratio as Redis prints it in `MEMORY STATS` (a double); 0 when `b` is 0.
fn ratio(a: u64, b: u64) -> Reply {
    Reply::Double(if b == 0 { 0.0 } else { a as f64 / b as f64 })
}

/// `MEMORY STATS` → a map (flat array in RESP2) of Redis's memory fields in its order
/// (`getMemoryOverheadData`): the same figures as INFO memory.
fn stats(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let used = ctx.store.used_memory();
    let peak = crate::memory::peak(used);
    let overhead = super::info::overhead(ctx.node, ctx.store);
    let allocator = crate::memory::stats();
    let rss = crate::memory::process_rss();
    let keys: u64 = ctx.store.dbs.iter().map(|db| db.len() as u64).sum();
    let net = used.saturating_sub(overhead.startup);
    let dataset = used.saturating_sub(overhead.total);
    let int = |name: &'static str, n: u64| (Reply::simple(name), Reply::Int(n as i64));
    let signed =
        |name: &'static str, a: u64, b: u64| (Reply::simple(name), Reply::Int(a as i64 - b as i64));
    let mut fields: Vec<(Reply, Reply)> = vec![
        int("peak.allocated", peak),
        int("total.allocated", used),
        int("startup.allocated", overhead.startup),
        int("replication.backlog", overhead.backlog),
        int("clients.slaves", overhead.clients_slaves),
        int("clients.normal", overhead.clients_normal),
        int("cluster.links", 0),
        int("aof.buffer", overhead.aof_buffer),
        int("lua.caches", overhead.lua_caches),
        int("functions.caches", overhead.functions_caches),
    ];
    for &(index, main, expires) in &overhead.dbs {
        fields.push((
            Reply::bulk(format!("db.{index}")),
            Reply::Map(vec![
                int("overhead.hashtable.main", main),
                int("overhead.hashtable.expires", expires),
                int("overhead.hashtable.slot-to-keys", 0),
            ]),
        ));
    }
    fields.extend([
        int("overhead.total", overhead.total),
        int("keys.count", keys),
        int("keys.bytes-per-key", net.checked_div(keys).unwrap_or(0)),
        int("dataset.bytes", dataset),
        (
            Reply::simple("dataset.percentage"),
            Reply::Double(100.0 * dataset as f64 / net.max(1) as f64),
        ),
        (
            Reply::simple("peak.percentage"),
            Reply::Double(100.0 * used as f64 / peak.max(1) as f64),
        ),
        int("allocator.allocated", allocator.allocated),
        int("allocator.active", allocator.active),
        int("allocator.resident", allocator.resident),
        (
            Reply::simple("allocator-fragmentation.ratio"),
            ratio(allocator.active, allocator.allocated),
        ),
        signed(
            "allocator-fragmentation.bytes",
            allocator.active,
            allocator.allocated,
        ),
        (
            Reply::simple("allocator-rss.ratio"),
            ratio(allocator.resident, allocator.active),
        ),
        signed("allocator-rss.bytes", allocator.resident, allocator.active),
        (
            Reply::simple("rss-overhead.ratio"),
            ratio(rss, allocator.resident),
        ),
        signed("rss-overhead.bytes", rss, allocator.resident),
        (Reply::simple("fragmentation"), ratio(rss, used)),
        signed("fragmentation.bytes", rss, used),
    ]);
    Ok(Reply::Map(fields))
}

/// Below this many allocated bytes Redis's doctor declines to judge.
const DOCTOR_MIN_BYTES: u64 = 5 * 1024 * 1024;

/// `MEMORY DOCTOR` → Redis's report: the "empty instance" text under 5 MB, else the
/// "no issue" text (the node has no peak, fragmentation or client-buffer detectors yet).
fn doctor(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let text = if crate::memory::used_memory() < DOCTOR_MIN_BYTES {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
    } else {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
    };
    Ok(Reply::bulk_static(text))
}

/// `MEMORY MALLOC-STATS` → jemalloc's totals (its `stats.*` counters, in the line format of
/// its own report), between Redis's markers.
fn malloc_stats(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    use tikv_jemalloc_ctl::{epoch, stats};
    if epoch::advance().is_err() {
        return Ok(Reply::bulk_static(
            "Stats not supported for the current allocator",
        ));
    }
    let read = |r: tikv_jemalloc_ctl::Result<usize>| r.unwrap_or(0);
    let text = format!(
        "___ Begin jemalloc statistics ___\nAllocated: {}, active: {}, metadata: {}, resident: {}, mapped: {}, retained: {}\n--- End jemalloc statistics ---\n",
        read(stats::allocated::read()),
        read(stats::active::read()),
        read(stats::metadata::read()),
        read(stats::resident::read()),
        read(stats::mapped::read()),
        read(stats::retained::read()),
    );
    Ok(Reply::bulk(text))
}

/// `MEMORY PURGE` → `+OK`. Redis asks jemalloc to return dirty pages; the node's allocator
/// returns them on its own decay schedule (no unsafe `mallctl` here), and Redis also answers
/// `+OK` where it cannot purge.
fn purge(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(Reply::ok())
}

/// `MEMORY HELP` → the subcommands' summary.
fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(Reply::Array(
        [
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
            "HELP",
            "    Prints this help.",
        ]
        .into_iter()
        .map(Reply::simple)
        .collect(),
    ))
}
