//! The counters `INFO` shows, shared by every worker.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use parking_lot::Mutex;

use super::striped::Striped;

/// Counters for `INFO`, shared by every worker.
#[derive(Debug, Default)]
pub(crate) struct ProxyStats {
    /// Clients connected now.
    pub(crate) connected_clients: AtomicU64,
    /// Connections accepted.
    pub(crate) connections_received: AtomicU64,
    /// Connections refused for `maxclients`.
    pub(crate) rejected_connections: AtomicU64,
    /// Requests received.
    pub(crate) commands: Striped,
    /// Clients waiting in a blocking command now.
    pub(crate) blocked_clients: AtomicU64,
    /// Requests sent on to nodes (split ones count once).
    pub(crate) forwarded: Striped,
    /// Error replies by their first word (`ERR`, `WRONGTYPE`...), for `INFO errorstats`.
    pub(crate) errors: Mutex<BTreeMap<String, u64>>,
}

impl ProxyStats {
    /// Counts an error reply (`-PREFIX text`) under its prefix; the table stays small as
    /// Redis's error prefixes are few (it keeps at most 128, as Redis does).
    pub(crate) fn count_error(&self, reply: &[u8]) {
        let text = reply
            .strip_prefix(b"-")
            .or_else(|| reply.strip_prefix(b"!"))
            .unwrap_or(reply);
        let end = text
            .iter()
            .position(|&b| b == b' ' || b == b'\r')
            .unwrap_or(text.len())
            .min(64);
        let prefix = String::from_utf8_lossy(&text[..end]).into_owned();
        let mut errors = self.errors.lock();
        if errors.len() < 128 || errors.contains_key(&prefix) {
            *errors.entry(prefix).or_default() += 1;
        }
    }
}
