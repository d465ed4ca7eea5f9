//! The counters `INFO` shows, shared by every worker.

use std::sync::atomic::AtomicU64;

/// Counters for `INFO`, shared by every worker.
#[derive(Debug, Default)]
pub(crate) struct ProxyStats {
    /// Clients connected now.
    pub(crate) connected_clients: AtomicU64,
    /// Connections accepted.
    pub(crate) connections_received: AtomicU64,
    /// Requests received.
    pub(crate) commands: AtomicU64,
    /// Clients waiting in a blocking command now.
    pub(crate) blocked_clients: AtomicU64,
    /// Requests sent on to nodes (split ones count once).
    pub(crate) forwarded: AtomicU64,
}
