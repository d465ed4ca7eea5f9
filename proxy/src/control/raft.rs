//! The Raft control plane: every proxy is a member of one openraft group whose state machine
//! is the topology (each group's epoch, primary and standbys). A change is committed through
//! the log before any node is told; every member applies committed changes to the topology the
//! data path reads, so routing never waits on Raft.
//!
//! - [`figures`]: its metrics.
//! - [`file`]: crash-safe files (atomic replace, append-only framed records with checksums).
//! - [`log`]: the log and vote store (`RaftLogStorage`), under `<dir>/raft/`.
//! - [`machine`]: the state machine and its snapshots (`RaftStateMachine`).
//! - [`membership`]: the members, and adding or removing a proxy online.
//! - [`network`]: Raft RPCs to the other proxies over their admin HTTP endpoints.
//! - [`plane`]: [`plane::RaftControlPlane`], the [`ControlPlane`](super::ControlPlane) on top.

pub(crate) mod figures;
pub(crate) mod file;
pub(crate) mod log;
pub(crate) mod machine;
pub(crate) mod membership;
pub(crate) mod network;
pub(crate) mod plane;

use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::control::topology::Topology;

/// A proxy's id in the Raft group (`id` in its configuration).
pub(crate) type ProxyId = u64;

/// A member's address: its admin HTTP endpoint.
pub(crate) type Member = openraft::BasicNode;

openraft::declare_raft_types!(
    /// The Raft types of the control plane.
    pub(crate) TypeConfig:
        D = Change,
        R = Outcome,
        NodeId = ProxyId,
        Node = Member,
        SnapshotData = Cursor<Vec<u8>>,
);

/// A log entry's payload: a change to the topology.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Change {
    /// Replace the topology; applied only if it is a successor of the current one (see
    /// [`machine::successor`]).
    Topology(Topology),
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Topology(t) => {
                let epochs: Vec<u64> = t.groups.iter().map(|g| g.epoch).collect();
                write!(f, "topology(epochs {epochs:?})")
            }
        }
    }
}

/// What applying a [`Change`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Outcome {
    /// The change is the topology now.
    Applied,
    /// Refused: a group's epoch would go backwards, or its primary change without a new epoch.
    Conflict {
        /// The committed epoch of the first conflicting group.
        current: u64,
    },
}
