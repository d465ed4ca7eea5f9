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
/// Bookkeeping per collection element (hash slot, links), an estimate.
const ELEMENT_OVERHEAD: usize = 16;

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
            Value::List(l) => estimate(
                l.len(),
                samples,
                // Elements are packed: a length before and after each.
                l.iter().map(|i| i.len() + 2),
            ),
            Value::Set(s) => estimate(
                s.len(),
                samples,
                s.iter().map(|m| alloc(m.len()) + ELEMENT_OVERHEAD),
            ),
            Value::Hash(h) => estimate(
                h.len(),
                samples,
                h.iter()
                    .map(|(f, v)| alloc(f.len()) + alloc(v.len()) + ELEMENT_OVERHEAD),
            ),
            Value::ZSet(z) => estimate(
                z.len(),
                samples,
                // A listpack packs member, length and score; a skiplist keeps each member
                // twice (by score and by name) with its score.
                z.iter().map(|(m, _)| {
                    if z.encoding() == "listpack" {
                        m.len() + 6
                    } else {
                        2 * alloc(m.len()) + 8 + 2 * ELEMENT_OVERHEAD
                    }
                }),
            ),
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

/// A ratio as Redis prints it in `MEMORY STATS` (a double).
fn ratio(a: u64, b: u64) -> Reply {
    Reply::Double(if b == 0 { 0.0 } else { a as f64 / b as f64 })
}

/// `MEMORY STATS` → a map (flat array in RESP2) of Redis's memory fields, from the
/// allocator's figures and the keyspace.
fn stats(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let memory = crate::memory::stats();
    let backlog = ctx.store.config.repl_backlog_size * u64::from(ctx.store.repl.backlog.is_some());
    let keys: u64 = ctx.store.dbs.iter().map(|db| db.len() as u64).sum();
    let mut overhead = backlog;
    let mut fields: Vec<(Reply, Reply)> = vec![
        (
            Reply::simple("peak.allocated"),
            Reply::Int(memory.allocated as i64),
        ),
        (
            Reply::simple("total.allocated"),
            Reply::Int(memory.allocated as i64),
        ),
        (Reply::simple("startup.allocated"), Reply::Int(0)),
        (
            Reply::simple("replication.backlog"),
            Reply::Int(backlog as i64),
        ),
        (Reply::simple("clients.slaves"), Reply::Int(0)),
        (Reply::simple("clients.normal"), Reply::Int(0)),
        (Reply::simple("cluster.links"), Reply::Int(0)),
        (Reply::simple("aof.buffer"), Reply::Int(0)),
        (Reply::simple("lua.caches"), Reply::Int(0)),
        (Reply::simple("functions.caches"), Reply::Int(0)),
    ];
    for (index, db) in ctx.store.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        let main = (db.len() * KEY_OVERHEAD) as u64;
        let expires = (db.expires_len() * KEY_OVERHEAD) as u64;
        overhead += main + expires;
        fields.push((
            Reply::bulk(format!("db.{index}")),
            Reply::Map(vec![
                (
                    Reply::simple("overhead.hashtable.main"),
                    Reply::Int(main as i64),
                ),
                (
                    Reply::simple("overhead.hashtable.expires"),
                    Reply::Int(expires as i64),
                ),
                (
                    Reply::simple("overhead.hashtable.slot-to-keys"),
                    Reply::Int(0),
                ),
            ]),
        ));
    }
    let dataset = memory.allocated.saturating_sub(overhead);
    fields.extend([
        (Reply::simple("overhead.total"), Reply::Int(overhead as i64)),
        (Reply::simple("keys.count"), Reply::Int(keys as i64)),
        (
            Reply::simple("keys.bytes-per-key"),
            Reply::Int(memory.allocated.checked_div(keys).unwrap_or(0) as i64),
        ),
        (Reply::simple("dataset.bytes"), Reply::Int(dataset as i64)),
        (
            Reply::simple("dataset.percentage"),
            Reply::Double(100.0 * dataset as f64 / memory.allocated.max(1) as f64),
        ),
        (Reply::simple("peak.percentage"), Reply::Double(100.0)),
        (
            Reply::simple("allocator.allocated"),
            Reply::Int(memory.allocated as i64),
        ),
        (
            Reply::simple("allocator.resident"),
            Reply::Int(memory.resident as i64),
        ),
        (
            Reply::simple("allocator-rss.ratio"),
            ratio(memory.resident, memory.allocated),
        ),
        (
            Reply::simple("fragmentation"),
            ratio(memory.resident, memory.allocated),
        ),
        (
            Reply::simple("fragmentation.bytes"),
            Reply::Int(memory.resident.saturating_sub(memory.allocated) as i64),
        ),
    ]);
    Ok(Reply::Map(fields))
}

/// Below this many allocated bytes Redis's doctor declines to judge.
const DOCTOR_MIN_BYTES: u64 = 5 * 1024 * 1024;

/// `MEMORY DOCTOR` → Redis's report: the "empty instance" text under 5 MB, else the
/// "no issue" text (the node has no peak, fragmentation or client-buffer detectors yet).
fn doctor(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let text = if crate::memory::stats().allocated < DOCTOR_MIN_BYTES {
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
