//! The failover controller: the IO shell around the decision [`core`](super::core). It feeds
//! the core every probe result and a tick every few milliseconds, carries out the actions it
//! returns over short-lived admin connections (each with a deadline), and commits new
//! topologies through the [`ControlPlane`] **before** any node is told of them: a decision that
//! cannot be committed (this proxy lost the Raft leadership, no quorum) is dropped and the core
//! goes back to the committed topology. It also runs planned switchovers
//! (`redoubt ctl failover GROUP`).
//!
//! With several proxies, only the Raft leader's controller decides; every controller hands its
//! probe view to the control plane, which sends it to the other proxies, and feeds the views
//! it receives to its core, so a new leader starts with them.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::core::{Action, Core, CoreConfig, Event, GroupSetup, ProbeInfo};
use crate::backend::info::{parse_replication_fields, ReplicationInfo, Role};
use crate::backend::node_client::{ConnectOptions, NodeClient, NodeError};
use crate::control::topology::Topology;
use crate::control::{ControlPlane, Report};

/// Deadline of one admin exchange with a node.
const ADMIN_TIMEOUT: Duration = Duration::from_millis(500);
/// How often the core is ticked.
const TICK: Duration = Duration::from_millis(25);
/// Longest a planned switchover waits for the target standby to catch up.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(2);
/// Least time between two commits of epochs learned from the nodes.
const SYNC_EVERY: Duration = Duration::from_millis(500);

/// Outcome of a planned switchover.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct SwitchoverReport {
    /// Group id.
    pub(crate) group: String,
    /// The old primary.
    pub(crate) from: SocketAddr,
    /// The new primary.
    pub(crate) to: SocketAddr,
    /// The group's new epoch.
    pub(crate) epoch: u64,
    /// How long writes to the group were paused, in ms.
    pub(crate) pause_ms: u64,
}

type SwitchoverReply = oneshot::Sender<Result<SwitchoverReport, String>>;

/// Handle to the running controller.
#[derive(Clone, Debug)]
pub(crate) struct ControllerHandle {
    switchovers: mpsc::UnboundedSender<(usize, SwitchoverReply)>,
    reports: mpsc::UnboundedSender<Report>,
}

impl ControllerHandle {
    /// Runs a planned switchover of group `group` (index).
    ///
    /// # Errors
    /// A sentence saying why it could not be done (no standby in sync, a node unreachable...).
    pub(crate) async fn switchover(&self, group: usize) -> Result<SwitchoverReport, String> {
        let (reply, rx) = oneshot::channel();
        self.switchovers
            .send((group, reply))
            .map_err(|_| "the controller has stopped".to_string())?;
        rx.await
            .map_err(|_| "the controller has stopped".to_string())?
    }

    /// Hands the controller another proxy's probe view.
    pub(crate) fn report(&self, report: Report) {
        let _ = self.reports.send(report);
    }
}

/// What the controller needs to act.
#[derive(Debug)]
pub(crate) struct ControllerSetup {
    /// The core's settings.
    pub(crate) config: CoreConfig,
    /// The groups.
    pub(crate) groups: Vec<GroupSetup>,
    /// Password for the nodes.
    pub(crate) password: Option<String>,
    /// Where decisions are committed.
    pub(crate) control: Arc<dyn ControlPlane>,
    /// Per group: writes are held by client sessions while set (planned switchover).
    pub(crate) paused: Arc<Vec<AtomicBool>>,
    /// Counts the failovers carried out.
    pub(crate) failovers: super::count::Failovers,
    /// Health records (with in-flight request counts) by node.
    pub(crate) health: Arc<std::collections::HashMap<SocketAddr, Arc<crate::backend::Health>>>,
}

/// Starts the controller on the current runtime; `probes` delivers probe outcomes.
pub(crate) fn start(
    setup: ControllerSetup,
    probes: mpsc::UnboundedReceiver<(SocketAddr, Option<ReplicationInfo>, Instant)>,
) -> ControllerHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let (report_tx, report_rx) = mpsc::unbounded_channel();
    let core = Core::new(setup.config.clone(), setup.groups.clone());
    tokio::spawn(run(core, setup, probes, rx, report_rx));
    ControllerHandle {
        switchovers: tx,
        reports: report_tx,
    }
}

async fn run(
    mut core: Core,
    setup: ControllerSetup,
    mut probes: mpsc::UnboundedReceiver<(SocketAddr, Option<ReplicationInfo>, Instant)>,
    mut switchovers: mpsc::UnboundedReceiver<(usize, SwitchoverReply)>,
    mut reports: mpsc::UnboundedReceiver<Report>,
) {
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_sync = Instant::now() - SYNC_EVERY;
    let several = setup.control.status().is_some();
    loop {
        tokio::select! {
            probe = probes.recv() => {
                let Some((node, info, at)) = probe else { return };
                core.handle(Event::Probe { node, info: info.map(to_probe_info), now: at });
            }
            report = reports.recv() => {
                let Some(report) = report else { return };
                core.handle(Event::Report { from: report.from, down: report.down, now: Instant::now() });
            }
            _ = ticker.tick() => {
                let now = Instant::now();
                if several {
                    setup.control.report(core.down_nodes(now));
                }
                let committed = setup.control.current();
                core.adopt(&committed);
                core.set_proxies(setup.control.proxies());
                if !setup.control.is_leader() {
                    continue;
                }
                // Epochs the core learned from the nodes (newer than committed ones, e.g.
                // after the proxies' files were lost) are committed before anything else.
                if several && core.topology() != *committed && now.duration_since(last_sync) >= SYNC_EVERY {
                    last_sync = now;
                    publish(&setup, core.topology()).await;
                    continue;
                }
                let before = core.clone();
                let actions = core.handle(Event::Tick { now });
                carry_out(&mut core, before, &setup, actions).await;
            }
            request = switchovers.recv() => {
                let Some((group, reply)) = request else { return };
                core.adopt(&setup.control.current());
                let result = switchover(&mut core, &setup, group).await;
                let _ = reply.send(result);
            }
        };
    }
}

/// Commits the decided topology first, then tells the nodes; if the commit fails, nothing is
/// told and the core returns to its state `before` the decision.
async fn carry_out(core: &mut Core, before: Core, setup: &ControllerSetup, actions: Vec<Action>) {
    let mut told = Vec::new();
    for action in actions {
        match action {
            Action::Publish(topology) => {
                if !publish(setup, topology).await {
                    *core = before;
                    core.adopt(&setup.control.current());
                    return;
                }
            }
            other => told.push(other),
        }
    }
    for action in told {
        perform(setup, action).await;
    }
}

fn to_probe_info(info: ReplicationInfo) -> ProbeInfo {
    let following = info
        .following
        .and_then(|(host, port)| (host.as_str(), port).to_socket_addrs().ok()?.next());
    ProbeInfo {
        is_primary: info.role != Role::Standby,
        offset: info.offset.unwrap_or(0),
        link_up: info.link_up,
        following,
        epoch: info.epoch,
    }
}

async fn perform(setup: &ControllerSetup, action: Action) {
    let password = setup.password.as_deref();
    match action {
        Action::Promote {
            group,
            node,
            epoch,
            sync_replicas,
        } => {
            info!(group, %node, epoch, "promoting standby");
            let epoch = epoch.to_string();
            let sync = sync_replicas.to_string();
            let commands: [&[&[u8]]; 3] = [
                &[b"EPOCH", epoch.as_bytes()],
                &[b"REPLICAOF", b"NO", b"ONE"],
                &[b"CONFIG", b"SET", b"min-replicas-to-ack", sync.as_bytes()],
            ];
            if let Err(err) = admin(node, password, &commands).await {
                warn!(group, %node, %err, "promotion failed; it will be retried");
            }
        }
        Action::Repoint {
            group,
            node,
            primary,
            epoch,
        } => {
            info!(group, %node, %primary, epoch, "repointing node to the primary");
            let epoch = epoch.to_string();
            let (host, port) = (primary.ip().to_string(), primary.port().to_string());
            let commands: [&[&[u8]]; 2] = [
                &[b"EPOCH", epoch.as_bytes()],
                &[b"REPLICAOF", host.as_bytes(), port.as_bytes()],
            ];
            if let Err(err) = admin(node, password, &commands).await {
                warn!(group, %node, %err, "repointing failed; it will be retried");
            }
        }
        Action::SetSyncReplicas { group, node, count } => {
            info!(group, %node, count, "setting the acks each write needs");
            let count = count.to_string();
            let commands: [&[&[u8]]; 1] =
                [&[b"CONFIG", b"SET", b"min-replicas-to-ack", count.as_bytes()]];
            if let Err(err) = admin(node, password, &commands).await {
                warn!(group, %node, %err, "cannot set min-replicas-to-ack");
            }
        }
        Action::Publish(topology) => {
            publish(setup, topology).await;
        }
    }
}

/// Commits `topology`; true if it is committed.
async fn publish(setup: &ControllerSetup, topology: Topology) -> bool {
    let before = setup.control.current();
    let promoted: Vec<String> = topology
        .groups
        .iter()
        .filter(|g| {
            before
                .groups
                .iter()
                .any(|old| old.id == g.id && old.primary != g.primary)
        })
        .map(|g| g.id.clone())
        .collect();
    match setup.control.commit(topology).await {
        Ok(()) => {
            for group in &promoted {
                setup.failovers.automatic(group);
            }
            info!("new topology committed");
            true
        }
        Err(err) => {
            warn!(%err, "topology not committed; nothing is changed");
            false
        }
    }
}

/// Planned switchover: hold writes to the group, wait until the chosen standby has every byte
/// the primary has, promote it, demote the old primary to its standby, publish, release writes.
async fn switchover(
    core: &mut Core,
    setup: &ControllerSetup,
    group: usize,
) -> Result<SwitchoverReport, String> {
    let topology = core.topology();
    let current = topology.groups.get(group).ok_or("no such group")?.clone();
    let target = core
        .switchover_target(group)
        .ok_or("no standby is in sync with the primary")?;
    let password = setup.password.as_deref();
    let paused_at = Instant::now();
    setup.paused[group].store(true, Ordering::SeqCst);
    let result = async {
        let deadline = Instant::now() + CATCH_UP_LIMIT;
        // Requests already on their way to the primary finish first, so their writes are in
        // the offset the standby must reach.
        if let Some(health) = setup.health.get(&current.primary) {
            while health.in_flight.sum() > 0 {
                if Instant::now() > deadline {
                    return Err("requests to the primary did not finish".to_string());
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        loop {
            let primary = offset_of(current.primary, password).await?;
            let standby = offset_of(target, password).await?;
            if standby >= primary {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "standby {target} did not catch up ({standby} < {primary})"
                ));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // The decision is committed first; then the old primary is fenced with the new
        // epoch (refusing writes from connections that still present the old one), the
        // target catches up with what it took before the fence, and is promoted.
        let epoch = current.epoch + 1;
        let before = core.clone();
        let next = core.switched_over(group, target, epoch);
        if let Err(err) = setup.control.commit(next).await {
            *core = before;
            return Err(err.to_string());
        }
        let epoch_arg = epoch.to_string();
        let fence: [&[&[u8]]; 1] = [&[b"EPOCH", epoch_arg.as_bytes()]];
        if let Err(err) = admin(current.primary, password, &fence).await {
            warn!(group, node = %current.primary, %err, "cannot fence the old primary");
        }
        let caught_up = Instant::now() + CATCH_UP_LIMIT;
        loop {
            let (Ok(primary), Ok(standby)) = (
                offset_of(current.primary, password).await,
                offset_of(target, password).await,
            ) else {
                break;
            };
            if standby >= primary || Instant::now() > caught_up {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        perform(
            setup,
            Action::Promote {
                group,
                node: target,
                epoch,
                sync_replicas: 0,
            },
        )
        .await;
        let repoint = Action::Repoint {
            group,
            node: current.primary,
            primary: target,
            epoch,
        };
        perform(setup, repoint).await;
        setup.failovers.planned(&current.id);
        Ok(epoch)
    }
    .await;
    setup.paused[group].store(false, Ordering::SeqCst);
    let pause_ms = paused_at.elapsed().as_millis() as u64;
    let epoch = result?;
    info!(group, from = %current.primary, to = %target, epoch, pause_ms, "planned switchover done");
    Ok(SwitchoverReport {
        group: current.id,
        from: current.primary,
        to: target,
        epoch,
        pause_ms,
    })
}

async fn offset_of(node: SocketAddr, password: Option<&str>) -> Result<u64, String> {
    let commands: [&[&[u8]]; 1] = [&[b"INFO", b"replication"]];
    let replies = admin(node, password, &commands)
        .await
        .map_err(|e| format!("{node}: {e}"))?;
    let text = String::from_utf8_lossy(&replies[0]).into_owned();
    Ok(parse_replication_fields(&text).offset.unwrap_or(0))
}

/// Sends `commands` to `node` on a fresh [`NodeClient`] (authenticating first), connecting
/// and exchanging each within [`ADMIN_TIMEOUT`]; the raw replies, or the first error reply as
/// an error.
async fn admin(
    node: SocketAddr,
    password: Option<&str>,
    commands: &[&[&[u8]]],
) -> Result<Vec<Bytes>, NodeError> {
    let options = ConnectOptions::plain(node, password.map(str::to_string), ADMIN_TIMEOUT);
    let mut client = NodeClient::connect(&options).await?;
    client.request(commands, ADMIN_TIMEOUT).await
}
