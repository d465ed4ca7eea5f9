//! A group: one primary and its standbys, and the choice of member for each read.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::backend::health::Role;
use crate::backend::Backend;
use crate::config::{GroupConfig, ReadPolicy};

/// A group of nodes owning a share of the slots.
#[derive(Debug)]
pub struct Group {
    /// Group id from the configuration.
    pub id: String,
    /// The primary: every write goes here.
    pub primary: Arc<Backend>,
    /// The standbys.
    pub standbys: Vec<Arc<Backend>>,
    /// Where reads go.
    pub read_policy: ReadPolicy,
    /// Lag bound in bytes for standby reads.
    pub max_lag_bytes: Option<u64>,
    rotation: AtomicUsize,
}

impl Group {
    /// A group over already-created backends.
    pub fn new(config: &GroupConfig, primary: Arc<Backend>, standbys: Vec<Arc<Backend>>) -> Group {
        Group {
            id: config.id.clone(),
            primary,
            standbys,
            read_policy: config.read_policy,
            max_lag_bytes: config.max_lag_bytes,
            rotation: AtomicUsize::new(0),
        }
    }

    /// Replication lag of `standby` behind the primary in bytes, when both offsets are known
    /// and the node reports itself a standby.
    pub fn lag_bytes(&self, standby: &Backend) -> Option<u64> {
        if standby.health.role() != Role::Standby {
            return None;
        }
        let primary = self.primary.health.offset()?;
        Some(primary.saturating_sub(standby.health.offset()?))
    }

    /// True when `standby` may serve reads: connected, healthy, and within the lag bound.
    pub fn standby_eligible(&self, standby: &Backend) -> bool {
        if !standby.health.is_healthy() || !standby.is_connected() {
            return false;
        }
        match self.max_lag_bytes {
            None => true,
            Some(max) => self.lag_bytes(standby).is_some_and(|lag| lag <= max),
        }
    }

    /// The member that serves the next read under the group's read policy.
    pub fn read_target(&self) -> &Arc<Backend> {
        if self.read_policy == ReadPolicy::Primary || self.standbys.is_empty() {
            return &self.primary;
        }
        let eligible: Vec<&Arc<Backend>> = self
            .standbys
            .iter()
            .filter(|s| self.standby_eligible(s))
            .collect();
        let turn = self.rotation.fetch_add(1, Ordering::Relaxed);
        match self.read_policy {
            ReadPolicy::Primary => &self.primary,
            ReadPolicy::PreferStandby => match eligible.len() {
                0 => &self.primary,
                n => eligible[turn % n],
            },
            ReadPolicy::RoundRobin => {
                let primary_ok = self.primary.health.is_healthy();
                let members = eligible.len() + usize::from(primary_ok);
                if members == 0 {
                    return &self.primary;
                }
                let pick = turn % members;
                if primary_ok && pick == eligible.len() {
                    &self.primary
                } else {
                    eligible[pick]
                }
            }
            ReadPolicy::LeastLatency => {
                let mut best = &self.primary;
                let mut best_latency = latency_rank(&self.primary);
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
