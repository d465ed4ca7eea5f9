//! The keyspace and everything commands read or change under one lock: the databases, the
//! configuration and per-command statistics.
//!
//! One mutex guards the whole store. A connection takes it once for each batch of pipelined
//! requests and runs them back to back, so every command, multi-key ones included (`MSET`,
//! `RENAME`, `COPY`), is atomic: no client can observe half of one. Parsing, reply encoding and
//! socket IO happen outside the lock, on every core. Source of the model: Redis's single command
//! thread with IO threads.

use std::collections::HashMap;

use crate::blocking::BlockingRegistry;
use crate::config::Config;
use crate::db::Db;

/// Calls and time spent for one command (INFO `commandstats`).
#[derive(Clone, Copy, Debug, Default)]
pub struct CommandStat {
    /// Times the command ran (including calls that returned an error).
    pub calls: u64,
    /// Total time spent running it, in microseconds.
    pub usec: u64,
    /// Calls refused before running (arity, authentication).
    pub rejected_calls: u64,
    /// Calls that ran and returned an error.
    pub failed_calls: u64,
}

/// The lock-protected state.
#[derive(Debug)]
pub struct Store {
    /// The databases, `config.databases` of them.
    pub dbs: Vec<Db>,
    /// Runtime configuration.
    pub config: Config,
    /// Per-command statistics keyed by `name` or `container|sub`.
    pub command_stats: HashMap<String, CommandStat>,
    /// Error replies by their prefix (INFO `errorstats`).
    pub error_stats: HashMap<String, u64>,
    /// Commands processed (INFO `total_commands_processed`).
    pub commands_processed: u64,
    /// Key lookups that found a key (INFO `keyspace_hits`).
    pub keyspace_hits: u64,
    /// Key lookups that found nothing (INFO `keyspace_misses`).
    pub keyspace_misses: u64,
    /// Writes since start (INFO `rdb_changes_since_last_save`).
    pub dirty: u64,
    /// Clients blocked on keys, and the keys ready to serve them.
    pub blocking: BlockingRegistry,
}

impl Store {
    /// A store with `config.databases` empty databases.
    pub fn new(config: Config) -> Self {
        Store {
            dbs: (0..config.databases).map(|_| Db::default()).collect(),
            config,
            command_stats: HashMap::new(),
            error_stats: HashMap::new(),
            commands_processed: 0,
            keyspace_hits: 0,
            keyspace_misses: 0,
            dirty: 0,
            blocking: BlockingRegistry::default(),
        }
    }

    /// Keys removed by expiry in every database.
    pub fn expired_keys(&self) -> u64 {
        self.dbs.iter().map(|db| db.expired_keys).sum()
    }

    /// Counts one lookup as a hit or a miss.
    pub fn count_lookup(&mut self, hit: bool) {
        if hit {
            self.keyspace_hits += 1;
        } else {
            self.keyspace_misses += 1;
        }
    }
}
