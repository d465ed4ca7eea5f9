//! The state machine: the committed topology. Applying a change publishes it to the topology
//! the data path reads (when its groups are the configured ones), so routing switches on
//! commit without waiting on anything. Snapshots hold the topology and are persisted under
//! `<dir>/raft/snapshot` (atomically replaced); on start the machine is restored from it and
//! openraft re-applies the committed entries after it.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{
    Entry, EntryPayload, LogId, RaftSnapshotBuilder, StorageError, StorageIOError, StoredMembership,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::file;
use super::{Change, Member, Outcome, ProxyId, TypeConfig};
use crate::control::topology::{SharedTopology, Topology};

/// True if `next` may follow `current`: the same groups in the same order, no epoch going
/// backwards, and a group whose primary changes gets a newer epoch (so two decisions made on
/// the same epoch cannot both be committed).
///
/// # Errors
/// The committed epoch of the first group that conflicts.
pub(crate) fn successor(current: &Topology, next: &Topology) -> std::result::Result<(), u64> {
    if current.groups.len() != next.groups.len() {
        return Err(0);
    }
    for (old, new) in current.groups.iter().zip(&next.groups) {
        let moved = old.primary != new.primary;
        if old.id != new.id || new.epoch < old.epoch || (moved && new.epoch == old.epoch) {
            return Err(old.epoch);
        }
    }
    Ok(())
}

/// What a snapshot holds, and what the machine is.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    last_applied: Option<LogId<ProxyId>>,
    membership: StoredMembership<ProxyId, Member>,
    /// `None` until the first topology is committed (routing uses the configured one).
    topology: Option<Topology>,
}

#[derive(Debug)]
struct Inner {
    state: State,
    /// The last snapshot: its metadata and bytes.
    snapshot: Option<(SnapshotMeta<ProxyId, Member>, Vec<u8>)>,
    snapshot_path: PathBuf,
    /// Where committed topologies are published for routing.
    shared: Arc<SharedTopology>,
    /// Snapshots built, for unique ids.
    built: u64,
}

/// The state machine; clones share it (one serves as the snapshot builder).
#[derive(Clone, Debug)]
pub(crate) struct Machine {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<ProxyId, Member>,
    data: Vec<u8>,
}

impl Machine {
    /// The machine restored from the snapshot under `dir`, if any, publishing into `shared`.
    ///
    /// # Errors
    /// An IO error, or a snapshot file that does not parse.
    pub(crate) fn open(dir: &Path, shared: Arc<SharedTopology>) -> std::io::Result<Machine> {
        std::fs::create_dir_all(dir)?;
        let snapshot_path = dir.join("snapshot");
        let mut inner = Inner {
            state: State::default(),
            snapshot: None,
            snapshot_path,
            shared,
            built: 0,
        };
        if let Some(bytes) = file::read_optional(&inner.snapshot_path)? {
            let stored: StoredSnapshot =
                serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
            let state: State =
                serde_json::from_slice(&stored.data).map_err(std::io::Error::other)?;
            inner.state = state;
            inner.snapshot = Some((stored.meta, stored.data));
            inner.publish();
        }
        Ok(Machine {
            inner: Arc::new(Mutex::new(inner)),
        })
    }
}

impl Inner {
    fn publish(&self) {
        let Some(topology) = &self.state.topology else {
            return;
        };
        let routed = self.shared.get();
        let same_groups = routed.groups.len() == topology.groups.len()
            && routed
                .groups
                .iter()
                .zip(&topology.groups)
                .all(|(a, b)| a.id == b.id);
        if same_groups {
            self.shared.publish(topology.clone());
        } else {
            warn!("the committed topology's groups differ from the configured ones; not routing by it");
        }
    }

    fn apply(&mut self, change: Change) -> Outcome {
        match change {
            Change::Topology(next) => {
                if let Some(current) = &self.state.topology {
                    if let Err(current) = successor(current, &next) {
                        return Outcome::Conflict { current };
                    }
                }
                let epochs: Vec<u64> = next.groups.iter().map(|g| g.epoch).collect();
                info!(?epochs, "topology committed");
                self.state.topology = Some(next);
                self.publish();
                Outcome::Applied
            }
        }
    }

    fn persist_snapshot(
        &self,
        meta: &SnapshotMeta<ProxyId, Member>,
        data: &[u8],
    ) -> std::io::Result<()> {
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data: data.to_vec(),
        };
        let bytes = serde_json::to_vec(&stored).map_err(std::io::Error::other)?;
        file::replace(&self.snapshot_path, &bytes)
    }
}

type Result<T> = std::result::Result<T, StorageError<ProxyId>>;

impl RaftSnapshotBuilder<TypeConfig> for Machine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>> {
        let mut inner = self.inner.lock();
        let data =
            serde_json::to_vec(&inner.state).map_err(|e| StorageIOError::read_state_machine(&e))?;
        inner.built += 1;
        let last = inner.state.last_applied;
        let meta = SnapshotMeta {
            last_log_id: last,
            last_membership: inner.state.membership.clone(),
            snapshot_id: format!(
                "{}-{}-{}",
                last.map_or(0, |l| l.leader_id.term),
                last.map_or(0, |l| l.index),
                inner.built
            ),
        };
        inner
            .persist_snapshot(&meta, &data)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        inner.snapshot = Some((meta.clone(), data.clone()));
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for Machine {
    type SnapshotBuilder = Machine;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<ProxyId>>, StoredMembership<ProxyId, Member>)> {
        let inner = self.inner.lock();
        Ok((inner.state.last_applied, inner.state.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Outcome>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut inner = self.inner.lock();
        let mut outcomes = Vec::new();
        for entry in entries {
            inner.state.last_applied = Some(entry.log_id);
            let outcome = match entry.payload {
                EntryPayload::Blank => Outcome::Applied,
                EntryPayload::Normal(change) => inner.apply(change),
                EntryPayload::Membership(membership) => {
                    inner.state.membership = StoredMembership::new(Some(entry.log_id), membership);
                    Outcome::Applied
                }
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<ProxyId, Member>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<()> {
        let data = snapshot.into_inner();
        let state: State = serde_json::from_slice(&data)
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        let mut inner = self.inner.lock();
        inner
            .persist_snapshot(meta, &data)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        inner.state = state;
        inner.state.last_applied = meta.last_log_id;
        inner.state.membership = meta.last_membership.clone();
        inner.snapshot = Some((meta.clone(), data));
        inner.publish();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>> {
        let inner = self.inner.lock();
        Ok(inner.snapshot.as_ref().map(|(meta, data)| Snapshot {
            meta: meta.clone(),
            snapshot: Box::new(Cursor::new(data.clone())),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::topology::GroupTopology;

    fn topology(groups: &[(&str, u64, u16)]) -> Topology {
        Topology {
            groups: groups
                .iter()
                .map(|(id, epoch, port)| GroupTopology {
                    id: id.to_string(),
                    epoch: *epoch,
                    primary: format!("127.0.0.1:{port}").parse().unwrap(),
                    standbys: Vec::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn successors_never_go_back_and_a_new_primary_needs_a_new_epoch() {
        let current = topology(&[("a", 3, 1), ("b", 1, 2)]);
        type Row<'a> = (&'a [(&'a str, u64, u16)], std::result::Result<(), u64>);
        let table: [Row; 7] = [
            (&[("a", 3, 1), ("b", 1, 2)], Ok(())),
            (&[("a", 4, 9), ("b", 1, 2)], Ok(())),
            (&[("a", 5, 1), ("b", 2, 2)], Ok(())),
            (&[("a", 2, 1), ("b", 1, 2)], Err(3)),
            (&[("a", 3, 9), ("b", 1, 2)], Err(3)),
            (&[("b", 1, 2), ("a", 3, 1)], Err(3)),
            (&[("a", 3, 1)], Err(0)),
        ];
        for (next, expected) in table {
            assert_eq!(successor(&current, &topology(next)), expected, "{next:?}");
        }
    }
}
