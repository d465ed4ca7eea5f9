//! The proxy server: builds groups and the slot table from the configuration, starts a health
//! probe per node, accepts clients until shutdown. `run(listener, config, shutdown)` takes a
//! bound listener so callers (and tests) choose the address.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::backend::{health, Backend};
use crate::config::ProxyConfig;
use crate::group::Group;
use crate::session;
use crate::slot_table::SlotTable;

/// Counters for `INFO`.
#[derive(Debug, Default)]
pub struct ProxyStats {
    /// Clients connected now.
    pub connected_clients: AtomicU64,
    /// Connections accepted.
    pub connections_received: AtomicU64,
    /// Requests received.
    pub commands: AtomicU64,
    /// Requests sent on to nodes (split ones count once).
    pub forwarded: AtomicU64,
}

/// State shared by every client session.
#[derive(Debug)]
pub struct ProxyState {
    /// The configuration.
    pub config: ProxyConfig,
    /// Groups, in configuration order.
    pub groups: Vec<Group>,
    /// Slot → group.
    pub slots: SlotTable,
    /// Next client id.
    pub next_client_id: AtomicU64,
    /// Counters.
    pub stats: ProxyStats,
    /// Start time.
    pub started: Instant,
}

impl ProxyState {
    /// Builds groups (opening backend connections) and the slot table, and starts probes.
    /// Must run inside a Tokio runtime.
    pub fn start(config: ProxyConfig) -> Arc<ProxyState> {
        let mut groups = Vec::with_capacity(config.groups.len());
        for group in &config.groups {
            let backend = |addr| {
                let backend = Arc::new(Backend::new(
                    addr,
                    config.backend_password.clone(),
                    config.connect_timeout,
                    config.connections_per_backend,
                ));
                tokio::spawn(health::probe_loop(
                    addr,
                    config.backend_password.clone(),
                    config.probe_interval,
                    backend.health.clone(),
                ));
                backend
            };
            let primary = backend(group.primary);
            let standbys = group.standbys.iter().map(|a| backend(*a)).collect();
            groups.push(Group::new(group, primary, standbys));
        }
        let ids: Vec<&str> = config.groups.iter().map(|g| g.id.as_str()).collect();
        let slots = SlotTable::derive(&ids);
        Arc::new(ProxyState {
            config,
            groups,
            slots,
            next_client_id: AtomicU64::new(1),
            stats: ProxyStats::default(),
            started: Instant::now(),
        })
    }
}

/// Serves clients on `listener` until `shutdown` completes.
pub async fn run(listener: TcpListener, config: ProxyConfig, shutdown: impl Future<Output = ()>) {
    let state = ProxyState::start(config);
    info!(groups = state.groups.len(), "proxy ready");
    tokio::select! {
        () = accept_loop(&listener, state) => {}
        () = shutdown => info!("shutting down"),
    }
}

async fn accept_loop(listener: &TcpListener, state: Arc<ProxyState>) {
    loop {
        match listener.accept().await {
            Ok((socket, addr)) => {
                state
                    .stats
                    .connections_received
                    .fetch_add(1, Ordering::Relaxed);
                tokio::spawn(session::serve(state.clone(), socket, addr));
            }
            Err(err) => {
                warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
