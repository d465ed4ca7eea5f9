//! The counters `INFO` shows, shared by every worker.

use std::sync::atomic::AtomicU64;

/// Counters for `INFO`, shared by every worker.
#[derive(Debug, Default)]
pub struct ProxyStats {
    /// Clients connected now.
    pub connected_clients: AtomicU64,
    /// Connections accepted.
    pub connections_received: AtomicU64,
    /// Requests received.
    pub commands: AtomicU64,
    /// Requests sent on to nodes (split ones count once).
    pub forwarded: AtomicU64,
}
