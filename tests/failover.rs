//! End-to-end tests of health probes, automatic fenced promotion, planned switchover and
//! `redoubt up`: real nodes and a real proxy, with processes killed, paused and restarted.

mod common;

#[path = "proxy/cluster.rs"]
mod cluster;

#[path = "failover/writers.rs"]
mod writers;

#[path = "failover/automatic.rs"]
mod automatic;
#[path = "failover/planned.rs"]
mod planned;
#[path = "failover/pubsub.rs"]
mod pubsub;
#[path = "failover/transactions.rs"]
mod transactions;
#[path = "failover/up.rs"]
mod up;
