//! The cluster topology: for each group its epoch, its primary and its standbys. Routing reads
//! it on every request; only the control plane changes it, as a whole, through
//! [`crate::control::ControlPlane::commit`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

/// One group's roles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GroupTopology {
    /// Group id.
    pub(crate) id: String,
    /// Configuration epoch: incremented by every promotion; nodes refuse writes from
    /// connections presenting an older one.
    pub(crate) epoch: u64,
    /// The primary: every write goes here.
    pub(crate) primary: SocketAddr,
    /// Every other member.
    pub(crate) standbys: Vec<SocketAddr>,
}

/// All groups, in configuration order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Topology {
    /// The groups.
    pub(crate) groups: Vec<GroupTopology>,
}

/// The current topology, shared by the control plane (writer) and every worker (readers).
#[derive(Debug)]
pub(crate) struct SharedTopology {
    current: RwLock<Arc<Topology>>,
    /// Per group, the epoch connections must present; raised before a new topology is
    /// published so no request reaches a promoted primary with an older epoch.
    epochs: Vec<Arc<AtomicU64>>,
    /// Counts publications, for those who act on a change ([`SharedTopology::subscribe`]).
    published: tokio::sync::watch::Sender<u64>,
    /// Counts publications too, raised once each is in place: a reader that remembers what it
    /// derived from the topology at one count need not look again until the count moves
    /// (routing does, so requests do not all take the lock).
    generation: AtomicU64,
}

impl SharedTopology {
    /// Shares `topology`.
    pub(crate) fn new(topology: Topology) -> SharedTopology {
        let epochs = topology
            .groups
            .iter()
            .map(|g| Arc::new(AtomicU64::new(g.epoch)))
            .collect();
        SharedTopology {
            current: RwLock::new(Arc::new(topology)),
            epochs,
            published: tokio::sync::watch::channel(0).0,
            generation: AtomicU64::new(0),
        }
    }

    /// How many topologies were published so far; read it before reading the topology, and
    /// what was read holds while it stays the same.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current topology.
    pub(crate) fn get(&self) -> Arc<Topology> {
        self.current.read().clone()
    }

    /// The primary of group `group` now.
    pub(crate) fn primary(&self, group: usize) -> SocketAddr {
        self.current.read().groups[group].primary
    }

    /// The epoch cell of group `group` (read by backend connections).
    pub(crate) fn epoch_cell(&self, group: usize) -> Arc<AtomicU64> {
        self.epochs[group].clone()
    }

    /// Replaces the topology: epochs first, then roles.
    pub(crate) fn publish(&self, topology: Topology) {
        for (cell, group) in self.epochs.iter().zip(&topology.groups) {
            cell.fetch_max(group.epoch, Ordering::SeqCst);
        }
        *self.current.write() = Arc::new(topology);
        self.generation.fetch_add(1, Ordering::Release);
        self.published.send_modify(|count| *count += 1);
    }

    /// A receiver that changes after each [`SharedTopology::publish`].
    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.published.subscribe()
    }
}
