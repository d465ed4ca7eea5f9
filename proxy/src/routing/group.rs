//! A group: one primary and its standbys, and the choice of member for each read.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use super::read_policy::{self, Choice, Member};
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
    /// The primary's position in `members`, with the topology generation it was read at:
    /// `(generation + 1) << 16 | position`, 0 before the first read.
    primary_at: AtomicU64,
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
            primary_at: AtomicU64::new(0),
        }
    }

    /// The member that is the primary now: every write goes here.
    pub(crate) fn primary(&self) -> &Arc<Backend> {
        let generation = self.topology.generation();
        let cached = self.primary_at.load(Ordering::Relaxed);
        if cached >> 16 == generation + 1 {
            if let Some(member) = self.members.get((cached & 0xffff) as usize) {
                return member;
            }
        }
        let addr = self.topology.primary(self.index);
        let position = self
            .members
            .iter()
            .position(|m| m.addr == addr)
            .unwrap_or(0);
        if position <= 0xffff {
            self.primary_at
                .store((generation + 1) << 16 | position as u64, Ordering::Relaxed);
        }
        &self.members[position]
    }

    /// The group's configuration epoch now (it rises with each promotion).
    pub(crate) fn epoch(&self) -> u64 {
        self.topology
            .epoch_cell(self.index)
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The members that are standbys now.
    pub(crate) fn standbys(&self) -> impl Iterator<Item = &Arc<Backend>> {
        let primary = self.topology.primary(self.index);
        self.members.iter().filter(move |m| m.addr != primary)
    }

    /// What the read choice needs of `backend` now.
    fn view(backend: &Backend) -> Member {
        Member {
            healthy: backend.health.is_healthy(),
            connected: backend.is_connected(),
            role: backend.health.role(),
            offset: backend.health.offset(),
            latency_us: backend.health.latency_us(),
        }
    }

    /// The member that serves the next read under the group's read policy (see
    /// [`read_policy::choose`]).
    pub(crate) fn read_target(&self) -> &Arc<Backend> {
        let primary = self.primary();
        if self.read_policy == ReadPolicy::Primary || self.members.len() == 1 {
            return primary;
        }
        let standbys: Vec<&Arc<Backend>> = self.standbys().collect();
        let views: Vec<Member> = standbys.iter().map(|s| Self::view(s)).collect();
        let turn = self.rotation.fetch_add(1, Ordering::Relaxed);
        let choice = read_policy::choose(
            self.read_policy,
            self.max_lag_bytes,
            &Self::view(primary),
            &views,
            turn,
        );
        match choice {
            Choice::Primary => primary,
            Choice::Standby(index) => standbys[index],
        }
    }
}
