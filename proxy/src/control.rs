//! The control plane: where the topology is decided to have changed. The failover controller
//! only talks to it through [`ControlPlane`], so the single-proxy implementation here
//! ([`local::LocalControlPlane`]) can be replaced by a Raft-replicated one among several
//! proxies without touching the decision logic.

pub(crate) mod failover;
pub(crate) mod local;
pub(crate) mod topology;

use std::sync::Arc;

use crate::control::topology::Topology;

/// Why a topology change was not committed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ControlError {
    /// Another change won; the caller should re-read the topology and decide again.
    #[error("topology changed concurrently (epoch {current} is newer)")]
    Conflict {
        /// The epoch already committed.
        current: u64,
    },
}

/// Commits topology changes and serves the committed topology.
pub(crate) trait ControlPlane: Send + Sync + std::fmt::Debug {
    /// The committed topology.
    fn current(&self) -> Arc<Topology>;

    /// Commits `next` if it is a successor of the current topology (no group's epoch goes
    /// backwards), then routing switches to it.
    ///
    /// # Errors
    /// [`ControlError::Conflict`] if a group's epoch would go backwards.
    fn commit(&self, next: Topology) -> Result<(), ControlError>;
}
