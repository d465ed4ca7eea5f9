//! redoubt-proxy: the RESP front door.
//!
//! A client's requests flow `server` (accept) → `session` (parse, then per request: answer
//! locally in `local`, split or fan out in `merge`, or route by key slot through the
//! `slot_table` to a `group`'s primary or read target) → `backend` (multiplexed pipelined
//! connections per node, with health probes) → replies resolved in request order.

pub mod admin;
pub mod backend;
pub mod config;
pub mod control;
pub mod failover;
pub mod group;
pub mod local;
pub mod merge;
pub mod metrics;
pub mod server;
pub mod session;
pub mod slot_table;
pub mod topology;

use bytes::Bytes;

pub use config::ProxyConfig;
pub use server::run;

/// The Redis version the proxy reports in `HELLO` and `INFO`, as the nodes do.
pub const REDIS_VERSION: &str = "7.2.4";

/// Encodes a request as a RESP multibulk.
pub fn encode_request(args: &[&[u8]]) -> Bytes {
    redoubt_protocol::request::encode_request(args)
}

/// Encodes parsed request arguments as a RESP multibulk.
pub fn encode_args(args: &[Bytes]) -> Bytes {
    let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
    encode_request(&refs)
}
