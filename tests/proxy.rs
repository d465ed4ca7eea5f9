//! End-to-end tests of `redoubt proxy`: real nodes and a real proxy on ephemeral ports, driven
//! through the `redis` crate and raw RESP.

mod common;

#[path = "proxy/blocking.rs"]
mod blocking;
#[path = "proxy/cluster.rs"]
mod cluster;
#[path = "proxy/cluster_mode.rs"]
mod cluster_mode;
#[path = "proxy/commands.rs"]
mod commands;
#[path = "proxy/databases.rs"]
mod databases;
#[path = "proxy/failures.rs"]
mod failures;
#[path = "proxy/multikey.rs"]
mod multikey;
#[path = "proxy/pubsub.rs"]
mod pubsub;
#[path = "proxy/reads.rs"]
mod reads;
#[path = "proxy/routing.rs"]
mod routing;
#[path = "proxy/scripts.rs"]
mod scripts;
#[path = "proxy/server_commands.rs"]
mod server_commands;
#[path = "proxy/transactions.rs"]
mod transactions;
