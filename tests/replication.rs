//! End-to-end tests of replication: real primaries and standbys (`redoubt node --replicaof`)
//! on ephemeral ports, compared through the `redis` crate.

mod common;

#[path = "replication/support.rs"]
mod support;

#[path = "replication/backlog_size.rs"]
mod backlog_size;
#[path = "replication/convergence.rs"]
mod convergence;
#[path = "replication/resync.rs"]
mod resync;
#[path = "replication/scripting.rs"]
mod scripting;
#[path = "replication/streams.rs"]
mod streams;
#[path = "replication/sync_mode.rs"]
mod sync_mode;
#[path = "replication/transactions.rs"]
mod transactions;
#[path = "replication/types.rs"]
mod types;
