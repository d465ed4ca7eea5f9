//! A group: one primary and its standbys, and the choice of member for each read.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::backend::info::Role;
use crate::backend::Backend;
use crate::config::{GroupConfig, ReadPolicy};
use crate::control::topology::SharedTopology;

/// A group of nodes owning a share of the slots, as one worker sees it: its own connections to
/// every member, and the shared topology saying which member is the primary now.
#[derive(Debug)]
pub(crate) struct Group {
    /// Group id from the configuration.
    pub(crate) id: String,
    /// Index of the group in the topology.
    pub(crate) index: usize,
    /// Every member, in configuration order (primary first).
    pub(crate) members: Vec<Arc<Backend>>,
    /// Where reads go.
    pub(crate) read_policy: ReadPolicy,
    /// Lag bound in bytes for standby reads.
    pub(crate) max_lag_bytes: Option<u64>,
    topology: Arc<SharedTopology>,
    rotation: AtomicUsize,
}

impl Group {
    /// A group over already-created backends (one per member, primary first).
    pub(crate) fn new(
        config: &GroupConfig,
        index: usize,
        members: Vec<Arc<Backend>>,
        topology: Arc<SharedTopology>,
    ) -> Group {
        Group {
            id: config.id.clone(),
            index,
            members,
            read_policy: config.read_policy,
            max_lag_bytes: config.max_lag_bytes,
            topology,
            rotation: AtomicUsize::new(0),
        }
    }

    /// The member that is the primary now: every write goes here.
    pub(crate) fn primary(&self) -> &Arc<Backend> {
        let addr = self.topology.primary(self.index);
        self.members
            .iter()
            .find(|m| m.addr == addr)
            .unwrap_or(&self.members[0])
    }

    /// The members that are standbys now.
    pub(crate) fn standbys(&self) -> impl Iterator<Item = &Arc<Backend>> {
        let primary = self.topology.primary(self.index);
        self.members.iter().filter(move |m| m.addr != primary)
    }

    /// Replication lag of `standby` behind the primary in bytes, when both offsets are known
    /// and the node reports itself a standby.
    pub(crate) fn lag_bytes(&self, standby: &Backend) -> Option<u64> {
        if standby.health.role() != Role::Standby {
            return None;
        }
        let primary = self.primary().health.offset()?;
        Some(primary.saturating_sub(standby.health.offset()?))
    }

    /// True when `standby` may serve reads: connected, healthy, reporting itself a standby,
    /// and within the lag bound.
    pub(crate) fn standby_eligible(&self, standby: &Backend) -> bool {
        if !standby.health.is_healthy()
            || !standby.is_connected()
            || standby.health.role() != Role::Standby
        {
            return false;
        }
        match self.max_lag_bytes {
            None => true,
            Some(max) => self.lag_bytes(standby).is_some_and(|lag| lag <= max),
        }
    }

    /// The member that serves the next read under the group's read policy.
    pub(crate) fn read_target(&self) -> &Arc<Backend> {
        let primary = self.primary();
        if self.read_policy == ReadPolicy::Primary || self.members.len() == 1 {
            return primary;
        }
        let eligible: Vec<&Arc<Backend>> = self
            .standbys()
            .filter(|s| self.standby_eligible(s))
            .collect();
        let turn = self.rotation.fetch_add(1, Ordering::Relaxed);
        match self.read_policy {
            ReadPolicy::Primary => primary,
            ReadPolicy::PreferStandby => match eligible.len() {
                0 => primary,
                n => eligible[turn % n],
            },
            ReadPolicy::RoundRobin => {
                let primary_ok = primary.health.is_healthy();
                let members = eligible.len() + usize::from(primary_ok);
                if members == 0 {
                    return primary;
                }
                let pick = turn % members;
                if primary_ok && pick == eligible.len() {
                    primary
                } else {
                    eligible[pick]
                }
            }
            ReadPolicy::LeastLatency => {
                let mut best = primary;
                let mut best_latency = latency_rank(primary);
                for standby in eligible {
                    let latency = latency_rank(standby);
                    if latency < best_latency {
                        best = standby;
                        best_latency = latency;
                    }
                }
                best
            }
        }
    }
}

/// Latency for ranking; members without a sample yet rank last.
fn latency_rank(backend: &Backend) -> u64 {
    match backend.health.latency_us() {
        0 => u64::MAX,
        us => us,
    }
}
