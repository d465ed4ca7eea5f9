//! The control plane: where the topology is decided to have changed. The failover controller
//! only talks to it through [`ControlPlane`]: the single-proxy implementation
//! ([`local::LocalControlPlane`]) and the Raft-replicated one among several proxies
//! ([`raft::plane::RaftControlPlane`]) behave alike to the decision logic.

pub(crate) mod failover;
pub(crate) mod local;
pub(crate) mod raft;
pub(crate) mod topology;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

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
    /// This proxy is not (or no longer) the Raft leader; only the leader commits.
    #[error("this proxy is not the control plane's leader")]
    NotLeader,
    /// Raft could not commit (no quorum within the deadline, shutting down).
    #[error("raft: {0}")]
    Raft(String),
}

/// A commit in progress.
pub(crate) type CommitFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(), ControlError>> + Send + 'a>>;

/// One member in [`RaftStatus`]: id, admin address, match index (known on the leader), ms
/// since the last exchange with it, and `voter` or `learner` (a JSON array in `/raft`).
pub(crate) type MemberStatus = (u64, String, Option<u64>, Option<u64>, &'static str);

/// This proxy's view of the Raft group, for `/topology`, `/healthz` and `redoubt ctl raft`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct RaftStatus {
    /// This proxy's id.
    pub(crate) id: u64,
    /// `leader`, `follower`, `candidate` or `learner`.
    pub(crate) state: String,
    /// The leader's id, if one is known.
    pub(crate) leader: Option<u64>,
    /// The current term.
    pub(crate) term: u64,
    /// Index of the last log entry here.
    pub(crate) last_log_index: Option<u64>,
    /// Index of the last entry applied here (committed).
    pub(crate) applied_index: Option<u64>,
    /// Index of the last entry in this proxy's snapshot (a proxy added online starts from
    /// one).
    pub(crate) snapshot_index: Option<u64>,
    /// Every member.
    pub(crate) members: Vec<MemberStatus>,
    /// Leaders seen since start.
    pub(crate) leader_changes: u64,
    /// Latency of the last commit made here, µs.
    pub(crate) last_commit_us: u64,
    /// Whether this proxy holds the write lease (reaches a quorum of proxies).
    pub(crate) writable: bool,
}

/// Commits topology changes and serves the committed topology.
pub(crate) trait ControlPlane: Send + Sync + std::fmt::Debug {
    /// The committed topology.
    fn current(&self) -> Arc<Topology>;

    /// Commits `next` if it is a successor of the current topology (no group's epoch goes
    /// backwards, a new primary comes with a new epoch); routing then switches to it.
    ///
    /// # Errors
    /// [`ControlError::Conflict`] if `next` is not a successor; [`ControlError::NotLeader`] or
    /// [`ControlError::Raft`] when a replicated plane cannot commit here.
    fn commit(&self, next: Topology) -> CommitFuture<'_>;

    /// True if this proxy makes decisions (always for a single proxy).
    fn is_leader(&self) -> bool {
        true
    }

    /// Number of proxies in the control plane.
    fn proxies(&self) -> usize {
        1
    }

    /// Whether writes to `group` may go ahead: a proxy cut off from the quorum of proxies
    /// stops writes after the lease.
    ///
    /// # Errors
    /// The reason, for a `-TRYAGAIN` reply.
    fn may_write(&self, group: usize) -> Result<(), String> {
        let _ = group;
        Ok(())
    }

    /// The leader's admin address, where planned switchovers are forwarded.
    fn leader_admin(&self) -> Option<String> {
        None
    }

    /// Sets this proxy's view (the nodes its probes find down), which a replicated plane
    /// sends to the other proxies on its own schedule.
    fn report(&self, down: Vec<SocketAddr>) {
        let _ = down;
    }

    /// The Raft status, for a replicated plane.
    fn status(&self) -> Option<RaftStatus> {
        None
    }
}

/// A probe view received from another proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Report {
    /// The sender's id.
    pub(crate) from: u64,
    /// The nodes it finds down.
    pub(crate) down: Vec<SocketAddr>,
}
