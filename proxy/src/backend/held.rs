//! A backend connection held by one client for a while: the one type for every request that
//! takes a node connection over instead of sharing the multiplexed pool (a blocking command,
//! a transaction or the keys a client watches; a subscription later).
//!
//! A [`HeldConnection`] is its own connection to one node, greeted like the pooled ones (same
//! password, epoch, protocol and database), and owned by exactly one task working for one
//! client. Its lifetime is that value's: it is released when dropped, which its owner does on
//! completion, on the client's disconnect and at its deadline, so no path can keep it. While
//! it lives it counts in [`PinnedConnections`] (`redoubt_proxy_pinned_connections` by reason),
//! so a leak shows as a gauge that does not return to zero. A clean one may instead be
//! [parked](HeldConnection::park) in the worker's [`IdleConnections`](super::idle) and
//! [resumed](ParkedConnection::resume) by the next client; parked, it does not count.

use bytes::Bytes;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use redoubt_protocol::Protocol;

use super::node_client::{NodeClient, NodeError};
use super::Backend;

/// Why a connection is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HoldReason {
    /// A blocking command (`BLPOP`, `BZPOPMIN`...) waits on it.
    Blocking,
    /// A transaction (`MULTI` ... `EXEC`) or the keys a client `WATCH`es run on it.
    Transaction,
}

impl HoldReason {
    /// Every reason, so each series exists (at zero) from the start.
    pub(crate) const ALL: [HoldReason; 2] = [HoldReason::Blocking, HoldReason::Transaction];

    /// The `reason` label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            HoldReason::Blocking => "blocking",
            HoldReason::Transaction => "transaction",
        }
    }
}

/// Labels of `redoubt_proxy_pinned_connections`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PinnedLabels {
    /// [`HoldReason::label`].
    pub(crate) reason: &'static str,
}

/// Held connections open now, by reason (registered by the metrics).
#[derive(Clone, Debug, Default)]
pub(crate) struct PinnedConnections {
    family: Family<PinnedLabels, Gauge>,
}

impl PinnedConnections {
    /// Counters with every reason's series at zero.
    pub(crate) fn new() -> PinnedConnections {
        let pinned = PinnedConnections::default();
        for reason in HoldReason::ALL {
            let _ = pinned.gauge(reason);
        }
        pinned
    }

    /// The gauges, for the metrics registry.
    pub(crate) fn family(&self) -> Family<PinnedLabels, Gauge> {
        self.family.clone()
    }

    fn gauge(&self, reason: HoldReason) -> Gauge {
        self.family
            .get_or_create(&PinnedLabels {
                reason: reason.label(),
            })
            .clone()
    }
}

/// A connection to one node held by one client; released (closed) when dropped.
#[derive(Debug)]
pub(crate) struct HeldConnection {
    client: NodeClient,
    /// The node's id for this connection (`CLIENT ID`), for `CLIENT UNBLOCK` from another one.
    pub(crate) node_client_id: i64,
    /// Counts it as held; `None` once parked.
    gauge: Option<Gauge>,
}

/// A [`HeldConnection`] no client holds, waiting to be resumed (not counted as held).
#[derive(Debug)]
pub(crate) struct ParkedConnection(HeldConnection);

impl ParkedConnection {
    /// Holds it again for `reason`.
    pub(crate) fn resume(
        mut self,
        reason: HoldReason,
        pinned: &PinnedConnections,
    ) -> HeldConnection {
        let gauge = pinned.gauge(reason);
        gauge.inc();
        self.0.gauge = Some(gauge);
        self.0
    }

    /// False when the node closed it or sent something unasked while it was parked (it is
    /// then unusable); checks only what has already arrived, without waiting.
    pub(crate) fn looks_usable(&mut self) -> bool {
        use futures::FutureExt;
        self.0.client.reply().now_or_never().is_none()
    }
}

impl HeldConnection {
    /// Opens a connection to `backend` in `protocol` and database `db` (within the backend's
    /// connect timeout), asks its `CLIENT ID`, and counts it as held for `reason`.
    ///
    /// # Errors
    /// [`NodeError`] when the node cannot be reached or greeted in time.
    pub(crate) async fn open(
        backend: &Backend,
        protocol: Protocol,
        db: usize,
        reason: HoldReason,
        pinned: &PinnedConnections,
    ) -> Result<HeldConnection, NodeError> {
        let options = backend.options(protocol, db);
        let mut client = NodeClient::connect(&options).await?;
        let reply = client
            .request(&[&[b"CLIENT", b"ID"]], options.connect_timeout)
            .await?;
        let node_client_id = reply
            .first()
            .and_then(|r| r.strip_prefix(b":"))
            .and_then(|r| std::str::from_utf8(r).ok())
            .and_then(|r| r.trim_end().parse().ok())
            .ok_or(NodeError::Malformed)?;
        let gauge = pinned.gauge(reason);
        gauge.inc();
        Ok(HeldConnection {
            client,
            node_client_id,
            gauge: Some(gauge),
        })
    }

    /// No longer held: stops counting it, for a later [`ParkedConnection::resume`]. Only for a
    /// connection with nothing in flight and no state a client left on it.
    pub(crate) fn park(mut self) -> ParkedConnection {
        if let Some(gauge) = self.gauge.take() {
            gauge.dec();
        }
        ParkedConnection(self)
    }

    /// Writes one encoded request; its reply comes from [`HeldConnection::reply`].
    ///
    /// # Errors
    /// [`NodeError::Io`] when the write fails; drop the connection then.
    pub(crate) async fn send(&mut self, request: &[u8]) -> Result<(), NodeError> {
        self.client.send_raw(request).await
    }

    /// The next reply if it is already buffered whole (see [`HeldConnection::reply`]).
    ///
    /// # Errors
    /// [`NodeError::Malformed`]; drop the connection then.
    pub(crate) fn buffered_reply(&mut self) -> Result<Option<Bytes>, NodeError> {
        self.client.buffered_reply()
    }

    /// The next reply, raw (error replies included). Cancel-safe.
    ///
    /// # Errors
    /// [`NodeError`] when the connection failed; drop it then.
    pub(crate) async fn reply(&mut self) -> Result<Bytes, NodeError> {
        self.client.reply().await
    }
}

impl Drop for HeldConnection {
    fn drop(&mut self) {
        if let Some(gauge) = &self.gauge {
            gauge.dec();
        }
    }
}
