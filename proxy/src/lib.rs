#![warn(unreachable_pub)]

//! redoubt-proxy: the RESP front door.
//!
//! Layers, from the top down (a module only uses those below it):
//! - `server`: wiring and the accept loop; `admin`: the HTTP endpoint.
//! - `client`: one client connection: parse, resolve the command once, answer locally,
//!   split or route, and write replies in request order.
//! - `state`: what every worker shares and what each worker owns.
//! - `metrics`: every figure the proxy exports.
//! - `pubsub`: every client's subscriptions and each group's shared subscriber connection.
//! - `control`: the topology, the control plane that commits it, and failover.
//! - `routing`: slot → group, and which member of a group serves a request.
//! - `backend`: one client for talking to a node, pooled connections, health probes.
//! - `config`: the configuration.

mod admin;
mod backend;
mod client;
mod config;
mod control;
mod metrics;
mod pubsub;
mod routing;
mod server;
mod state;

pub use config::{ConfigError, GroupConfig, OutputLimit, PeerConfig, ProxyConfig, ReadPolicy};
pub use server::run;
