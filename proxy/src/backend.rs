//! A node as the proxy sees it: the one [`node_client`] that talks to it, pooled multiplexed
//! [`connection`]s (one set per protocol version), its [`health`] kept current by its
//! [`probe`], and the [`info`] parser they share.

pub(crate) mod connection;
pub(crate) mod health;
pub(crate) mod info;
pub(crate) mod liveness;
pub(crate) mod node_client;
pub(crate) mod probe;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use redoubt_protocol::Protocol;
use tokio::sync::oneshot;

pub(crate) use connection::{BackendConnection, BackendError, BackendReply, Progress};
pub(crate) use health::Health;
pub(crate) use node_client::ConnectOptions;

/// One node.
#[derive(Debug)]
pub(crate) struct Backend {
    /// The node's address.
    pub(crate) addr: SocketAddr,
    options: ConnectOptions,
    size: usize,
    resp2: Vec<BackendConnection>,
    /// RESP3 connections, opened when the first RESP3 client needs this node.
    resp3: OnceLock<Vec<BackendConnection>>,
    /// What the health probe last saw.
    pub(crate) health: Arc<Health>,
    /// When the node last answered on any of these connections.
    pub(crate) progress: Arc<Progress>,
}

impl Backend {
    /// Opens `size` RESP2 connections with `options` (RESP3 ones open on first use).
    /// `health` is shared by every worker's view of the node and kept current by its probe.
    pub(crate) fn new(options: ConnectOptions, size: usize, health: Arc<Health>) -> Backend {
        let progress = Arc::new(Progress::default());
        let resp2 = (0..size)
            .map(|_| BackendConnection::spawn(options.clone(), progress.clone()))
            .collect();
        Backend {
            addr: options.addr,
            options,
            size,
            resp2,
            resp3: OnceLock::new(),
            health,
            progress,
        }
    }

    /// Sends an encoded request on the connection `affinity` selects, in `protocol`. A client
    /// always passes the same affinity, so its requests to this node stay in order on one
    /// connection (read-your-writes).
    pub(crate) fn send(
        &self,
        protocol: Protocol,
        affinity: u64,
        request: Bytes,
    ) -> oneshot::Receiver<BackendReply> {
        let pool = match protocol {
            Protocol::Resp2 => &self.resp2,
            Protocol::Resp3 => self.resp3.get_or_init(|| {
                let options = ConnectOptions {
                    protocol: Protocol::Resp3,
                    ..self.options.clone()
                };
                (0..self.size)
                    .map(|_| BackendConnection::spawn(options.clone(), self.progress.clone()))
                    .collect()
            }),
        };
        pool[(affinity % pool.len() as u64) as usize].send(request)
    }

    /// True while at least one RESP2 connection is up.
    pub(crate) fn is_connected(&self) -> bool {
        self.resp2.iter().any(BackendConnection::is_up)
    }
}
