//! redoubt-node: a Redis-compatible data node.
//!
//! Requests flow `server` (accept) → `connection` (parse a batch with the shared request
//! parser) → `cmd` (look up, check, run each request against the `store` under one lock) →
//! replies encoded in request order. The store holds 16 `db`s of `value`s with expiry times;
//! expired keys are removed lazily on access and by the server's active expiry cycle.

pub mod blocking;
pub mod client;
pub mod cmd;
pub mod config;
pub mod connection;
pub mod db;
pub mod glob;
pub mod memory;
pub mod metrics;
pub mod replication;
mod script;
pub mod server;
pub mod store;
pub mod value;

pub use config::Config;
pub use server::{run, run_with_metrics};

/// The Redis version the node reports (`INFO redis_version`, `HELLO` `version`): the release
/// whose command semantics it follows, so clients enable the matching features.
pub const REDIS_VERSION: &str = "7.2.4";
