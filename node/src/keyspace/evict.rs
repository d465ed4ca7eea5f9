//! `maxmemory` and eviction: the per-key access bookkeeping (an LRU clock or an LFU counter
//! packed in one `u32` per key) and the eviction of keys, by policy, until `used_memory` is
//! under the limit. Source: Redis 7.2 `evict.c` (`performEvictions`, the eviction pool,
//! `LFULogIncr`, `LFUDecrAndReturn`) and `object.c` (`estimateObjectIdleTime`).
//!
//! Access word: with an LRU policy, the low 24 bits are the Unix time in seconds of the last
//! access; with an LFU policy, bits 8..24 are the minute of the last decrement and bits 0..8 a
//! logarithmic access counter. As in Redis, switching between LRU and LFU at runtime reads old
//! words in the new meaning until keys are touched again.
//!
//! Eviction samples `maxmemory-samples` keys of every database into a pool of the 16 best
//! candidates kept between rounds (the longest idle, least frequently used or soonest
//! expiring), and removes the best one still present; random policies remove a random key,
//! visiting databases in turn. Each removal is streamed to the standbys as a `DEL`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;

use super::db::Entry;
use super::Store;
use crate::config::Policy;
use crate::value::Value;

/// Candidates the pool keeps (`EVPOOL_SIZE`).
const POOL_SIZE: usize = 16;
/// `LRU_CLOCK_MAX`: the LRU clock wraps at 24 bits of seconds.
const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// A new key's LFU counter (`LFU_INIT_VAL`), so it is not evicted before it can be read.
const LFU_INIT: u32 = 5;
/// The reply to a `denyoom` command that cannot get memory.
pub(crate) const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// How accesses update a key's access word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Touch {
    /// Record the time (LRU clock).
    #[default]
    Lru,
    /// Count the access logarithmically, after decaying the counter.
    Lfu {
        /// `lfu-log-factor`.
        log_factor: u32,
        /// `lfu-decay-time`, minutes per decrement; 0: no decay.
        decay_minutes: u32,
    },
}

impl Touch {
    /// The mode a policy needs: LFU counters for LFU policies, the LRU clock otherwise.
    pub(crate) fn for_policy(policy: Policy, log_factor: u32, decay_minutes: u32) -> Touch {
        match policy {
            Policy::Lfu { .. } => Touch::Lfu {
                log_factor,
                decay_minutes,
            },
            _ => Touch::Lru,
        }
    }

    /// The access word of a key created at `now_ms`.
    pub(crate) fn fresh(self, now_ms: u64) -> u32 {
        match self {
            Touch::Lru => lru_clock(now_ms),
            Touch::Lfu { .. } => (lfu_minutes(now_ms) << 8) | LFU_INIT,
        }
    }

    /// The access word after an access at `now_ms`.
    pub(crate) fn touched(self, word: u32, now_ms: u64) -> u32 {
        match self {
            Touch::Lru => lru_clock(now_ms),
            Touch::Lfu {
                log_factor,
                decay_minutes,
            } => {
                let counter = lfu_log_incr(lfu_decayed(word, now_ms, decay_minutes), log_factor);
                (lfu_minutes(now_ms) << 8) | counter
            }
        }
    }
}

/// Seconds since the epoch, wrapped to 24 bits (`LRU_CLOCK`, resolution 1 s).
fn lru_clock(now_ms: u64) -> u32 {
    ((now_ms / 1000) & u64::from(LRU_CLOCK_MAX)) as u32
}

/// Minutes since the epoch, wrapped to 16 bits (`LFUGetTimeInMinutes`).
fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xFFFF) as u32
}

/// The counter grows by one with probability `1 / ((counter - LFU_INIT) * factor + 1)`,
/// saturating at 255 (`LFULogIncr`).
fn lfu_log_incr(counter: u32, log_factor: u32) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT) as f64;
    let p = 1.0 / (base * f64::from(log_factor) + 1.0);
    if rand::thread_rng().gen::<f64>() < p {
        counter + 1
    } else {
        counter
    }
}

/// The counter of `word` less one per `decay_minutes` elapsed since its last decrement
/// (`LFUDecrAndReturn`).
fn lfu_decayed(word: u32, now_ms: u64, decay_minutes: u32) -> u32 {
    let last = (word >> 8) & 0xFFFF;
    let counter = word & 0xFF;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= last {
        now - last
    } else {
        65535 - last + now
    };
    let periods = elapsed.checked_div(decay_minutes).unwrap_or(0);
    counter.saturating_sub(periods)
}

/// A key's access frequency as `OBJECT FREQ` reports it: its LFU counter after decay.
pub(crate) fn lfu_freq(entry: &Entry, now_ms: u64, decay_minutes: u32) -> u32 {
    lfu_decayed(entry.access, now_ms, decay_minutes)
}

/// Milliseconds since a key was last accessed, from its LRU clock
/// (`estimateObjectIdleTime`); `OBJECT IDLETIME` reports it in seconds.
pub(crate) fn idle_ms(entry: &Entry, now_ms: u64) -> u64 {
    let clock = lru_clock(now_ms);
    let last = entry.access & LRU_CLOCK_MAX;
    let seconds = if clock >= last {
        clock - last
    } else {
        clock + (LRU_CLOCK_MAX - last)
    };
    u64::from(seconds) * 1000
}

/// Elements whose sizes are averaged to estimate a collection's (as `MEMORY USAGE`'s default
/// `SAMPLES 5`).
const SIZE_SAMPLES: usize = 5;
/// Bytes of bookkeeping per key: its slot in the database's map, the key's and the entry's
/// headers.
const KEY_OVERHEAD: u64 = 80;

/// Bytes accounted to `key` holding `value`: the key, the value's bytes and per-element
/// overheads; a collection's elements are estimated from the first few, as Redis's
/// `objectComputeSize` does. Saturates at `u32::MAX`. An estimate only: INFO `used_memory`
/// is the allocator's figure, nothing sums these per key.
#[allow(dead_code)] // Kept for estimates of a key's size; no caller today.
pub(crate) fn entry_size(key: &[u8], value: &Value) -> u32 {
    fn sampled(len: usize, per_element: u64, sizes: impl Iterator<Item = usize>) -> u64 {
        let (mut n, mut total) = (0u64, 0u64);
        for size in sizes.take(SIZE_SAMPLES) {
            n += 1;
            total += size as u64 + per_element;
        }
        (total * len as u64).checked_div(n).unwrap_or(0)
    }
    let value_bytes = match value {
        Value::Str(s) => s.as_bytes().len() as u64,
        Value::Hash(h) => 32 + h.heap_bytes() as u64,
        // Lists are packed: a length byte before and after each element.
        Value::List(l) => 48 + sampled(l.len(), 2, l.iter().map(|i| i.len())),
        Value::Set(s) => 32 + s.heap_bytes() as u64,
        Value::ZSet(z) if z.encoding() == "listpack" => {
            // A packed entry: length byte, member, score (up to 9 bytes).
            32 + sampled(z.len(), 6, z.iter().map(|(m, _)| m.len()))
        }
        Value::ZSet(z) => 96 + sampled(z.len(), 96, z.iter().map(|(m, _)| m.len())),
        Value::Stream(s) => 128 + s.heap_bytes() as u64,
    };
    let total = KEY_OVERHEAD + key.len() as u64 + value_bytes;
    u32::try_from(total).unwrap_or(u32::MAX)
}

/// One eviction candidate: the higher `score`, the better to evict.
#[derive(Clone, Debug)]
struct Candidate {
    score: u64,
    db: usize,
    key: Bytes,
}

/// The eviction pool, kept between rounds as Redis keeps it, plus the random policies'
/// next database.
#[derive(Debug, Default)]
pub(crate) struct Eviction {
    /// Sorted by ascending score; at most `POOL_SIZE`.
    pool: Vec<Candidate>,
    next_db: usize,
}

impl Eviction {
    /// Forgets the candidates (their scores mean something else under a new policy).
    pub(crate) fn clear(&mut self) {
        self.pool.clear();
    }

    /// Inserts a candidate if it beats the worst one of a full pool (`evictionPoolPopulate`).
    fn offer(&mut self, score: u64, db: usize, key: &[u8]) {
        if self.pool.iter().any(|c| c.db == db && c.key == key) {
            return;
        }
        if self.pool.len() == POOL_SIZE {
            if score <= self.pool[0].score {
                return;
            }
            self.pool.remove(0);
        }
        let at = self.pool.partition_point(|c| c.score < score);
        self.pool.insert(
            at,
            Candidate {
                score,
                db,
                key: Bytes::copy_from_slice(key),
            },
        );
    }
}

/// What [`perform`] achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Under the limit (or nothing to do).
    Ok,
    /// Still over the limit after the time budget; keys remain to evict next time.
    Running,
    /// Over the limit with nothing the policy may evict (`EVICT_FAIL`).
    Fail,
}

/// How long one call may evict (`evictionTimeLimitUs`): 50 µs per tenacity step up to 10,
/// growing 15% a step beyond; 100 means no limit.
fn time_limit(tenacity: i64) -> Option<Duration> {
    if tenacity >= 100 {
        return None;
    }
    let us = if tenacity <= 10 {
        50.0 * tenacity.max(0) as f64
    } else {
        500.0 * 1.15f64.powi((tenacity - 10) as i32)
    };
    Some(Duration::from_micros(us as u64))
}

/// Evicts keys until `used_memory`, less the memory not counted for eviction (the
/// append-only file's buffer), is at most `maxmemory` (`performEvictions`), streaming a `DEL`
/// for each to the standbys and counting them in `evicted_keys`. As Redis does, the bytes to
/// free are computed once and keys are evicted until their sizes add up to them; the next
/// write checks again. Does nothing without a limit, and on a standby that ignores it
/// (`replica-ignore-maxmemory`).
pub(crate) fn perform(store: &mut Store, now_ms: u64) -> Outcome {
    let limit = store.config.maxmemory;
    if limit == 0 {
        return Outcome::Ok;
    }
    // The sum of a few counters, read before every write: the rest only when over the limit.
    let used = store.used_memory();
    if used <= limit {
        return Outcome::Ok;
    }
    let counted = used.saturating_sub(store.not_counted_memory());
    if counted <= limit {
        return Outcome::Ok;
    }
    if store.repl.is_replica() && store.config.replica_ignore_maxmemory {
        return Outcome::Ok;
    }
    let policy = store.config.maxmemory_policy;
    if policy == Policy::NoEviction {
        return Outcome::Fail;
    }
    let tenacity = store
        .config
        .params
        .get_i64("maxmemory-eviction-tenacity")
        .unwrap_or(10);
    let budget = time_limit(tenacity);
    let started = Instant::now();
    let outcome = evict_until(store, counted - limit, policy, now_ms, budget, started);
    store.sample_latency("eviction-cycle", started);
    outcome
}

/// Evicts keys until the [`entry_size`] of the evicted ones, measured as each is removed,
/// adds up to `to_free` bytes (`Ok`), or nothing is left to evict (`Fail`), or the `budget`
/// since `started` is spent (`Running`).
fn evict_until(
    store: &mut Store,
    to_free: u64,
    policy: Policy,
    now_ms: u64,
    budget: Option<std::time::Duration>,
    started: Instant,
) -> Outcome {
    let mut freed = 0u64;
    let mut evicted = 0u64;
    while freed < to_free {
        let Some((db, key)) = victim(store, policy, now_ms) else {
            return Outcome::Fail;
        };
        if let Some(entry) = store.dbs[db].remove(&key, now_ms) {
            freed += u64::from(entry_size(&key, &entry.value));
        }
        evicted_key(store, db, &key);
        store.repl.propagate(db, &[b"DEL", &key]);
        store.evicted_keys += 1;
        evicted += 1;
        if evicted % 16 == 0 && budget.is_some_and(|b| started.elapsed() > b) {
            return Outcome::Running;
        }
    }
    Outcome::Ok
}

/// After evicting `key` of `db`: transactions watching it fail, clients caching it are told,
/// and the `evicted` keyspace event is published (Redis's `performEvictions`).
fn evicted_key(store: &mut Store, db: usize, key: &[u8]) {
    store.watches.touch(db, key);
    let limit = store.pubsub_limit();
    store.tracking.invalidate(key, limit);
    store.tracking.broadcast(limit);
    store.notify(db, (crate::pubsub::events::EVICTED, "evicted"), key);
}

/// A candidate's score from its entry, the time and `lfu-decay-time`: higher evicts first.
type Score = fn(&Entry, Option<u64>, u64, u32) -> u64;

/// The next key to evict under `policy`, with its database; `None` when there is none.
fn victim(store: &mut Store, policy: Policy, now_ms: u64) -> Option<(usize, Bytes)> {
    let dbs = store.dbs.len();
    let samples = store.config.maxmemory_samples;
    let decay = store.config.lfu_decay_time;
    let mut rng = rand::thread_rng();
    let (volatile, score): (bool, Score) = match policy {
        Policy::NoEviction => return None,
        Policy::Random { volatile } => {
            for _ in 0..dbs {
                let db = store.eviction.next_db % dbs;
                store.eviction.next_db = store.eviction.next_db.wrapping_add(1);
                if let Some(key) = store.dbs[db].sample_key(volatile, &mut rng) {
                    return Some((db, key));
                }
            }
            return None;
        }
        Policy::Lru { volatile } => (volatile, |e, _, now, _| idle_ms(e, now)),
        Policy::Lfu { volatile } => (volatile, |e, _, now, decay| {
            255 - u64::from(lfu_freq(e, now, decay))
        }),
        Policy::VolatileTtl => (true, |_, at, _, _| u64::MAX - at.unwrap_or(u64::MAX)),
    };
    loop {
        let mut candidates = 0;
        for (index, db) in store.dbs.iter().enumerate() {
            let pool = &mut store.eviction;
            candidates += db.sample(samples, volatile, &mut rng, |key, entry, at| {
                pool.offer(score(entry, at, now_ms, decay), index, key);
            });
        }
        if candidates == 0 {
            store.eviction.clear();
            return None;
        }
        // The best candidate still present; stale ones (deleted meanwhile) are dropped.
        while let Some(best) = store.eviction.pool.pop() {
            let present = store.dbs[best.db].contains_raw(&best.key)
                && (!volatile || store.dbs[best.db].has_expiry(&best.key));
            if present {
                return Some((best.db, best.key));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::RString;

    #[test]
    fn lfu_counter_grows_logarithmically_and_decays() {
        let touch = Touch::Lfu {
            log_factor: 10,
            decay_minutes: 1,
        };
        let now = 1_000_000_000_000;
        let mut word = touch.fresh(now);
        assert_eq!(word & 0xFF, LFU_INIT);
        for _ in 0..1000 {
            word = touch.touched(word, now);
        }
        let after_1000 = word & 0xFF;
        // With factor 10, a thousand hits lift the counter to about 18 (Redis's table).
        assert!((10..=30).contains(&after_1000), "{after_1000}");
        for _ in 0..100_000 {
            word = touch.touched(word, now);
        }
        assert!(word & 0xFF > after_1000);
        // Three minutes idle: three decrements.
        let counter = word & 0xFF;
        assert_eq!(lfu_decayed(word, now + 180_000, 1), counter - 3);
        assert_eq!(lfu_decayed(word, now + 180_000, 0), counter);
    }

    #[test]
    fn idle_time_follows_the_lru_clock_and_wraps() {
        let entry = |access| Entry::test_new(Value::Str(RString::new(b"")), access);
        let now = 5_000_000;
        assert_eq!(idle_ms(&entry(Touch::Lru.fresh(now - 7_000)), now), 7_000);
        assert_eq!(idle_ms(&entry(LRU_CLOCK_MAX - 1), 3_000), 4_000);
    }

    #[test]
    fn the_pool_keeps_the_best_candidates_in_order() {
        let mut eviction = Eviction::default();
        for score in 0..40u64 {
            eviction.offer(score * 7 % 40, 0, &Bytes::from(format!("k{score}")));
        }
        let scores: Vec<u64> = eviction.pool.iter().map(|c| c.score).collect();
        assert_eq!(scores, (24..40).collect::<Vec<_>>());
    }

    #[test]
    fn sizes_follow_the_data() {
        let small = entry_size(b"k", &Value::Str(RString::new(b"v")));
        let big = Value::Str(RString::new(&[0u8; 10_000]));
        assert_eq!(entry_size(b"k", &big), small + 9_999);
    }

    #[test]
    fn time_budget_grows_with_tenacity() {
        assert_eq!(time_limit(10), Some(Duration::from_micros(500)));
        assert!(time_limit(20).unwrap() > time_limit(11).unwrap());
        assert_eq!(time_limit(100), None);
    }
}
