//! The node server: accepts connections, runs the background expiry cycle, and stops on a
//! shutdown signal. `run(listener, config, shutdown)` takes a bound listener, so callers (and
//! tests) choose the address, port 0 included.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

use crate::client::ClientRegistry;
use crate::config::Config;
use crate::connection;
use crate::store::Store;

/// Counters kept outside the store lock, updated by connections.
#[derive(Debug, Default)]
pub(crate) struct NetStats {
    /// Connections accepted (INFO `total_connections_received`).
    pub(crate) connections_received: AtomicU64,
    /// Connections refused at `maxclients` (INFO `rejected_connections`).
    pub(crate) rejected_connections: AtomicU64,
    /// Bytes read from clients (INFO `total_net_input_bytes`).
    pub(crate) input_bytes: AtomicU64,
    /// Bytes written to clients (INFO `total_net_output_bytes`).
    pub(crate) output_bytes: AtomicU64,
}

/// State shared by every connection of one node.
#[derive(Debug)]
pub(crate) struct NodeState {
    /// Keyspace, configuration and command statistics, under one lock.
    pub(crate) store: Mutex<Store>,
    /// Connected clients.
    pub(crate) clients: ClientRegistry,
    /// Network counters.
    pub(crate) net: NetStats,
    /// Next client id.
    pub(crate) next_client_id: AtomicU64,
    /// When the node started.
    pub(crate) started: Instant,
    /// Random 40-hex-digit id of this run (INFO `run_id`).
    pub(crate) run_id: String,
    /// This node's Prometheus metrics, read from the fields above at scrape time.
    pub(crate) metrics: prometheus_client::registry::Registry,
    me: std::sync::Weak<NodeState>,
}

impl NodeState {
    /// Fresh state for a node configured by `config`.
    pub(crate) fn new(config: Config) -> Arc<Self> {
        Arc::new_cyclic(|me| NodeState {
            store: Mutex::new(Store::new(config)),
            clients: ClientRegistry::default(),
            net: NetStats::default(),
            next_client_id: AtomicU64::new(1),
            started: Instant::now(),
            run_id: random_hex_id(),
            metrics: crate::metrics::registry(me.clone()),
            me: me.clone(),
        })
    }

    /// This state's own `Arc` (for tasks a command starts).
    pub(crate) fn self_arc(&self) -> Arc<NodeState> {
        self.me
            .upgrade()
            .expect("a node's state outlives its commands")
    }
}

/// A random 40-hex-digit identifier, as Redis uses for `run_id` and `replid`.
pub(crate) fn random_hex_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).expect("digit below 16"))
        .collect()
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Serves clients on `listener` until `shutdown` completes.
///
/// `config.port` is replaced by the port actually bound.
pub async fn run(listener: TcpListener, config: Config, shutdown: impl Future<Output = ()>) {
    run_with_metrics(listener, None, config, shutdown).await;
}

/// As [`run`], and serves Prometheus metrics (`GET /metrics`) on `metrics` when given.
pub async fn run_with_metrics(
    listener: TcpListener,
    metrics: Option<TcpListener>,
    mut config: Config,
    shutdown: impl Future<Output = ()>,
) {
    if let Ok(addr) = listener.local_addr() {
        config.port = addr.port();
    }
    let replicaof = config.replicaof.clone();
    let node = NodeState::new(config);
    if let Some((host, port)) = replicaof {
        let mut store = node.store.lock();
        crate::replication::replica::start(&node, &mut store.repl, host, port);
    }
    let expiry = tokio::spawn(active_expiry(node.clone()));
    let metrics =
        metrics.map(|listener| tokio::spawn(crate::metrics::serve(listener, node.clone())));
    tokio::select! {
        () = accept_loop(&listener, node.clone()) => {}
        () = shutdown => info!("shutting down"),
    }
    expiry.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
}

async fn accept_loop(listener: &TcpListener, node: Arc<NodeState>) {
    loop {
        match listener.accept().await {
            Ok((socket, addr)) => {
                node.net
                    .connections_received
                    .fetch_add(1, Ordering::Relaxed);
                let maxclients = node.store.lock().config.maxclients;
                if node.clients.len() as u64 >= maxclients {
                    node.net
                        .rejected_connections
                        .fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(connection::refuse(
                        socket,
                        "ERR max number of clients reached",
                    ));
                    continue;
                }
                debug!(%addr, "client connected");
                // Ids are given in accept order, as Redis gives them.
                let id = node.next_client_id.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(connection::serve(node.clone(), socket, addr, id));
            }
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Keys sampled per round of active expiry, as Redis's `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`.
const EXPIRE_SAMPLE: usize = 20;
/// Share of a cycle's period that active expiry may use, as Redis's 25%.
const EXPIRE_TIME_SHARE: u32 = 4;

/// Removes expired keys nobody reads: `hz` times a second, samples keys with a TTL in every
/// database and repeats while more than a quarter of a sample had expired, within a quarter of
/// the period. The lock is taken per sample, so clients wait at most one sample's work.
/// Source: Redis `expire.c`, `activeExpireCycle`.
async fn active_expiry(node: Arc<NodeState>) {
    loop {
        let hz = node.store.lock().config.hz.max(1);
        let period = Duration::from_millis(1000 / u64::from(hz));
        tokio::time::sleep(period).await;
        let deadline = Instant::now() + period / EXPIRE_TIME_SHARE;
        let databases = node.store.lock().dbs.len();
        for db in 0..databases {
            loop {
                let (sampled, removed) = {
                    let mut store = node.store.lock();
                    // Standbys never expire keys themselves: the primary's DEL does it.
                    if store.repl.is_replica() {
                        break;
                    }
                    store.set_expiry_mode(crate::db::ExpiryMode::Delete);
                    let sample = store.dbs[db].expire_sample(EXPIRE_SAMPLE, unix_ms());
                    store.propagate_expired();
                    sample
                };
                if sampled == 0 || removed * 4 <= sampled || Instant::now() >= deadline {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
    }
}
