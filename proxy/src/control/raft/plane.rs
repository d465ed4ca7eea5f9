//! [`RaftControlPlane`]: the [`ControlPlane`] of a proxy that is one member of a Raft group of
//! proxies. Commits go through the Raft log (`client_write` on the leader); the committed
//! topology reaches routing through the state machine. Every proxy exchanges its probe view
//! with every other one each heartbeat (`/raft/report`); those exchanges also measure whether
//! this proxy still reaches a quorum of the voters, which is the write lease
//! ([`ControlPlane::may_write`]). The members are those of the Raft membership
//! ([`Members`]), which proxies added or removed online change; the configured `proxies`
//! only seed the group's first membership.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::error::{ClientWriteError, RaftError};
use openraft::{Raft, ServerState};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use tracing::info;

use super::figures::Figures;
use super::log::LogStore;
use super::machine::Machine;
use super::membership::{self, Members};
use super::network::Network;
use super::{Change, Member, Outcome, ProxyId, TypeConfig};
use crate::control::topology::{SharedTopology, Topology};
use crate::control::{CommitFuture, ControlError, ControlPlane, RaftStatus};

/// How the Raft member is set up.
#[derive(Clone, Debug)]
pub(crate) struct RaftSetup {
    /// This proxy's id.
    pub(crate) id: ProxyId,
    /// Every member (this one included): id → admin address.
    pub(crate) members: BTreeMap<ProxyId, String>,
    /// Where the log, vote and snapshot live (`<dir>/raft`).
    pub(crate) dir: std::path::PathBuf,
    /// Leader heartbeat interval.
    pub(crate) heartbeat: Duration,
    /// Shortest election timeout of the first proxy; each next proxy (by id) waits a third
    /// of it longer, and each one's range is as wide as it.
    pub(crate) election_timeout: Duration,
    /// Longest time without reaching a quorum of proxies before writes stop.
    pub(crate) lease: Duration,
    /// The cluster password for calls between proxies.
    pub(crate) password: Option<String>,
    /// This proxy joins a running group (`join`): it never initializes one, and waits to be
    /// added ([`RaftControlPlane::joined`]).
    pub(crate) join: bool,
}

/// The Raft setup `config` asks for: `None` for a proxy alone (no `proxies` listed).
pub(crate) fn setup(config: &crate::config::ProxyConfig) -> Option<RaftSetup> {
    let id = config.id?;
    let dir = config.dir.clone()?;
    if config.proxies.is_empty() {
        return None;
    }
    Some(RaftSetup {
        id,
        members: config
            .proxies
            .iter()
            .map(|p| (p.id, p.admin.to_string()))
            .collect(),
        dir,
        heartbeat: config.raft_heartbeat,
        election_timeout: config.raft_election_timeout,
        lease: config.lease(),
        password: config
            .backend_password
            .clone()
            .or_else(|| config.requirepass.clone()),
        join: config.join,
    })
}

/// The body of `POST /raft/report`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ReportBody {
    /// The sender.
    pub(crate) from: ProxyId,
    /// The nodes the sender's probes find down.
    pub(crate) down: Vec<SocketAddr>,
}

/// The answer to `POST /raft/report`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ReportReply {
    /// The epoch of each group in the topology the receiver routes by.
    pub(crate) epochs: Vec<u64>,
}

/// A control plane that is one member of a Raft group.
pub(crate) struct RaftControlPlane {
    raft: Raft<TypeConfig>,
    setup: RaftSetup,
    shared: Arc<SharedTopology>,
    network: Network,
    /// The membership as last seen in Raft.
    members: RwLock<Arc<Members>>,
    /// Last successful exchange with each other proxy.
    contacts: Mutex<HashMap<ProxyId, Instant>>,
    started: Instant,
    leader_changes: AtomicU64,
    /// Last commit's latency, µs.
    commit_us: AtomicU64,
    figures: Figures,
    /// This proxy's latest probe view, sent to the others every [`REPORT_EVERY`].
    view: Mutex<Vec<SocketAddr>>,
}

/// How often each proxy sends its probe view to every other one (the exchange that also
/// keeps the write lease).
pub(crate) const REPORT_EVERY: Duration = Duration::from_millis(100);

impl RaftControlPlane {
    /// Opens the storage under `setup.dir`, starts the Raft member, and initializes the group
    /// with every configured member if it never was (every member may do so: the same
    /// membership is proposed by all), unless this proxy joins a running group.
    ///
    /// # Errors
    /// A sentence: the storage cannot be opened, or Raft refuses the configuration.
    pub(crate) async fn start(
        setup: RaftSetup,
        shared: Arc<SharedTopology>,
    ) -> Result<Arc<RaftControlPlane>, String> {
        let dir = setup.dir.join("raft");
        let log = LogStore::open(&dir).map_err(|e| storage_error(&dir, e))?;
        let machine = Machine::open(&dir, shared.clone()).map_err(|e| storage_error(&dir, e))?;
        let heartbeat = setup.heartbeat.as_millis().max(1) as u64;
        let election = setup.election_timeout.as_millis().max(3) as u64;
        // Staggered by rank (a third of the timeout apart) so that after the leader's loss
        // the survivors rarely stand at once: openraft 0.9 has no pre-vote, and two
        // candidates splitting the votes cost a whole extra round.
        let rank = setup
            .members
            .keys()
            .position(|id| *id == setup.id)
            .unwrap_or(0) as u64;
        let election_min = election + rank * election / 3;
        let config = openraft::Config {
            cluster_name: "redoubt".into(),
            heartbeat_interval: heartbeat,
            election_timeout_min: election_min,
            election_timeout_max: election_min + election,
            install_snapshot_timeout: election.max(1000),
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(1000),
            max_in_snapshot_log_to_keep: 100,
            ..Default::default()
        }
        .validate()
        .map_err(|e| format!("raft settings: {e}"))?;
        let network = Network::new(setup.password.clone());
        let raft = Raft::new(setup.id, Arc::new(config), network.clone(), log, machine)
            .await
            .map_err(|e| format!("raft: {e}"))?;
        if !setup.join {
            tokio::spawn(initialize(raft.clone(), setup.clone()));
        }
        let members = Members::from_metrics(&raft.metrics().borrow(), &setup.members);
        let plane = Arc::new(RaftControlPlane {
            raft,
            setup,
            shared,
            network,
            members: RwLock::new(Arc::new(members)),
            contacts: Mutex::new(HashMap::new()),
            started: Instant::now(),
            leader_changes: AtomicU64::new(0),
            commit_us: AtomicU64::new(0),
            figures: Figures::default(),
            view: Mutex::new(Vec::new()),
        });
        tokio::spawn(exchange(plane.clone()));
        tokio::spawn(watch_metrics(plane.clone()));
        Ok(plane)
    }

    /// The Raft member, for the RPC handlers.
    pub(crate) fn raft(&self) -> &Raft<TypeConfig> {
        &self.raft
    }

    /// True if `peer` is a member (voter or learner).
    pub(crate) fn is_member(&self, peer: ProxyId) -> bool {
        self.members().admin(peer).is_some()
    }

    /// Records that `peer`, a member routing by a topology with `peer_epochs`, answered an
    /// exchange this proxy sent at `sent`. A peer that routes any group by a newer epoch than
    /// this proxy is not counted: a proxy that reaches a quorum but has not applied a
    /// promotion the others committed (healed after a partition) must not take writes by its
    /// stale topology (see [`ControlPlane::may_write`]).
    fn contact_at(&self, peer: ProxyId, peer_epochs: &[u64], sent: Instant) {
        if peer == self.setup.id || !self.is_member(peer) {
            return;
        }
        let mine = self.epochs();
        let current = peer_epochs.len() == mine.len()
            && peer_epochs
                .iter()
                .zip(&mine)
                .all(|(peer, mine)| peer <= mine);
        if current {
            let mut contacts = self.contacts.lock();
            let last = contacts.entry(peer).or_insert(sent);
            *last = (*last).max(sent);
        }
    }

    /// The epoch of each group in the topology this proxy routes by.
    pub(crate) fn epochs(&self) -> Vec<u64> {
        self.shared.get().groups.iter().map(|g| g.epoch).collect()
    }

    /// True if `peer` is a voter (its probe view counts towards a failover's quorum).
    pub(crate) fn is_voter(&self, peer: ProxyId) -> bool {
        self.members().voters.contains_key(&peer)
    }

    /// The membership as last seen in Raft.
    pub(crate) fn members(&self) -> Arc<Members> {
        self.members.read().clone()
    }

    /// Adds proxy `id` at `admin` online (this proxy must be the leader): it catches up from
    /// a snapshot as a learner, then becomes a voter.
    ///
    /// # Errors
    /// A sentence (see [`membership::add`]).
    pub(crate) async fn add_proxy(&self, id: ProxyId, admin: String) -> Result<(), String> {
        membership::add(&self.raft, id, admin).await
    }

    /// Removes proxy `id` online (this proxy must be the leader).
    ///
    /// # Errors
    /// A sentence (see [`membership::remove`]).
    pub(crate) async fn remove_proxy(&self, id: ProxyId) -> Result<(), String> {
        membership::remove(&self.raft, id).await
    }

    /// Waits until this proxy is a member and has applied the log up to the entry that made
    /// it one (a joining proxy serves no client before).
    pub(crate) async fn joined(&self) {
        membership::joined(&self.raft, self.setup.id).await;
    }

    /// The figures kept for `/metrics`.
    pub(crate) fn figures(&self) -> &Figures {
        &self.figures
    }

    /// The cluster password other proxies must present, if one is set.
    pub(crate) fn password(&self) -> Option<&str> {
        self.setup.password.as_deref()
    }

    /// The shared network client (for forwarding a switchover to the leader).
    pub(crate) fn network(&self) -> &Network {
        &self.network
    }
}

impl std::fmt::Debug for RaftControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftControlPlane")
            .field("id", &self.setup.id)
            .field("members", &self.setup.members)
            .finish_non_exhaustive()
    }
}

fn storage_error(dir: &Path, err: std::io::Error) -> String {
    format!("raft storage in {}: {err}", dir.display())
}

/// Initializes the group with every configured member if it never was: the proxy with the
/// lowest id at once, the others only if no leader has reached them after a while (that
/// proxy may be down at the first start). Proposing the same membership everywhere is safe;
/// waiting only avoids needless elections at start.
async fn initialize(raft: Raft<TypeConfig>, setup: RaftSetup) {
    let first = setup.members.keys().next() == Some(&setup.id);
    if !first {
        tokio::time::sleep(setup.election_timeout * 10).await;
    }
    match raft.is_initialized().await {
        Ok(false) => {}
        Ok(true) | Err(_) => return,
    }
    let members: BTreeMap<ProxyId, Member> = setup
        .members
        .iter()
        .map(|(id, addr)| (*id, Member { addr: addr.clone() }))
        .collect();
    match raft.initialize(members).await {
        Ok(()) => info!(id = setup.id, "raft group initialized"),
        Err(err) => info!(%err, "raft group not initialized here"),
    }
}

/// Sends this proxy's view to every other proxy each [`REPORT_EVERY`], each call on its own
/// so a slow peer delays no other. A peer that answers counts as reached at the time the call
/// was sent (the lease never counts on more than was seen), unless it routes by a newer
/// topology than this proxy. Only these round trips count: a report received may have been
/// sent long ago (held up by a partition and delivered when it heals).
async fn exchange(plane: Arc<RaftControlPlane>) {
    let mut ticker = tokio::time::interval(REPORT_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let body = Arc::new(ReportBody {
            from: plane.setup.id,
            down: plane.view.lock().clone(),
        });
        let members = plane.members();
        for (id, addr) in members.all() {
            if *id == plane.setup.id {
                continue;
            }
            let (plane, body, id, addr) = (plane.clone(), body.clone(), *id, addr.clone());
            tokio::spawn(async move {
                let sent = Instant::now();
                let reply: Result<ReportReply, _> = plane
                    .network
                    .post(&addr, "/raft/report", &*body, plane.setup.lease)
                    .await;
                match reply {
                    Ok(reply) => {
                        plane.contact_at(id, &reply.epochs, sent);
                    }
                    Err(err) => tracing::debug!(peer = id, %err, "report not delivered"),
                }
            });
        }
    }
}

/// Keeps the membership current, and counts leader changes and logs them.
async fn watch_metrics(plane: Arc<RaftControlPlane>) {
    let mut metrics = plane.raft.metrics();
    let mut leader = None;
    loop {
        let members = Members::from_metrics(&metrics.borrow_and_update(), &plane.setup.members);
        if **plane.members.read() != members {
            info!(voters = ?members.voters.keys().collect::<Vec<_>>(),
                learners = ?members.learners.keys().collect::<Vec<_>>(), "raft membership");
            plane
                .contacts
                .lock()
                .retain(|id, _| members.admin(*id).is_some());
            *plane.members.write() = Arc::new(members);
        }
        let now = metrics.borrow().current_leader;
        if now != leader {
            if now.is_some() {
                plane.leader_changes.fetch_add(1, Ordering::Relaxed);
                plane.figures.leader_changes.inc();
                info!(
                    leader = now,
                    term = metrics.borrow().current_term,
                    "raft leader"
                );
            }
            leader = now;
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

impl ControlPlane for RaftControlPlane {
    fn current(&self) -> Arc<Topology> {
        self.shared.get()
    }

    fn commit(&self, next: Topology) -> CommitFuture<'_> {
        Box::pin(async move {
            let started = Instant::now();
            let result = self.raft.client_write(Change::Topology(next)).await;
            let elapsed = started.elapsed();
            self.commit_us
                .store(elapsed.as_micros() as u64, Ordering::Relaxed);
            self.figures.commit(elapsed);
            match result {
                Ok(response) => match response.data {
                    Outcome::Applied => Ok(()),
                    Outcome::Conflict { current } => Err(ControlError::Conflict { current }),
                },
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => {
                    Err(ControlError::NotLeader)
                }
                Err(err) => Err(ControlError::Raft(err.to_string())),
            }
        })
    }

    fn is_leader(&self) -> bool {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        metrics.state == ServerState::Leader && metrics.current_leader == Some(self.setup.id)
    }

    fn proxies(&self) -> usize {
        self.members().voters.len()
    }

    fn may_write(&self, _group: usize) -> Result<(), String> {
        let members = self.members();
        let voters = &members.voters;
        let quorum = voters.len() / 2 + 1;
        let now = Instant::now();
        let contacts = self.contacts.lock();
        let reached = voters
            .keys()
            .filter(|id| {
                **id == self.setup.id
                    || contacts
                        .get(id)
                        .is_some_and(|at| now.duration_since(*at) <= self.setup.lease)
            })
            .count();
        drop(contacts);
        // Right after a start, give the exchanges one lease to begin.
        if reached >= quorum || now.duration_since(self.started) <= self.setup.lease {
            Ok(())
        } else {
            Err(format!(
                "this proxy reaches {reached} of {} proxies, fewer than a quorum",
                voters.len()
            ))
        }
    }

    fn leader_admin(&self) -> Option<String> {
        let leader = self.raft.metrics().borrow().current_leader?;
        self.members().admin(leader).cloned()
    }

    fn report(&self, down: Vec<SocketAddr>) {
        *self.view.lock() = down;
    }

    fn status(&self) -> Option<RaftStatus> {
        let metrics = self.raft.metrics().borrow().clone();
        let now = Instant::now();
        let contacts = self.contacts.lock().clone();
        let replication = metrics.replication.clone().unwrap_or_default();
        let voters = self.members();
        let members = voters
            .all()
            .map(|(id, addr)| {
                let matched = replication.get(id).copied().flatten().map(|l| l.index);
                let contact_ms = contacts
                    .get(id)
                    .map(|at| now.duration_since(*at).as_millis() as u64);
                let role = if voters.voters.contains_key(id) {
                    "voter"
                } else {
                    "learner"
                };
                (*id, addr.clone(), matched, contact_ms, role)
            })
            .collect();
        Some(RaftStatus {
            id: self.setup.id,
            state: format!("{:?}", metrics.state).to_lowercase(),
            leader: metrics.current_leader,
            term: metrics.current_term,
            last_log_index: metrics.last_log_index,
            applied_index: metrics.last_applied.map(|l| l.index),
            snapshot_index: metrics.snapshot.map(|l| l.index),
            members,
            leader_changes: self.leader_changes.load(Ordering::Relaxed),
            last_commit_us: self.commit_us.load(Ordering::Relaxed),
            writable: self.may_write(0).is_ok(),
        })
    }
}
