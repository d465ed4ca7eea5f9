//! The keyspace and everything commands read or change under one lock: the databases, the
//! configuration and per-command statistics.
//!
//! One mutex guards the whole store. A connection takes it once for each batch of pipelined
//! requests and runs them back to back, so every command, multi-key ones included (`MSET`,
//! `RENAME`, `COPY`), is atomic: no client can observe half of one. Parsing, reply encoding and
//! socket IO happen outside the lock, on every core. Source of the model: Redis's single command
//! thread with IO threads.

pub(crate) mod access;
pub(crate) mod db;
pub(crate) mod evict;
pub(crate) mod table;
pub(crate) mod watch;

use std::collections::HashMap;

use crate::blocking::BlockingRegistry;
use crate::config::Config;
use crate::pubsub::{events, OutputLimit, PubSub};
use crate::replication::Replication;
use crate::tracking::Tracking;
use db::{Db, ExpiryMode};
use watch::Watches;

/// Upper bounds (µs) of the command latency histogram's buckets; a last `+Inf` bucket follows.
pub(crate) const LATENCY_BOUNDS_US: [u64; 16] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
    500_000, 1_000_000,
];
/// Buckets of the latency histogram: one per bound plus `+Inf`.
pub(crate) const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_US.len() + 1;

/// The bucket a command that took `usec` µs falls in.
pub(crate) fn latency_bucket(usec: u64) -> usize {
    LATENCY_BOUNDS_US.partition_point(|&bound| bound < usec)
}

/// Calls and time spent for one command (INFO `commandstats`).
#[derive(Clone, Debug, Default)]
pub(crate) struct CommandStat {
    /// Times the command ran (including calls that returned an error).
    pub(crate) calls: u64,
    /// Total time spent running it, in microseconds.
    pub(crate) usec: u64,
    /// Calls refused before running (arity, authentication).
    pub(crate) rejected_calls: u64,
    /// Calls that ran and returned an error.
    pub(crate) failed_calls: u64,
    /// Calls by running time, bucketed by [`LATENCY_BOUNDS_US`] (for the
    /// metrics' latency histogram).
    pub(crate) latency_buckets: [u64; LATENCY_BUCKETS],
    /// Calls by running time as Redis keeps them (INFO `latencystats`, `LATENCY HISTOGRAM`),
    /// made at the first call tracked under `latency-tracking`.
    pub(crate) histogram: Option<crate::observe::histogram::Histogram>,
}

/// The lock-protected state.
#[derive(Debug)]
pub(crate) struct Store {
    /// The databases, `config.databases` of them.
    pub(crate) dbs: Vec<Db>,
    /// Runtime configuration.
    pub(crate) config: Config,
    /// Per-command statistics keyed by `name` or `container|sub`.
    pub(crate) command_stats: hashbrown::HashMap<String, CommandStat, foldhash::fast::RandomState>,
    /// Error replies by their prefix (INFO `errorstats`).
    pub(crate) error_stats: HashMap<String, u64>,
    /// Commands processed (INFO `total_commands_processed`).
    pub(crate) commands_processed: u64,
    /// Key lookups that found a key (INFO `keyspace_hits`).
    pub(crate) keyspace_hits: u64,
    /// Key lookups that found nothing (INFO `keyspace_misses`).
    pub(crate) keyspace_misses: u64,
    /// Keys removed to stay under `maxmemory` (INFO `evicted_keys`).
    pub(crate) evicted_keys: u64,
    /// The eviction pool (see [`evict`]).
    pub(crate) eviction: evict::Eviction,
    /// `used_memory` when the store was made, before any data was loaded (INFO
    /// `used_memory_startup`).
    pub(crate) startup_memory: u64,
    /// Writes since start (INFO `rdb_changes_since_last_save`).
    dirty: u64,
    /// Clients blocked on keys, and the keys ready to serve them.
    pub(crate) blocking: BlockingRegistry,
    /// Role, replication ids and offsets, backlog, standbys.
    pub(crate) repl: Replication,
    /// Highest configuration epoch presented to this node (kept in its epoch file).
    pub(crate) epoch: u64,
    /// Keys watched by `WATCH` and their versions.
    pub(crate) watches: Watches,
    /// Channel, pattern and shard channel subscriptions.
    pub(crate) pubsub: PubSub,
    /// What the running write streams to standbys in place of itself, when its handler
    /// decided it (stream commands: XADD's generated ID, XREADGROUP's XCLAIMs); taken by
    /// `exec::effects`.
    pub(crate) pending_effects: Option<Vec<Vec<bytes::Bytes>>>,
    /// Snapshot bookkeeping (INFO `persistence`).
    pub(crate) saves: SaveStatus,
    /// Append-only file bookkeeping (`crate::aof` keeps it).
    pub(crate) aof: crate::aof::state::AofState,
    /// Client-side caching: who caches which keys.
    pub(crate) tracking: Tracking,
    /// Slow log, latency monitor and `MONITOR` clients.
    pub(crate) observe: crate::observe::Observe,
}

/// Where the node stands with its snapshots (INFO `persistence`; `crate::persist` keeps it).
#[derive(Debug)]
pub(crate) struct SaveStatus {
    /// Unix seconds of the last successful save (or of the start): `rdb_last_save_time`.
    pub(crate) last_save_unix: u64,
    /// The dirty counter as of the last successful save's snapshot.
    pub(crate) dirty_at_save: u64,
    /// The dirty counter when the running background save took its snapshot.
    pub(crate) dirty_at_bgsave: u64,
    /// When the running background save started; `None` when none runs.
    pub(crate) bgsave_started: Option<std::time::Instant>,
    /// A `BGSAVE SCHEDULE` waiting for the running save to end.
    pub(crate) bgsave_scheduled: bool,
    /// Outcome of the last background save: `rdb_last_bgsave_status`.
    pub(crate) last_bgsave_ok: bool,
    /// Outcome of the last save of any kind (writes are refused while it is an error and
    /// `stop-writes-on-bgsave-error` is on).
    pub(crate) last_save_ok: bool,
    /// Seconds the last background save took; -1 before the first (`rdb_last_bgsave_time_sec`).
    pub(crate) last_bgsave_secs: i64,
    /// When the last failed save was tried (automatic saves retry 5 s later, as Redis).
    pub(crate) last_failure: Option<std::time::Instant>,
    /// Successful saves since start (`rdb_saves`).
    pub(crate) saves: u64,
    /// Size in bytes of the last file written.
    pub(crate) last_size: u64,
    /// Keys loaded at start (`rdb_last_load_keys_loaded`).
    pub(crate) loaded_keys: u64,
    /// Keys of the file dropped at start because they had expired
    /// (`rdb_last_load_keys_expired`).
    pub(crate) loaded_expired: u64,
    /// A snapshot taken and not yet handed to the saver task.
    pub(crate) pending: Option<PendingSave>,
    /// Wakes the saver task (a snapshot was taken or scheduled).
    pub(crate) wake: std::sync::Arc<tokio::sync::Notify>,
}

/// A snapshot whose capture has begun, for the saver task to write.
#[derive(Debug)]
pub(crate) struct PendingSave {
    /// File to write.
    pub(crate) path: std::path::PathBuf,
    /// `rdbcompression`, `rdbchecksum` when it was taken.
    pub(crate) options: crate::rdb::WriteOptions,
    /// Aux fields as of the instant it was taken.
    pub(crate) info: crate::rdb::SnapshotInfo,
    /// The function libraries' sources as of that instant.
    pub(crate) functions: Vec<bytes::Bytes>,
    /// Per non-empty database: index, keys, keys with a TTL, first cursor of the capture.
    pub(crate) dbs: Vec<(usize, u64, u64, usize)>,
}

impl Default for SaveStatus {
    fn default() -> Self {
        SaveStatus {
            last_save_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            dirty_at_save: 0,
            dirty_at_bgsave: 0,
            bgsave_started: None,
            bgsave_scheduled: false,
            last_bgsave_ok: true,
            last_save_ok: true,
            last_bgsave_secs: -1,
            last_failure: None,
            saves: 0,
            last_size: 0,
            loaded_keys: 0,
            loaded_expired: 0,
            pending: None,
            wake: std::sync::Arc::new(tokio::sync::Notify::new()),
        }
    }
}

impl Store {
    /// A store with `config.databases` empty databases.
    pub(crate) fn new(config: Config) -> Self {
        let mut store = Store {
            dbs: (0..config.databases).map(|_| Db::default()).collect(),
            config,
            command_stats: hashbrown::HashMap::default(),
            error_stats: HashMap::new(),
            commands_processed: 0,
            keyspace_hits: 0,
            keyspace_misses: 0,
            evicted_keys: 0,
            eviction: evict::Eviction::default(),
            startup_memory: crate::memory::used_memory(),
            dirty: 0,
            pending_effects: None,
            blocking: BlockingRegistry::default(),
            repl: Replication::new(crate::replication::random_hex_id()),
            epoch: 0,
            watches: Watches::default(),
            pubsub: PubSub::default(),
            saves: SaveStatus::default(),
            aof: crate::aof::state::AofState::default(),
            tracking: Tracking::default(),
            observe: crate::observe::Observe::default(),
        };
        store.epoch = store.load_epoch();
        store.repl.backlog_size = store.config.repl_backlog_size as usize;
        store.apply_touch_mode();
        store
    }

    /// Sets every database's access bookkeeping for the current eviction policy (after
    /// `CONFIG SET maxmemory-policy`, `lfu-log-factor` or `lfu-decay-time`).
    pub(crate) fn apply_touch_mode(&mut self) {
        let c = &self.config;
        let touch =
            evict::Touch::for_policy(c.maxmemory_policy, c.lfu_log_factor, c.lfu_decay_time);
        for db in &mut self.dbs {
            db.touch = touch;
        }
    }

    /// Evicts keys by the `maxmemory-policy` until `used_memory` is under `maxmemory`
    /// (see [`evict::perform`]); `Fail` when over the limit with nothing to evict.
    pub(crate) fn evict(&mut self, now_ms: u64) -> evict::Outcome {
        evict::perform(self, now_ms)
    }

    /// INFO `used_memory`, what `maxmemory` limits: the bytes the process has allocated, as
    /// the global allocator counts them ([`crate::memory::used_memory`], Redis's
    /// `zmalloc_used_memory`). Cheap: read before every write when `maxmemory` is set.
    pub(crate) fn used_memory(&self) -> u64 {
        crate::memory::used_memory()
    }

    /// INFO `mem_not_counted_for_evict`: bytes of `used_memory` that eviction leaves out
    /// (Redis's `freeMemoryGetNotCountedMemory`), since evicting keys would not reduce them:
    /// the append-only file's buffer, and the room the replication backlog's ring has
    /// allocated ahead of the bytes it holds (the ring doubles as it fills, up to
    /// `repl-backlog-size`; Redis's backlog grows block by block, so only the bytes held
    /// count), and the pieces of stream or snapshot the standby links are writing now (Redis
    /// leaves out its replicas' output buffers). Without the last, a standby slow to read
    /// would make one write evict every key.
    pub(crate) fn not_counted_memory(&self) -> u64 {
        let ring_room = self
            .repl
            .backlog
            .as_ref()
            .map_or(0, |b| b.allocated().saturating_sub(b.histlen()) as u64);
        let sending = self.repl.sending.load(std::sync::atomic::Ordering::Relaxed);
        self.aof_buffer_memory() + ring_room + sending
    }

    /// INFO `mem_aof_buffer`: stream bytes waiting for the append-only file's writer, as the
    /// buffer's capacity.
    pub(crate) fn aof_buffer_memory(&self) -> u64 {
        self.repl
            .aof
            .as_ref()
            .map_or(0, |feed| feed.buffer_capacity() as u64)
    }

    /// INFO `mem_replication_backlog`: bytes the replication backlog has allocated.
    pub(crate) fn backlog_memory(&self) -> u64 {
        self.repl
            .backlog
            .as_ref()
            .map_or(0, |b| b.allocated() as u64)
    }

    /// The key tables' own bytes in database `db` (their slots and buckets as allocated),
    /// apart from the contents that keys and values keep outside them: `(main, expires)`, as
    /// `MEMORY STATS` `overhead.hashtable.main` and `.expires` (Redis counts its dicts' slots
    /// the same way).
    pub(crate) fn key_tables_memory(&self, db: usize) -> (u64, u64) {
        self.dbs[db].tables_memory()
    }

    /// Where the epoch is kept: `<dir>/redoubt-<port>.epoch`.
    pub(crate) fn epoch_path(&self) -> std::path::PathBuf {
        self.config
            .dir
            .join(format!("redoubt-{}.epoch", self.config.port))
    }

    fn load_epoch(&self) -> u64 {
        std::fs::read_to_string(self.epoch_path())
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Raises the node's epoch to `epoch` if higher, writing it to the epoch file first
    /// (atomically: a temporary file renamed over the old one), so a restart keeps it.
    ///
    /// # Errors
    /// The IO error when the file cannot be written; the epoch is then left unchanged.
    pub(crate) fn raise_epoch(&mut self, epoch: u64) -> std::io::Result<()> {
        if epoch <= self.epoch {
            return Ok(());
        }
        let path = self.epoch_path();
        let tmp = path.with_extension("epoch.tmp");
        std::fs::write(&tmp, format!("{epoch}\n"))?;
        std::fs::rename(&tmp, &path)?;
        self.epoch = epoch;
        Ok(())
    }

    /// Feeds the latency monitor: `event` (`expire-cycle`, `eviction-cycle`...) took the time
    /// since `started`; recorded when it reaches `latency-monitor-threshold` (Redis's
    /// `latencyAddSampleIfNeeded`).
    pub(crate) fn sample_latency(&mut self, event: &str, started: std::time::Instant) {
        let threshold = self.config.latency_monitor_threshold_ms;
        let ms = started.elapsed().as_millis() as u64;
        if threshold > 0 && ms >= threshold {
            let now = crate::state::unix_ms() / 1000;
            self.observe.latency.add(event, ms, now);
        }
    }

    /// Whether key accesses leave the access words alone (`CLIENT NO-TOUCH`), in every
    /// database: set for one command at a time. Cheap when nothing changes.
    pub(crate) fn set_no_touch(&mut self, no_touch: bool) {
        if self.dbs.first().is_some_and(|db| db.no_touch == no_touch) {
            return;
        }
        for db in &mut self.dbs {
            db.no_touch = no_touch;
        }
    }

    /// Sets how every database treats expired keys (see [`ExpiryMode`]).
    pub(crate) fn set_expiry_mode(&mut self, mode: ExpiryMode) {
        for db in &mut self.dbs {
            db.mode = mode;
        }
    }

    /// Streams a `DEL` for every key removed by expiry since the last call (primary only; the
    /// logs are cleared either way), touching watched keys, invalidating cached ones and
    /// publishing `expired` events.
    pub(crate) fn propagate_expired(&mut self) {
        for index in 0..self.dbs.len() {
            if self.dbs[index].expired_log.is_empty() {
                continue;
            }
            let keys = std::mem::take(&mut self.dbs[index].expired_log);
            let limit = self.pubsub_limit();
            for key in keys {
                self.watches.touch(index, &key);
                self.tracking.invalidate(&key, limit);
                self.notify(index, (events::EXPIRED, "expired"), &key);
                self.repl.propagate(index, &[b"DEL", &key]);
                // A blocked XREADGROUP learns that its stream is gone.
                self.blocking.signal(index, &key);
            }
            self.tracking.broadcast(limit);
        }
    }

    /// The `client-output-buffer-limit pubsub` in force.
    pub(crate) fn pubsub_limit(&self) -> OutputLimit {
        let (hard, soft, secs) = self.config.client_output_buffer_limit[2];
        OutputLimit {
            hard,
            soft,
            soft_for: std::time::Duration::from_secs(secs),
        }
    }

    /// Publishes keyspace event `event` of class `class` (a `crate::pubsub::events` flag) on
    /// `key` of database `db`, when `notify-keyspace-events` enables it. Source: Redis's
    /// `notifyKeyspaceEvent`.
    pub(crate) fn notify(&self, db: usize, event: (u32, &str), key: &[u8]) {
        let flags = self.config.notify_keyspace_events;
        if flags == 0 {
            return;
        }
        events::notify(&self.pubsub, flags, self.pubsub_limit(), event, db, key);
    }

    /// Keys removed by expiry in every database.
    pub(crate) fn expired_keys(&self) -> u64 {
        self.dbs.iter().map(|db| db.expired_keys).sum()
    }
}
