//! End-to-end tests of the Raft control plane: three real proxies agreeing on the topology of
//! real nodes, with proxies and primaries killed and restarted.

mod common;

#[path = "failover/writers.rs"]
mod writers;

#[path = "control/proxies.rs"]
mod proxies;

#[path = "control/raft.rs"]
mod raft;

#[path = "control/membership.rs"]
mod membership;

#[path = "control/netns.rs"]
mod netns;

#[path = "control/partition.rs"]
mod partition;
