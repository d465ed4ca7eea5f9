//! What the proxy's workers share ([`Shared`]: configuration, slot table, topology, node
//! health, counters, metrics, the failover controller) and what each worker owns ([`Worker`]:
//! its own connections to every node, grouped). Kept apart from the server loop so clients,
//! the admin endpoint and the server all read it from below.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use redoubt_protocol::Protocol;

pub(crate) mod clients;
use clients::ClientRegistry;

use crate::backend::idle::IdleConnections;
use crate::backend::{probe, Backend, ConnectOptions, Health};
use crate::config::ProxyConfig;
use crate::control::failover::controller::{self, ControllerHandle, ControllerSetup};
use crate::control::failover::core::{CoreConfig, GroupSetup};
use crate::control::local::LocalControlPlane;
use crate::control::raft::plane::RaftControlPlane;
use crate::control::topology::{GroupTopology, SharedTopology, Topology};
use crate::control::ControlPlane;
use crate::metrics::state::{OffsetHistory, StateCollector};
use crate::metrics::stats::ProxyStats;
use crate::metrics::ProxyMetrics;
use crate::pubsub::{link::LinkSetup, Hub};
use crate::routing::group::Group;
use crate::routing::slot_table::SlotTable;

/// What every worker shares.
#[derive(Clone, Debug)]
pub(crate) struct Shared {
    /// The configuration.
    pub(crate) config: Arc<ProxyConfig>,
    /// Slot → group.
    pub(crate) slots: Arc<SlotTable>,
    /// Health of each node, by address.
    pub(crate) health: Arc<HashMap<SocketAddr, Arc<Health>>>,
    /// The committed topology (primaries, epochs).
    pub(crate) topology: Arc<SharedTopology>,
    /// Commits topology changes.
    pub(crate) control: Arc<dyn ControlPlane>,
    /// The Raft member, when several proxies share the control plane (for its RPC handlers).
    pub(crate) raft: Option<Arc<RaftControlPlane>>,
    /// Per group: writes are held while set (planned switchover).
    pub(crate) paused: Arc<Vec<AtomicBool>>,
    /// The failover controller, once started.
    pub(crate) controller: Arc<OnceLock<ControllerHandle>>,
    /// Next client id, unique across workers.
    pub(crate) next_client_id: Arc<AtomicU64>,
    /// Every connected client.
    pub(crate) clients: Arc<ClientRegistry>,
    /// Counters.
    pub(crate) stats: Arc<ProxyStats>,
    /// Start time.
    pub(crate) started: Instant,
    /// Prometheus metrics.
    pub(crate) metrics: Arc<ProxyMetrics>,
    /// Primaries' offsets over time, for replication lag in seconds.
    pub(crate) offsets: Arc<OffsetHistory>,
    /// Every client's subscriptions and the groups' shared subscriber connections.
    pub(crate) pubsub: Arc<Hub>,
}

impl Shared {
    /// Shared state for `config`: the slot table, the initial topology (each group's
    /// configured primary, epoch 0 until the nodes report theirs) and one health record per
    /// node, with this proxy alone as the control plane.
    pub(crate) fn new(config: ProxyConfig) -> Shared {
        let ids: Vec<&str> = config.groups.iter().map(|g| g.id.as_str()).collect();
        let slots = Arc::new(SlotTable::derive(&ids));
        let health: HashMap<SocketAddr, Arc<Health>> = config
            .groups
            .iter()
            .flat_map(|g| std::iter::once(g.primary).chain(g.standbys.iter().copied()))
            .map(|addr| (addr, Arc::new(Health::default())))
            .collect();
        let topology = Topology {
            groups: config
                .groups
                .iter()
                .map(|g| GroupTopology {
                    id: g.id.clone(),
                    epoch: 0,
                    primary: g.primary,
                    standbys: g.standbys.clone(),
                })
                .collect(),
        };
        let topology = Arc::new(SharedTopology::new(topology));
        let control: Arc<dyn ControlPlane> = Arc::new(LocalControlPlane::new(topology.clone()));
        let paused = Arc::new(
            config
                .groups
                .iter()
                .map(|_| AtomicBool::new(false))
                .collect(),
        );
        let health = Arc::new(health);
        let stats = Arc::new(ProxyStats::default());
        let offsets = Arc::new(OffsetHistory::default());
        let node_groups = config
            .groups
            .iter()
            .enumerate()
            .flat_map(|(index, g)| {
                std::iter::once(g.primary)
                    .chain(g.standbys.iter().copied())
                    .map(move |addr| (addr, index))
            })
            .collect();
        let collector = StateCollector {
            health: health.clone(),
            topology: topology.clone(),
            slots: slots.clone(),
            stats: stats.clone(),
            offsets: offsets.clone(),
        };
        let mut metrics = ProxyMetrics::new(
            ids.iter().map(|s| s.to_string()).collect(),
            node_groups,
            collector,
        );
        let pubsub = Arc::new(Hub::new(
            config.groups.len(),
            slots.clone(),
            config.client_output_buffer_limit_pubsub,
            config.request_timeout,
        ));
        pubsub.register(&mut metrics.registry);
        let metrics = Arc::new(metrics);
        Shared {
            config: Arc::new(config),
            slots,
            health,
            topology,
            control,
            raft: None,
            paused,
            controller: Arc::new(OnceLock::new()),
            next_client_id: Arc::new(AtomicU64::new(1)),
            clients: Arc::default(),
            stats,
            started: Instant::now(),
            metrics,
            offsets,
            pubsub,
        }
    }

    /// Shared state for `config` with its control plane: this proxy alone, or a member of the
    /// Raft group of `proxies` (routing then starts from the topology last committed).
    ///
    /// # Errors
    /// A sentence when the Raft control plane cannot start (its storage cannot be opened).
    pub(crate) async fn start(config: ProxyConfig) -> Result<Shared, String> {
        let setup = crate::control::raft::plane::setup(&config);
        let mut shared = Shared::new(config);
        if let Some(setup) = setup {
            let raft = RaftControlPlane::start(setup, shared.topology.clone()).await?;
            // Nothing else holds the metrics yet: the Raft figures join the registry.
            if let Some(metrics) = Arc::get_mut(&mut shared.metrics) {
                crate::control::raft::figures::register(&raft, &mut metrics.registry);
            }
            shared.control = raft.clone();
            shared.raft = Some(raft);
        }
        Ok(shared)
    }

    /// Starts one probe task per node, and the failover controller fed by them, on the
    /// current runtime.
    pub(crate) fn start_probes(&self) {
        self.pubsub.start(LinkSetup {
            topology: self.topology.clone(),
            password: self.config.backend_password.clone(),
            connect_timeout: self.config.connect_timeout,
            request_timeout: self.config.request_timeout,
        });
        tokio::spawn(mark_replaced(self.topology.clone(), self.health.clone()));
        tokio::spawn(crate::metrics::state::sample_offsets(
            self.topology.clone(),
            self.health.clone(),
            self.offsets.clone(),
            self.config.probe_interval,
        ));
        let (sink, probes) = tokio::sync::mpsc::unbounded_channel();
        for (addr, health) in self.health.iter() {
            tokio::spawn(probe::probe_loop(
                *addr,
                self.config.backend_password.clone(),
                self.config.probe_interval,
                self.config.down_after,
                health.clone(),
                self.config.failover.then(|| sink.clone()),
            ));
        }
        if !self.config.failover {
            return;
        }
        let current = self.topology.get();
        let groups = self
            .config
            .groups
            .iter()
            .zip(current.groups.iter())
            .map(|(config, topology)| GroupSetup {
                topology: topology.clone(),
                priorities: config.priorities.iter().map(|(a, p)| (*a, *p)).collect(),
                sync_replicas: config.sync_replicas,
            })
            .collect();
        let setup = ControllerSetup {
            config: CoreConfig {
                down_after: self.config.down_after,
                proxies: self.control.proxies(),
            },
            groups,
            password: self.config.backend_password.clone(),
            control: self.control.clone(),
            paused: self.paused.clone(),
            failovers: self.metrics.failovers.clone(),
            health: self.health.clone(),
        };
        let _ = self.controller.set(controller::start(setup, probes));
    }
}

/// Tells a node's [`Health`] each time a committed topology takes the primary role from it,
/// so that every worker's connections to it stop waiting on requests it leaves unanswered
/// (a frozen old primary) instead of waiting for the request timeout.
async fn mark_replaced(
    topology: Arc<SharedTopology>,
    health: Arc<HashMap<SocketAddr, Arc<Health>>>,
) {
    let mut changes = topology.subscribe();
    let mut before = topology.get();
    while changes.changed().await.is_ok() {
        let now = topology.get();
        for (old, new) in before.groups.iter().zip(&now.groups) {
            if old.primary != new.primary {
                if let Some(health) = health.get(&old.primary) {
                    tracing::info!(group = %old.id, node = %old.primary, epoch = new.epoch, "primary replaced");
                    health.replaced();
                }
            }
        }
        before = now;
    }
}

/// One worker's state: the shared parts plus its own groups (its own node connections).
#[derive(Debug)]
pub(crate) struct Worker {
    /// The configuration.
    pub(crate) config: Arc<ProxyConfig>,
    /// Groups, in configuration order, with this worker's connections.
    pub(crate) groups: Vec<Group>,
    /// Slot → group.
    pub(crate) slots: Arc<SlotTable>,
    /// Per group: writes are held while set.
    pub(crate) paused: Arc<Vec<AtomicBool>>,
    /// Next client id.
    pub(crate) next_client_id: Arc<AtomicU64>,
    /// Every connected client.
    pub(crate) clients: Arc<ClientRegistry>,
    /// Counters.
    pub(crate) stats: Arc<ProxyStats>,
    /// Start time.
    pub(crate) started: Instant,
    /// Prometheus metrics.
    pub(crate) metrics: Arc<ProxyMetrics>,
    /// The control plane, asked whether writes may go ahead (the write lease).
    pub(crate) control: Arc<dyn ControlPlane>,
    /// Every client's subscriptions and the groups' shared subscriber connections.
    pub(crate) pubsub: Arc<Hub>,
    /// This worker's idle transaction connections, for the next transaction.
    pub(crate) idle: IdleConnections,
}

impl Worker {
    /// Group `group`'s primary and epoch now: what a held or idle connection to it must still
    /// match to be used.
    pub(crate) fn primary_and_epoch(&self, group: usize) -> (std::net::SocketAddr, u64) {
        let now = &self.groups[group];
        (now.primary().addr, now.epoch())
    }

    /// A worker's state; opens its connections to every node. Must run inside a runtime.
    pub(crate) fn for_worker(shared: &Shared) -> Worker {
        let config = &shared.config;
        let groups = config
            .groups
            .iter()
            .enumerate()
            .map(|(index, g)| {
                let epoch = shared.topology.epoch_cell(index);
                let members = std::iter::once(g.primary)
                    .chain(g.standbys.iter().copied())
                    .map(|addr| {
                        let options = ConnectOptions {
                            addr,
                            protocol: Protocol::Resp2,
                            password: config.backend_password.clone(),
                            connect_timeout: config.connect_timeout,
                            epoch: Some(epoch.clone()),
                            db: 0,
                        };
                        Arc::new(
                            Backend::new(
                                options,
                                config.connections_per_backend,
                                shared.health[&addr].clone(),
                            )
                            .in_group(index),
                        )
                    })
                    .collect();
                Group::new(g, index, members, shared.topology.clone())
            })
            .collect();
        Worker {
            config: shared.config.clone(),
            groups,
            slots: shared.slots.clone(),
            paused: shared.paused.clone(),
            next_client_id: shared.next_client_id.clone(),
            clients: shared.clients.clone(),
            stats: shared.stats.clone(),
            started: shared.started,
            metrics: shared.metrics.clone(),
            control: shared.control.clone(),
            pubsub: shared.pubsub.clone(),
            idle: IdleConnections::default(),
        }
    }

    /// Whether a write to group `group` may go ahead: not while this proxy is cut off from
    /// the quorum of proxies (see [`ControlPlane::may_write`]).
    ///
    /// # Errors
    /// The reason, for a `-TRYAGAIN` reply.
    pub(crate) fn may_write(&self, group: usize) -> Result<(), String> {
        self.control.may_write(group)
    }

    /// True while writes to group `group` are held.
    pub(crate) fn is_paused(&self, group: usize) -> bool {
        self.paused[group].load(Ordering::SeqCst)
    }
}
