//! The proxy server: the top of the crate. It builds the [`Shared`] state, starts the probes,
//! the failover controller and the admin endpoint, then runs the workers' accept loops.
//!
//! Thread per core: each worker thread runs its own single-threaded event loop, accepts clients
//! from the shared listening socket, and keeps its own multiplexed connections to every node, so
//! a request and its reply never cross threads (no cross-core wake-ups on the hot path). What
//! workers share is read-mostly: the configuration, the slot table, each node's health (kept by
//! one probe per node) and the counters. `run(listener, config, shutdown)` takes a bound
//! listener so callers (and tests) choose the address. A proxy that joins a running group
//! (`join`) serves its admin endpoint at once (Raft reaches it there) but accepts no client
//! until it is a member with the committed topology.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tracing::{info, warn};

use crate::client::session;
use crate::config::ProxyConfig;
use crate::state::{Shared, Worker};

/// Serves clients on `listener` until `shutdown` completes, with `config.workers` worker threads
/// (default: one; `redoubt proxy` chooses by the machine's cores), and the admin HTTP endpoint
/// when configured.
pub async fn run(listener: TcpListener, config: ProxyConfig, shutdown: impl Future<Output = ()>) {
    let workers = config.workers.unwrap_or(1).max(1);
    let shared = match Shared::start(config).await {
        Ok(shared) => shared,
        Err(err) => {
            tracing::error!(%err, "the proxy cannot start");
            return;
        }
    };
    shared.start_probes();
    if let Some(admin) = shared.config.admin {
        match TcpListener::bind(admin).await {
            Ok(listener) => {
                if let Ok(addr) = listener.local_addr() {
                    info!(%addr, "admin endpoint listening");
                }
                tokio::spawn(crate::admin::serve(listener, shared.clone()));
            }
            Err(err) => warn!(%admin, %err, "cannot bind the admin address"),
        }
    }
    if let (true, Some(raft)) = (shared.config.join, shared.raft.as_ref()) {
        info!("waiting to be added to the proxies' raft group");
        raft.joined().await;
        info!("joined the raft group; serving clients");
    }
    let listener = match listener.into_std() {
        Ok(listener) => listener,
        Err(err) => {
            warn!(%err, "cannot hand the listener to workers");
            return;
        }
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    for index in 0..workers {
        let listener = match listener.try_clone() {
            Ok(listener) => listener,
            Err(err) => {
                warn!(%err, "cannot share the listener with a worker");
                continue;
            }
        };
        let shared = shared.clone();
        let mut stopped = stopped.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("proxy-worker-{index}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => return warn!(%err, "worker runtime failed to start"),
                };
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(err) => return warn!(%err, "worker cannot listen"),
                    };
                    let state = Arc::new(Worker::for_worker(&shared));
                    tokio::select! {
                        () = accept_loop(&listener, state) => {}
                        _ = stopped.changed() => {}
                    }
                });
            });
        if let Err(err) = spawned {
            warn!(%err, "cannot start a worker thread");
        }
    }
    info!(groups = shared.config.groups.len(), workers, "proxy ready");
    shutdown.await;
    info!("shutting down");
    let _ = stop.send(true);
}

/// Answers a connection past `maxclients` with Redis's error, then closes it.
async fn refuse(mut socket: TcpStream) {
    use tokio::io::AsyncWriteExt;
    let write = socket.write_all(b"-ERR max number of clients reached\r\n");
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
    let _ = socket.shutdown().await;
}

async fn accept_loop(listener: &TcpListener, state: Arc<Worker>) {
    loop {
        match listener.accept().await {
            Ok((socket, addr)) => {
                let stats = &state.stats;
                stats.connections_received.fetch_add(1, Ordering::Relaxed);
                // The client counts from here (the session's end uncounts it), so workers
                // accepting at once never admit more than `maxclients` together.
                let open = stats.connected_clients.fetch_add(1, Ordering::Relaxed);
                if open >= state.config.maxclients {
                    stats.connected_clients.fetch_sub(1, Ordering::Relaxed);
                    stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(refuse(socket));
                    continue;
                }
                tokio::spawn(session::serve(state.clone(), socket, addr));
            }
            Err(err) => {
                warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
