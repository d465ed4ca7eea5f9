//! A node as the proxy sees it: the one [`node_client`] that talks to it, pooled multiplexed
//! [`connection`]s (one set per protocol version), its [`health`] kept current by its
//! [`probe`], and the [`info`] parser they share; a [`held`] connection is one tied to a
//! single client for a while (a blocking command, a transaction), kept in [`idle`] between
//! transactions.

pub(crate) mod connection;
pub(crate) mod health;
pub(crate) mod held;
pub(crate) mod idle;
pub(crate) mod info;
pub(crate) mod liveness;
pub(crate) mod node_client;
pub(crate) mod probe;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use redoubt_protocol::Protocol;
use tokio::sync::oneshot;

pub(crate) use connection::{BackendConnection, BackendError, BackendReply, Progress};
pub(crate) use health::Health;
pub(crate) use node_client::ConnectOptions;

/// Databases a client can `SELECT` (Redis's default `databases 16`; the nodes have as many).
pub(crate) const DATABASES: usize = 16;

/// One node.
#[derive(Debug)]
pub(crate) struct Backend {
    /// The node's address.
    pub(crate) addr: SocketAddr,
    options: ConnectOptions,
    size: usize,
    /// Connection sets by database and protocol (index `db * 2 + (protocol == RESP3)`), each
    /// opened when the first client needs it; RESP2 in database 0 opens at once.
    pools: Vec<OnceLock<Vec<BackendConnection>>>,
    /// What the health probe last saw.
    pub(crate) health: Arc<Health>,
    /// When the node last answered on any of these connections.
    pub(crate) progress: Arc<Progress>,
    /// The group the node belongs to, when known (the metrics' `group` label).
    pub(crate) group: Option<usize>,
    /// Replies this worker had from the node: one in [`LATENCY_SAMPLE`] is a latency sample.
    replies: AtomicU32,
}

/// One reply in this many is a sample of the node's latency (see [`Backend::sample_latency`]).
const LATENCY_SAMPLE: u32 = 8;

impl Backend {
    /// Opens `size` RESP2 connections in database 0 with `options` (the other databases and
    /// RESP3 open on first use). `health` is shared by every worker's view of the node and
    /// kept current by its probe.
    pub(crate) fn new(options: ConnectOptions, size: usize, health: Arc<Health>) -> Backend {
        let backend = Backend {
            addr: options.addr,
            options,
            size,
            pools: (0..DATABASES * 2).map(|_| OnceLock::new()).collect(),
            health,
            progress: Arc::new(Progress::default()),
            group: None,
            replies: AtomicU32::new(0),
        };
        backend.pool(Protocol::Resp2, 0);
        backend
    }

    /// The node, known as a member of group `group`.
    pub(crate) fn in_group(mut self, group: usize) -> Backend {
        self.group = Some(group);
        self
    }

    /// How to open a connection of `protocol` in database `db` to this node.
    pub(crate) fn options(&self, protocol: Protocol, db: usize) -> ConnectOptions {
        ConnectOptions {
            protocol,
            db,
            ..self.options.clone()
        }
    }

    fn pool(&self, protocol: Protocol, db: usize) -> &[BackendConnection] {
        let db = db.min(DATABASES - 1);
        let index = db * 2 + usize::from(protocol == Protocol::Resp3);
        self.pools[index].get_or_init(|| {
            let options = self.options(protocol, db);
            (0..self.size)
                .map(|_| {
                    BackendConnection::spawn(
                        options.clone(),
                        self.progress.clone(),
                        self.health.watch_replaced(),
                    )
                })
                .collect()
        })
    }

    /// Sends an encoded request of `replies` commands (1 but for a whole transaction block),
    /// to run in database `db`, on the connection `affinity` selects, in `protocol`; their
    /// replies come back together. A client always passes the same affinity, so its
    /// requests to this node stay in order on one connection (read-your-writes).
    pub(crate) fn send(
        &self,
        protocol: Protocol,
        db: usize,
        affinity: u64,
        request: Bytes,
        replies: u32,
    ) -> oneshot::Receiver<BackendReply> {
        let pool = self.pool(protocol, db);
        pool[(affinity % pool.len() as u64) as usize].send(request, replies)
    }

    /// True for one reply in [`LATENCY_SAMPLE`]: its round trip goes into the node's latency
    /// average. Every worker writing the shared average on every reply would have the
    /// workers' cores contend for it.
    pub(crate) fn sample_latency(&self) -> bool {
        self.replies.fetch_add(1, Ordering::Relaxed) % LATENCY_SAMPLE == 0
    }

    /// True while at least one RESP2 connection in database 0 is up.
    pub(crate) fn is_connected(&self) -> bool {
        self.pool(Protocol::Resp2, 0)
            .iter()
            .any(BackendConnection::is_up)
    }
}
