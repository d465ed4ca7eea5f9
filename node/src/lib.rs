#![warn(unreachable_pub)]
//! redoubt-node: a Redis-compatible data node.
//!
//! Layers, top down (a module imports only from modules below it):
//! - `server`: accept loop and background tasks (active expiry, standby link, metrics).
//! - `connection`: one client's loop: parse a batch, run it under one store lock, write the
//!   replies in request order; serves clients blocked on keys made ready.
//! - `standby`: the link to a primary: handshake, snapshot, then the stream applied through
//!   `exec`; started by the signal `REPLICAOF` leaves in the replication state.
//! - `exec`: resolve a request once, check it, run its handler from the handler table, keep
//!   command statistics, stream its effect to standbys.
//! - `cmd`: command families, each registering its handlers; `Ctx` is what a handler gets.
//! - `aof`: the append-only file (Redis 7 multi-part): the stream's bytes written and fsynced
//!   by `appendfsync`, rewrites without fork, loading at start through `exec`.
//! - `persist`: RDB snapshots (`SAVE`, `BGSAVE`, the `save` schedule) and loading at start.
//! - `metrics`: the Prometheus exposition, read from `state` at scrape time.
//! - `state`: `NodeState`, shared by every task of one node.
//! - `keyspace`: the locked store: databases, expiry, typed key access, statistics.
//! - `replication`: backlog, replication state, the primary's side of a standby link.
//! - `blocking`: the registry of clients blocked on keys.
//! - `tracking`: client-side caching: who caches which keys, invalidation messages.
//! - `client`, `config`, `glob`, `memory`, `value`: sessions, configuration, matching,
//!   allocation accounting and the value types, at the bottom.

mod aof;
mod blocking;
mod client;
mod cmd;
mod config;
mod connection;
mod exec;
mod glob;
mod keyspace;
pub mod memory;
mod metrics;
mod observe;
pub(crate) mod params;
mod persist;
mod pubsub;
pub(crate) mod rdb;
mod replication;
pub(crate) mod script;
mod server;
mod standby;
mod state;
mod tracking;
pub mod transfer;
mod value;

pub use config::Config;
pub use server::{run, run_with_metrics};

/// The Redis version the node reports (`INFO redis_version`, `HELLO` `version`): the release
/// whose command semantics it follows, so clients enable the matching features.
pub const REDIS_VERSION: &str = "7.2.4";
