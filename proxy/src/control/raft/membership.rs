//! Who the proxies of the Raft group are, and changing that online. [`Members`] is the
//! membership as this proxy last saw it in Raft (voters and learners with their admin
//! addresses), kept current from openraft's metrics and read on every write (the lease).
//!
//! Adding a proxy (on the leader): a snapshot is built and the log it covers purged, so the
//! new proxy catches up by installing the snapshot; it is added as a learner and waited for
//! until it has caught up, then made a voter (openraft's joint consensus). A proxy that does
//! not catch up in time is taken out again. Removing a proxy makes the rest the voters; the
//! removed one is dropped from the membership altogether.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use openraft::{ChangeMembers, Raft, RaftMetrics};
use serde::{Deserialize, Serialize};
use tracing::info;

use super::{Member, ProxyId, TypeConfig};

/// Longest wait for a new proxy to catch up before it is taken out again.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(10);
/// Longest wait for the snapshot a new proxy will install.
const SNAPSHOT_LIMIT: Duration = Duration::from_secs(2);

/// The members of the group: id → admin address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Members {
    /// Members that vote (and count for quorums).
    pub(crate) voters: BTreeMap<ProxyId, String>,
    /// Members that receive the log but do not vote (a proxy joining).
    pub(crate) learners: BTreeMap<ProxyId, String>,
}

impl Members {
    /// The membership in `metrics`, or `configured` (all voters) while the group has none
    /// (before it is initialized).
    pub(crate) fn from_metrics(
        metrics: &RaftMetrics<ProxyId, Member>,
        configured: &BTreeMap<ProxyId, String>,
    ) -> Members {
        let membership = metrics.membership_config.membership();
        let voters: BTreeSet<ProxyId> = membership.voter_ids().collect();
        if voters.is_empty() {
            return Members {
                voters: configured.clone(),
                learners: BTreeMap::new(),
            };
        }
        let mut members = Members::default();
        for (id, node) in membership.nodes() {
            let side = if voters.contains(id) {
                &mut members.voters
            } else {
                &mut members.learners
            };
            side.insert(*id, node.addr.clone());
        }
        members
    }

    /// The admin address of member `id`, voter or learner.
    pub(crate) fn admin(&self, id: ProxyId) -> Option<&String> {
        self.voters.get(&id).or_else(|| self.learners.get(&id))
    }

    /// Every member, voters first.
    pub(crate) fn all(&self) -> impl Iterator<Item = (&ProxyId, &String)> {
        self.voters.iter().chain(self.learners.iter())
    }
}

/// The body of `POST /proxies/add`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AddProxy {
    /// The new proxy's id (unique, non-zero).
    pub(crate) id: ProxyId,
    /// Its admin address (where Raft calls reach it).
    pub(crate) admin: String,
}

/// The body of `POST /proxies/remove`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RemoveProxy {
    /// The proxy to remove.
    pub(crate) id: ProxyId,
}

/// Adds proxy `id` at `admin` to the group led by `raft` (this proxy must be the leader):
/// a snapshot first, the proxy as a learner until it caught up, then as a voter.
///
/// # Errors
/// A sentence: already a member, not the leader, no quorum, or the proxy did not catch up
/// within 10 s (it is then taken out again).
pub(crate) async fn add(raft: &Raft<TypeConfig>, id: ProxyId, admin: String) -> Result<(), String> {
    if id == 0 {
        return Err("a proxy id must be greater than zero".into());
    }
    let current = Members::from_metrics(&raft.metrics().borrow(), &BTreeMap::new());
    if current.voters.contains_key(&id) {
        return Err(format!("proxy {id} is already a member"));
    }
    if let Some((other, _)) = current
        .all()
        .find(|(other, a)| **a == admin && **other != id)
    {
        return Err(format!("admin address {admin} belongs to proxy {other}"));
    }
    snapshot_and_purge(raft).await;
    let node = Member {
        addr: admin.clone(),
    };
    info!(id, %admin, "adding proxy as learner");
    let added = tokio::time::timeout(CATCH_UP_LIMIT, raft.add_learner(id, node, true)).await;
    match added {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => return Err(err.to_string()),
        Err(_) => {
            let _ = raft
                .change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([id])), false)
                .await;
            return Err(format!(
                "proxy {id} at {admin} did not catch up within {}s; it was taken out again",
                CATCH_UP_LIMIT.as_secs()
            ));
        }
    }
    info!(id, "proxy caught up; making it a voter");
    raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Removes proxy `id` from the group led by `raft` (this proxy must be the leader); the
/// others stay the voters.
///
/// # Errors
/// A sentence: not a member, the last one, not the leader, or no quorum.
pub(crate) async fn remove(raft: &Raft<TypeConfig>, id: ProxyId) -> Result<(), String> {
    let current = Members::from_metrics(&raft.metrics().borrow(), &BTreeMap::new());
    if !current.voters.contains_key(&id) {
        if current.learners.contains_key(&id) {
            raft.change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([id])), false)
                .await
                .map_err(|e| e.to_string())?;
            return Ok(());
        }
        return Err(format!("proxy {id} is not a member"));
    }
    if current.voters.len() == 1 {
        return Err(format!("proxy {id} is the last member"));
    }
    info!(id, "removing proxy");
    raft.change_membership(ChangeMembers::RemoveVoters(BTreeSet::from([id])), false)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Builds a snapshot of everything applied and purges the log it covers, so that a proxy
/// added next catches up from the snapshot. Best effort: without it the new proxy catches
/// up from the log.
async fn snapshot_and_purge(raft: &Raft<TypeConfig>) {
    let Some(applied) = raft.metrics().borrow().last_applied else {
        return;
    };
    if raft.trigger().snapshot().await.is_err() {
        return;
    }
    let deadline = Instant::now() + SNAPSHOT_LIMIT;
    while Instant::now() < deadline {
        let snapshot = raft.metrics().borrow().snapshot;
        if snapshot.is_some_and(|s| s.index >= applied.index) {
            let _ = raft.trigger().purge_log(applied.index).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until this proxy (`id`) is a member of the group and has applied the log up to the
/// entry that made it one: from then on it routes by the committed topology.
pub(crate) async fn joined(raft: &Raft<TypeConfig>, id: ProxyId) {
    let mut metrics = raft.metrics();
    loop {
        {
            let m = metrics.borrow_and_update();
            let membership = &m.membership_config;
            let member = membership.membership().get_node(&id).is_some();
            let applied = match (membership.log_id(), m.last_applied) {
                (Some(at), Some(applied)) => applied.index >= at.index,
                _ => false,
            };
            if member && applied {
                return;
            }
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}
