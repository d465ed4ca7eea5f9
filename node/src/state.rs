//! State shared by every part of one node, apart from the server loop: the locked store,
//! the client registry, network counters and the script engines.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, MutexGuard};

use crate::client::ClientRegistry;
use crate::config::Config;
use crate::keyspace::Store;
use crate::script::busy::{ConnSettings, ScriptBusy};
use crate::script::Scripting;

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
    /// The EVAL and FUNCTION engines; locked only under the store lock.
    pub(crate) scripting: Mutex<Scripting>,
    /// The running script as other connections see it, read without the store lock.
    pub(crate) script_busy: ScriptBusy,
    /// The runtime serving the connections that run scripts ([`NodeState::script_runtime`]).
    script_runtime: OnceLock<Option<tokio::runtime::Handle>>,
}

impl NodeState {
    /// Fresh state for a node configured by `config`.
    pub(crate) fn new(config: Config) -> Arc<Self> {
        Arc::new(NodeState {
            store: Mutex::new(Store::new(config)),
            clients: ClientRegistry::default(),
            net: NetStats::default(),
            next_client_id: AtomicU64::new(1),
            started: Instant::now(),
            run_id: crate::replication::random_hex_id(),
            scripting: Mutex::new(Scripting::new()),
            script_busy: ScriptBusy::default(),
            script_runtime: OnceLock::new(),
        })
    }

    /// The runtime that serves every connection once it has run a script (`EVAL`, `EVALSHA`,
    /// `FCALL`...): one worker thread, started at the first script, so the scripts run on
    /// one core, where the Lua state and the keys they touch stay in cache, as Redis runs
    /// them on its one thread. Split between the workers, each script would first wait for
    /// the store lock the other worker's script holds and then fetch the Lua state from the
    /// other core's cache. A long script hands that worker's other connections to a new
    /// thread as on any worker (`script::vm`), so they still answer `-BUSY`. `None` when the
    /// thread cannot be started: the connections then stay where they are.
    pub(crate) fn script_runtime(&self) -> Option<&tokio::runtime::Handle> {
        self.script_runtime
            .get_or_init(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("redoubt-scripts")
                    .enable_all()
                    .build()
                    .map_err(|err| tracing::warn!(%err, "cannot start the script thread"))
                    .ok()?;
                let handle = runtime.handle().clone();
                // It serves connections for the rest of the process's life; dropping it
                // from inside a runtime (where the node's state ends) is not allowed.
                std::mem::forget(runtime);
                Some(handle)
            })
            .as_ref()
    }
}

impl NodeState {
    /// What a new connection reads from the configuration, without blocking on the store lock
    /// while a script holds it (then: the copy the script took at its start).
    pub(crate) fn conn_settings(&self) -> ConnSettings {
        loop {
            if let Some(store) = self.store.try_lock_for(Duration::from_millis(1)) {
                return ConnSettings::of(&store.config);
            }
            if let Some(settings) = self.script_busy.settings() {
                return settings;
            }
        }
    }

    /// The store lock for async code: while a script holds it, waits without blocking a worker
    /// thread (which the connections answering `-BUSY` and `SCRIPT KILL` need).
    pub(crate) async fn lock_store(&self) -> MutexGuard<'_, Store> {
        loop {
            if let Some(store) = self.store.try_lock_for(Duration::from_millis(1)) {
                return store;
            }
            if self.script_busy.active() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
