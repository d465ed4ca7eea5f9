//! The node server: loads the snapshot, accepts connections, runs the background tasks (active
//! expiry, the standby link, the saver, metrics), and stops on a shutdown signal, saving a
//! last snapshot when a `save` schedule is set. `run(listener, config, shutdown)` takes a bound listener, so callers (and
//! tests) choose the address, port 0 included.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tracing::{debug, error, info, warn};

use crate::config::Config;
use crate::connection;
use crate::state::{unix_ms, NodeState};

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
        config.set_bound_port(addr.port());
    }
    let replicaof = config.replicaof.clone();
    watch_file_size_limit();
    let node = NodeState::new(config);
    if let Some((host, port)) = replicaof {
        node.store.lock().repl.follow(host, port);
    }
    // The whole file or nothing: a node never serves half a dataset. With `appendonly` on,
    // the append-only file is the source, as in Redis.
    let mut replay = crate::standby::applier::PrimaryApplier::new(&node);
    let loaded = crate::aof::load_at_start(&node, &mut replay).and_then(|aof| {
        if !aof {
            crate::persist::load(&mut node.store.lock(), &mut node.scripting.lock())?;
        }
        crate::aof::open_at_start(&mut node.store.lock())
    });
    if let Err(err) = loaded {
        error!("{err}");
        eprintln!("{err}");
        std::process::exit(1);
    }
    let aof = tokio::spawn(crate::aof::run(node.clone()));
    let saver = tokio::spawn(crate::persist::run(node.clone()));
    let expiry = tokio::spawn(active_expiry(node.clone()));
    let standby = tokio::spawn(crate::standby::supervise(node.clone()));
    let metrics =
        metrics.map(|listener| tokio::spawn(crate::metrics::serve(listener, node.clone())));
    tokio::select! {
        () = accept_loop(&listener, node.clone()) => {}
        () = shutdown => info!("shutting down"),
    }
    expiry.abort();
    standby.abort();
    saver.abort();
    aof.abort();
    // As Redis on SIGTERM: the append-only file fsynced, a final snapshot when a save
    // schedule is set.
    let mut store = node.store.lock();
    crate::aof::shutdown(&mut store);
    let functions = node.scripting.lock().functions.dump();
    if !store.config.save.is_empty() && crate::persist::save(&mut store, &functions).is_err() {
        error!("the final save failed; the previous snapshot is kept");
    }
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
                let maxclients = node.conn_settings().maxclients;
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
        let hz = match node.store.try_lock_for(Duration::from_millis(10)) {
            Some(store) => store.config.hz.max(1),
            None => 10,
        };
        let period = Duration::from_millis(1000 / u64::from(hz));
        tokio::time::sleep(period).await;
        if node.script_busy.active() {
            // The script holds the store lock: waiting for it would block a worker thread.
            continue;
        }
        let started = Instant::now();
        let deadline = started + period / EXPIRE_TIME_SHARE;
        let databases = node.store.lock().dbs.len();
        for db in 0..databases {
            loop {
                let (sampled, removed) = {
                    let mut store = node.store.lock();
                    // Standbys never expire keys themselves: the primary's DEL does it.
                    if store.repl.is_replica() {
                        break;
                    }
                    store.set_expiry_mode(crate::keyspace::db::ExpiryMode::Delete);
                    let now = unix_ms();
                    let sample = store.dbs[db].expire_sample(EXPIRE_SAMPLE, now);
                    store.propagate_expired();
                    if store.blocking.has_ready() {
                        crate::exec::blocked::serve_ready(&mut store, &node, now);
                    }
                    sample
                };
                if sampled == 0 || removed * 4 <= sampled || Instant::now() >= deadline {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        if started.elapsed() >= Duration::from_millis(1) {
            node.store.lock().sample_latency("expire-cycle", started);
        }
    }
}

/// Linux's `SIGXFSZ`, raised by a write past the process's file size limit (`ulimit -f`).
const SIGXFSZ: i32 = 25;

/// Handles `SIGXFSZ` so that its default action (ending the process) does not apply: a write
/// past the file size limit then fails with `EFBIG` and is handled as any failed write to a
/// snapshot or the append-only file (a failed save, or `MISCONF` for the append-only file).
fn watch_file_size_limit() {
    let Ok(mut signals) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(SIGXFSZ))
    else {
        return;
    };
    tokio::spawn(async move {
        while signals.recv().await.is_some() {
            warn!("a write went past the file size limit (SIGXFSZ)");
        }
    });
}
