//! What the store keeps about the append-only file (behind the store lock): the open files,
//! the writer, the rewrite under way and the figures INFO `persistence` reports.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::manifest::AofFile;
use super::writer::{Files, Writer};

/// Append-only file bookkeeping (one per node, in `Store`).
#[derive(Debug)]
pub(crate) struct AofState {
    /// Directory, manifest and open incremental file (its own lock, taken after the store's).
    pub(crate) files: Arc<Mutex<Files>>,
    /// The writer while `appendonly` is on.
    pub(crate) writer: Option<Arc<Writer>>,
    /// When the running rewrite began.
    pub(crate) rewrite_started: Option<Instant>,
    /// A rewrite waits for a background save to end (`aof_rewrite_scheduled`).
    pub(crate) scheduled: bool,
    /// Bumped when `appendonly` is switched off: a rewrite of an older generation is dropped.
    pub(crate) generation: u64,
    /// Seconds the last rewrite took; -1 before the first (`aof_last_rewrite_time_sec`).
    pub(crate) last_rewrite_secs: i64,
    /// Outcome of the last rewrite (`aof_last_bgrewrite_status`).
    pub(crate) last_rewrite_ok: bool,
    /// Rewrites done (`aof_rewrites`).
    pub(crate) rewrites: u64,
    /// Failed rewrites in a row (`aof_rewrites_consecutive_failures`).
    pub(crate) consecutive_failures: u64,
    /// `aof_current_size` when the last rewrite ended or the file was loaded: automatic
    /// rewrites measure growth from it (`aof_base_size`).
    pub(crate) rewrite_base_size: u64,
    /// When the last failed rewrite ended (automatic rewrites wait before trying again).
    pub(crate) last_failure: Option<Instant>,
    /// A rewrite whose capture began, for the rewrite task to write.
    pub(crate) pending: Option<RewriteJob>,
    /// Wakes the rewrite task.
    pub(crate) wake: Arc<Notify>,
    /// Full resyncs seen so far on a standby (a new one replaces the dataset: rewrite).
    pub(crate) resyncs_seen: u64,
}

impl Default for AofState {
    fn default() -> Self {
        AofState {
            files: Arc::new(Mutex::new(Files::default())),
            writer: None,
            rewrite_started: None,
            scheduled: false,
            generation: 0,
            last_rewrite_secs: -1,
            last_rewrite_ok: true,
            rewrites: 0,
            consecutive_failures: 0,
            rewrite_base_size: 0,
            last_failure: None,
            pending: None,
            wake: Arc::new(Notify::new()),
            resyncs_seen: 0,
        }
    }
}

impl AofState {
    /// True while a rewrite runs (its capture holds the databases: no `BGSAVE` meanwhile).
    pub(crate) fn rewriting(&self) -> bool {
        self.rewrite_started.is_some()
    }
}

/// A rewrite whose snapshot was taken under the lock, to be written in the background.
#[derive(Debug)]
pub(crate) struct RewriteJob {
    /// The base file to create.
    pub(crate) base: AofFile,
    /// RDB base (`aof-use-rdb-preamble yes`) or RESP commands.
    pub(crate) rdb: bool,
    /// `rdbcompression`, `rdbchecksum`.
    pub(crate) options: crate::rdb::WriteOptions,
    /// Aux fields of an RDB base.
    pub(crate) info: crate::rdb::SnapshotInfo,
    /// Per captured database: index, keys, keys with a TTL, first cursor.
    pub(crate) dbs: Vec<(usize, u64, u64, usize)>,
    /// Incremental files from this index on were opened when the rewrite began: they stay.
    pub(crate) first_kept_incr: usize,
    /// [`AofState::generation`] when it began.
    pub(crate) generation: u64,
    /// Unix ms when it began (keys expired by then are left out of a RESP base).
    pub(crate) now_ms: u64,
}
