//! The failover decision core. It holds what the probes last saw of every node and the
//! committed topology, and turns events into actions. It does no IO and reads no clock:
//! `now` comes with each event, so its behaviour is fixed by the sequence of events and is
//! tested by tables of them.
//!
//! Rules (Redis Sentinel's, tightened for no acknowledged-write loss):
//! - A node is **down** once `down_after` has passed without a good probe; it is back **up**
//!   after [`UP_AFTER_SUCCESSES`](crate::backend::liveness::UP_AFTER_SUCCESSES) good probes in
//!   a row (hysteresis); the rule is [`Liveness`], which read routing applies too.
//! - With several proxies, a primary counts as down only when a majority of them (this one
//!   included) find it down: each other proxy's latest report counts while it is younger than
//!   `down_after` (a quorum of views, as Sentinel's ODOWN; the Raft commit is the second quorum).
//! - A group whose primary is down gets a new one: among the standbys that are up, in
//!   synchronous mode only those that were in sync with the primary while it was up, the one
//!   with the highest replication offset (ties: higher priority, then lower address). The
//!   group's epoch is incremented, the chosen standby is promoted with it, the other members
//!   are repointed to it, and the new topology is published.
//! - Any member that is up but not following the group's primary (a returning old primary, a
//!   standby following someone else) is repointed, with the current epoch, which fences it.
//! - In synchronous mode the primary must wait for `min(sync_replicas, standbys in sync)` acks;
//!   the core keeps the primary configured so, so losing every standby degrades the group to
//!   asynchronous instead of stopping its writes, and a standby that fell out of sync cannot be
//!   promoted until it is back in sync.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::backend::liveness::Liveness;
use crate::control::topology::{GroupTopology, Topology};

/// Minimum time between two repoint orders to the same node.
pub(crate) const REPOINT_EVERY: Duration = Duration::from_millis(500);

/// What a node said in a good probe (`INFO replication`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProbeInfo {
    /// True for `role:master`.
    pub(crate) is_primary: bool,
    /// `master_repl_offset` (primary) or `slave_repl_offset` (standby).
    pub(crate) offset: u64,
    /// A standby's `master_link_status:up`.
    pub(crate) link_up: bool,
    /// A standby's primary (`master_host:master_port`), resolved.
    pub(crate) following: Option<SocketAddr>,
    /// The node's configuration epoch (`redoubt_epoch`).
    pub(crate) epoch: u64,
}

/// An input to the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A probe of `node` finished: `Some` with what it said, `None` if it failed or timed out.
    Probe {
        /// The node.
        node: SocketAddr,
        /// The outcome.
        info: Option<ProbeInfo>,
        /// When.
        now: Instant,
    },
    /// Another proxy reported which nodes its probes find down.
    Report {
        /// The sender's id.
        from: u64,
        /// The nodes it finds down.
        down: Vec<SocketAddr>,
        /// When it arrived.
        now: Instant,
    },
    /// Time passed; decisions are made on ticks.
    Tick {
        /// Now.
        now: Instant,
    },
}

/// An output of the core, for the controller to carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Make `node` the primary of `group`: present `epoch`, `REPLICAOF NO ONE`, and require
    /// `sync_replicas` acks per write.
    Promote {
        /// Group index.
        group: usize,
        /// The standby to promote.
        node: SocketAddr,
        /// The group's new epoch.
        epoch: u64,
        /// Acks the new primary requires.
        sync_replicas: usize,
    },
    /// Make `node` a standby of `primary`: present `epoch`, `REPLICAOF primary`.
    Repoint {
        /// Group index.
        group: usize,
        /// The node to repoint.
        node: SocketAddr,
        /// Its primary.
        primary: SocketAddr,
        /// The group's epoch.
        epoch: u64,
    },
    /// Set the primary's `min-replicas-to-ack`.
    SetSyncReplicas {
        /// Group index.
        group: usize,
        /// The primary.
        node: SocketAddr,
        /// Acks per write.
        count: usize,
    },
    /// Commit this topology.
    Publish(Topology),
}

/// The core's settings.
#[derive(Clone, Debug)]
pub(crate) struct CoreConfig {
    /// Time without a good probe after which a node is down.
    pub(crate) down_after: Duration,
    /// Proxies in the control plane (1: this proxy's view decides alone).
    pub(crate) proxies: usize,
}

#[derive(Clone, Debug)]
struct Member {
    liveness: Liveness,
    info: Option<ProbeInfo>,
    in_sync: bool,
    /// When the standby was first seen unlinked while counted in sync.
    sync_lost: Option<Instant>,
    priority: i64,
    last_repoint: Option<Instant>,
}

#[derive(Clone, Debug)]
struct Group {
    topology: GroupTopology,
    members: BTreeMap<SocketAddr, Member>,
    sync_replicas: usize,
    /// `min-replicas-to-ack` last set on the primary (`None`: not yet).
    pushed_sync: Option<usize>,
}

/// The decision core.
#[derive(Clone, Debug)]
pub(crate) struct Core {
    config: CoreConfig,
    groups: Vec<Group>,
    started: Option<Instant>,
    /// Each other proxy's latest report: when, and the nodes it found down.
    reports: BTreeMap<u64, (Instant, Vec<SocketAddr>)>,
}

/// How one group is configured for the core.
#[derive(Clone, Debug)]
pub(crate) struct GroupSetup {
    /// Its committed topology.
    pub(crate) topology: GroupTopology,
    /// Priority of each member (higher wins ties); members not listed have 0.
    pub(crate) priorities: Vec<(SocketAddr, i64)>,
    /// Standby acks each write needs (0: asynchronous).
    pub(crate) sync_replicas: usize,
}

impl Core {
    /// A core for these groups.
    pub(crate) fn new(config: CoreConfig, setups: Vec<GroupSetup>) -> Core {
        let groups = setups
            .into_iter()
            .map(|setup| {
                let members = std::iter::once(setup.topology.primary)
                    .chain(setup.topology.standbys.iter().copied())
                    .map(|addr| {
                        let priority = setup
                            .priorities
                            .iter()
                            .find(|(a, _)| *a == addr)
                            .map_or(0, |(_, p)| *p);
                        let member = Member {
                            liveness: Liveness::new(false),
                            info: None,
                            in_sync: false,
                            sync_lost: None,
                            priority,
                            last_repoint: None,
                        };
                        (addr, member)
                    })
                    .collect();
                Group {
                    topology: setup.topology,
                    members,
                    sync_replicas: setup.sync_replicas,
                    pushed_sync: None,
                }
            })
            .collect();
        Core {
            config,
            groups,
            started: None,
            reports: BTreeMap::new(),
        }
    }

    /// Sets the number of proxies whose reports make a quorum (the voters, which proxies
    /// added or removed online change).
    pub(crate) fn set_proxies(&mut self, proxies: usize) {
        self.config.proxies = proxies.max(1);
    }

    /// Takes the committed topology as the truth for every group where it is at least as new
    /// as what the core holds (another proxy may have decided while this one was not leader).
    pub(crate) fn adopt(&mut self, committed: &Topology) {
        for (group, topology) in self.groups.iter_mut().zip(&committed.groups) {
            let newer = topology.epoch > group.topology.epoch;
            let differs = topology.epoch == group.topology.epoch && topology != &group.topology;
            if newer || differs {
                if topology.primary != group.topology.primary {
                    group.pushed_sync = None;
                }
                group.topology = topology.clone();
            }
        }
    }

    /// The nodes this proxy's probes find down at `now` (its report to the other proxies).
    pub(crate) fn down_nodes(&self, now: Instant) -> Vec<SocketAddr> {
        let started = self.started.unwrap_or(now);
        let down_after = self.config.down_after;
        self.groups
            .iter()
            .flat_map(|g| g.members.iter())
            .filter(|(_, m)| {
                !m.liveness.is_up() || m.liveness.silent_for(now, started) > down_after
            })
            .map(|(addr, _)| *addr)
            .collect()
    }

    /// The topology the core last decided.
    pub(crate) fn topology(&self) -> Topology {
        Topology {
            groups: self.groups.iter().map(|g| g.topology.clone()).collect(),
        }
    }

    /// The best standby to promote in `group` now, if any (planned switchover).
    pub(crate) fn switchover_target(&self, group: usize) -> Option<SocketAddr> {
        self.groups.get(group).and_then(|g| best_candidate(g, true))
    }

    /// Records a completed planned switchover to `node` with `epoch`.
    pub(crate) fn switched_over(&mut self, group: usize, node: SocketAddr, epoch: u64) -> Topology {
        let g = &mut self.groups[group];
        let old = g.topology.primary;
        g.topology.epoch = epoch;
        g.topology.primary = node;
        g.topology.standbys = g.members.keys().copied().filter(|a| *a != node).collect();
        let _ = old;
        g.pushed_sync = None;
        self.topology()
    }

    /// Processes one event.
    pub(crate) fn handle(&mut self, event: Event) -> Vec<Action> {
        match event {
            Event::Probe { node, info, now } => {
                self.started.get_or_insert(now);
                self.record_probe(node, info, now);
                Vec::new()
            }
            Event::Report { from, down, now } => {
                self.reports.insert(from, (now, down));
                Vec::new()
            }
            Event::Tick { now } => {
                self.started.get_or_insert(now);
                self.tick(now)
            }
        }
    }

    fn record_probe(&mut self, node: SocketAddr, info: Option<ProbeInfo>, now: Instant) {
        for group in &mut self.groups {
            let primary = group.topology.primary;
            let Some(member) = group.members.get_mut(&node) else {
                continue;
            };
            member.liveness.record(info.is_some(), now);
            let Some(info) = info.clone() else {
                continue;
            };
            // Learn epochs from the nodes, so a restarted proxy never goes backwards.
            group.topology.epoch = group.topology.epoch.max(info.epoch);
            if node == primary {
                // The primary answers: a standby seen unlinked before now really fell out of
                // sync (it was not just the primary dying).
                for other in group.members.values_mut() {
                    if other.sync_lost.is_some_and(|at| at <= now) {
                        other.in_sync = false;
                        other.sync_lost = None;
                    }
                }
            } else {
                let linked = !info.is_primary && info.link_up && info.following == Some(primary);
                if linked {
                    member.in_sync = true;
                    member.sync_lost = None;
                } else if member.in_sync && member.sync_lost.is_none() {
                    member.sync_lost = Some(now);
                }
            }
            if let Some(member) = group.members.get_mut(&node) {
                member.info = Some(info);
            }
        }
    }

    fn tick(&mut self, now: Instant) -> Vec<Action> {
        let down_after = self.config.down_after;
        let started = self.started.unwrap_or(now);
        let mut actions = Vec::new();
        let mut changed = false;
        let quorum = self.config.proxies / 2 + 1;
        let reports = &self.reports;
        for (index, group) in self.groups.iter_mut().enumerate() {
            for member in group.members.values_mut() {
                if member.liveness.expire(now, started, down_after) {
                    member.in_sync = false;
                }
            }
            let primary = group.topology.primary;
            let liveness = &group.members[&primary].liveness;
            let agreeing = reports
                .values()
                .filter(|(at, down)| {
                    now.saturating_duration_since(*at) <= down_after && down.contains(&primary)
                })
                .count();
            let primary_down = !liveness.is_up()
                && liveness.silent_for(now, started) > down_after
                && 1 + agreeing >= quorum;
            if primary_down {
                if let Some(candidate) = best_candidate(group, group.sync_replicas > 0) {
                    group.topology.epoch += 1;
                    group.topology.primary = candidate;
                    group.topology.standbys = group
                        .members
                        .keys()
                        .copied()
                        .filter(|a| *a != candidate)
                        .collect();
                    let in_sync = group
                        .members
                        .iter()
                        .filter(|(a, m)| **a != candidate && m.liveness.is_up() && m.in_sync)
                        .count();
                    let sync_replicas = group.sync_replicas.min(in_sync);
                    for member in group.members.values_mut() {
                        member.in_sync = false;
                    }
                    if let Some(promoted) = group.members.get_mut(&candidate) {
                        // Its next probes may predate the promotion; do not promote twice.
                        promoted.last_repoint = Some(now);
                    }
                    actions.push(Action::Promote {
                        group: index,
                        node: candidate,
                        epoch: group.topology.epoch,
                        sync_replicas,
                    });
                    group.pushed_sync = Some(sync_replicas);
                    changed = true;
                }
                continue;
            }
            // A primary that does not act as one (its promotion failed) is promoted again.
            let epoch = group.topology.epoch;
            let pushed = group.pushed_sync.unwrap_or(0);
            if let Some(member) = group.members.get_mut(&primary) {
                let demoted =
                    member.liveness.is_up() && member.info.as_ref().is_some_and(|i| !i.is_primary);
                let due = member
                    .last_repoint
                    .is_none_or(|at| now.duration_since(at) >= REPOINT_EVERY);
                if demoted && due {
                    member.last_repoint = Some(now);
                    actions.push(Action::Promote {
                        group: index,
                        node: primary,
                        epoch,
                        sync_replicas: pushed,
                    });
                }
            }
            // Members up but not following the primary are repointed (and so fenced).
            for (addr, member) in group.members.iter_mut() {
                if *addr == primary || !member.liveness.is_up() {
                    continue;
                }
                let Some(info) = &member.info else { continue };
                let astray =
                    info.is_primary || info.following != Some(primary) || info.epoch < epoch;
                let due = member
                    .last_repoint
                    .is_none_or(|at| now.duration_since(at) >= REPOINT_EVERY);
                if astray && due {
                    member.last_repoint = Some(now);
                    actions.push(Action::Repoint {
                        group: index,
                        node: *addr,
                        primary,
                        epoch,
                    });
                }
            }
            // Synchronous mode: require as many acks as standbys in sync, up to the target.
            if group.sync_replicas > 0 && group.members[&primary].liveness.is_up() {
                let in_sync = group
                    .members
                    .iter()
                    .filter(|(a, m)| **a != primary && m.liveness.is_up() && m.in_sync)
                    .count();
                let wanted = group.sync_replicas.min(in_sync);
                if group.pushed_sync != Some(wanted) {
                    group.pushed_sync = Some(wanted);
                    actions.push(Action::SetSyncReplicas {
                        group: index,
                        node: primary,
                        count: wanted,
                    });
                }
            }
        }
        if changed {
            actions.push(Action::Publish(self.topology()));
        }
        actions
    }
}

/// The standby to promote: up, a standby (in sync when `sync`), highest offset, then highest
/// priority, then lowest address.
fn best_candidate(group: &Group, sync: bool) -> Option<SocketAddr> {
    let primary = group.topology.primary;
    group
        .members
        .iter()
        .filter(|(addr, m)| {
            **addr != primary
                && m.liveness.is_up()
                && m.info.as_ref().is_some_and(|i| !i.is_primary)
        })
        .filter(|(_, m)| !sync || m.in_sync)
        .max_by(|(a_addr, a), (b_addr, b)| {
            let offset = |m: &Member| m.info.as_ref().map_or(0, |i| i.offset);
            offset(a)
                .cmp(&offset(b))
                .then(a.priority.cmp(&b.priority))
                .then(b_addr.cmp(a_addr))
        })
        .map(|(addr, _)| *addr)
}

#[cfg(test)]
mod tests;
