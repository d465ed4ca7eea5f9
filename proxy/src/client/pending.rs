//! Replies on their way to a client: made by the proxy, passed through from one node, or
//! merged from several. A [`Pending`] is queued when its request is dispatched and taken once
//! ready, so replies leave in request order whatever order the nodes answer in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use redoubt_protocol::{Protocol, Reply};
use tokio::sync::oneshot;

use super::merge::Merge;
use crate::backend::{Backend, BackendError, BackendReply};

/// A reply on its way to the client.
#[derive(Debug)]
pub(crate) enum Pending {
    /// Made by the proxy; already encoded.
    Ready(Bytes),
    /// One node's reply, passed through as it is.
    Node(NodeCall),
    /// Made by a task working for the client (a blocking command on held connections): no
    /// request timeout applies, the task keeps its own deadline.
    Task {
        /// The encoded reply, once the task is done.
        rx: oneshot::Receiver<Bytes>,
        /// The reply when it arrived (or the task failed).
        result: Option<Bytes>,
        /// The group served, `None` for several.
        group: Option<usize>,
    },
    /// A whole `MULTI ... EXEC` block sent as one request (see `client::block`): the node's
    /// replies to all of it, passed through together. If the node gives none (connection
    /// lost, timeout), the client gets what the proxy answers for a transaction queued on
    /// it: `+OK`, `+QUEUED` for each of the `queued` commands, and the error for `EXEC`.
    Block {
        /// The block's request.
        call: NodeCall,
        /// Commands between `MULTI` and `EXEC`.
        queued: usize,
    },
    /// Several nodes' replies, merged into one.
    Merged {
        /// How to merge.
        merge: Merge,
        /// The parts, in merge order.
        parts: Vec<NodeCall>,
        /// Protocol to encode the merged reply in.
        protocol: Protocol,
    },
}

/// A request sent to one node.
#[derive(Debug)]
pub(crate) struct NodeCall {
    rx: oneshot::Receiver<BackendReply>,
    /// The node it went to.
    pub(crate) backend: Arc<Backend>,
    sent: Instant,
    timeout: Duration,
    deadline: tokio::time::Instant,
    /// The reply once it arrived (or failed).
    result: Option<BackendReply>,
}

impl NodeCall {
    /// Sends `request` to `backend`, to run in database `db`, with the client's protocol and
    /// connection affinity.
    pub(crate) fn send(
        backend: &Arc<Backend>,
        protocol: Protocol,
        db: usize,
        affinity: u64,
        request: Bytes,
        timeout: Duration,
    ) -> NodeCall {
        let now = tokio::time::Instant::now();
        NodeCall::send_since(backend, protocol, db, affinity, request, timeout, now)
    }

    /// [`NodeCall::send`] for a request read at `since` (a moment ago: the request timeout
    /// and the round trip count from then), saving a clock read per request.
    pub(crate) fn send_since(
        backend: &Arc<Backend>,
        protocol: Protocol,
        db: usize,
        affinity: u64,
        request: Bytes,
        timeout: Duration,
        since: tokio::time::Instant,
    ) -> NodeCall {
        NodeCall::send_many_since(
            backend,
            protocol,
            db,
            affinity,
            (request, 1),
            timeout,
            since,
        )
    }

    /// [`NodeCall::send_since`] for a request of `commands.1` commands (`commands.0`, all
    /// encoded), whose replies arrive together.
    pub(crate) fn send_many_since(
        backend: &Arc<Backend>,
        protocol: Protocol,
        db: usize,
        affinity: u64,
        commands: (Bytes, u32),
        timeout: Duration,
        since: tokio::time::Instant,
    ) -> NodeCall {
        let (request, replies) = commands;
        backend.health.in_flight.add(1);
        NodeCall {
            rx: backend.send(protocol, db, affinity, request, replies),
            backend: backend.clone(),
            sent: since.into_std(),
            timeout,
            deadline: since + timeout,
            result: None,
        }
    }

    fn finish(&mut self, reply: BackendReply) {
        self.result = Some(reply);
    }

    /// True once the reply is here, checking without waiting.
    fn poll_ready(&mut self) -> bool {
        if self.result.is_none() {
            match self.rx.try_recv() {
                Ok(reply) => self.finish(reply),
                Err(oneshot::error::TryRecvError::Empty) => {}
                Err(oneshot::error::TryRecvError::Closed) => {
                    self.result = Some(Err(BackendError::ConnectionLost(self.backend.addr)))
                }
            }
        }
        self.result.is_some()
    }

    /// Waits for the reply, or until the node has answered nothing for the request timeout:
    /// a node that keeps answering requests queued before this one is busy, not stalled, so
    /// the deadline moves with its last reply. Cancel-safe: the outcome is stored as soon as it
    /// is known.
    async fn wait(&mut self) {
        if self.result.is_some() {
            return;
        }
        let addr = self.backend.addr;
        let reply = loop {
            match tokio::time::timeout_at(self.deadline, &mut self.rx).await {
                Ok(Ok(reply)) => break reply,
                Ok(Err(_)) => break Err(BackendError::ConnectionLost(addr)),
                Err(_) => {
                    let stalled_until = self.backend.progress.last_reply() + self.timeout;
                    if stalled_until <= self.deadline {
                        break Err(BackendError::Timeout(addr));
                    }
                    self.deadline = stalled_until;
                }
            }
        };
        self.finish(reply);
    }

    /// The reply, its round trip (up to `now`) recorded in the node's health.
    fn take(&mut self, now: Instant) -> BackendReply {
        let reply = self
            .result
            .take()
            .unwrap_or(Err(BackendError::ConnectionLost(self.backend.addr)));
        if reply.is_ok() && self.backend.sample_latency() {
            self.backend
                .health
                .record_latency(now.saturating_duration_since(self.sent));
        }
        self.backend.health.traffic.record(&reply);
        reply
    }
}

impl Drop for NodeCall {
    fn drop(&mut self) {
        self.backend.health.in_flight.sub(1);
    }
}

impl Pending {
    /// True when the reply can be encoded without waiting.
    pub(crate) fn poll_ready(&mut self) -> bool {
        match self {
            Pending::Ready(_) => true,
            Pending::Node(call) | Pending::Block { call, .. } => call.poll_ready(),
            Pending::Task { rx, result, .. } => {
                if result.is_none() {
                    match rx.try_recv() {
                        Ok(reply) => *result = Some(reply),
                        Err(oneshot::error::TryRecvError::Empty) => {}
                        Err(oneshot::error::TryRecvError::Closed) => *result = Some(task_failed()),
                    }
                }
                result.is_some()
            }
            Pending::Merged { parts, .. } => parts.iter_mut().all(NodeCall::poll_ready),
        }
    }

    /// Waits until the reply can be encoded (cancel-safe).
    pub(crate) async fn wait(&mut self) {
        match self {
            Pending::Ready(_) => {}
            Pending::Node(call) | Pending::Block { call, .. } => call.wait().await,
            Pending::Task { rx, result, .. } => {
                if result.is_none() {
                    *result = Some(rx.await.unwrap_or_else(|_| task_failed()));
                }
            }
            Pending::Merged { parts, .. } => {
                for part in parts.iter_mut() {
                    part.wait().await;
                }
            }
        }
    }

    /// The encoded reply; call once ready, `now` being about now (a node's round trip
    /// is measured up to it).
    pub(crate) fn take(self, now: Instant) -> Bytes {
        match self {
            Pending::Ready(bytes) => bytes,
            Pending::Node(mut call) => match call.take(now) {
                Ok(bytes) => bytes,
                Err(err) => encode(&Reply::error_owned(err.to_string()), Protocol::Resp2),
            },
            Pending::Block { mut call, queued } => match call.take(now) {
                Ok(bytes) => bytes,
                Err(err) => {
                    let mut out = BytesMut::from(&b"+OK\r\n"[..]);
                    for _ in 0..queued {
                        out.extend_from_slice(b"+QUEUED\r\n");
                    }
                    Reply::error_owned(err.to_string()).encode(Protocol::Resp2, &mut out);
                    out.freeze()
                }
            },
            Pending::Task { result, .. } => result.unwrap_or_else(task_failed),
            Pending::Merged {
                merge,
                mut parts,
                protocol,
            } => {
                let replies = parts.iter_mut().map(|part| part.take(now)).collect();
                encode(&merge.merge(replies), protocol)
            }
        }
    }
}

/// The reply of a task that ended without one (it cannot, short of a bug: then the client
/// gets an error rather than a hang).
fn task_failed() -> Bytes {
    encode(
        &Reply::error("ERR the request ended without a reply"),
        Protocol::Resp2,
    )
}

/// Encodes one reply.
pub(crate) fn encode(reply: &Reply, protocol: Protocol) -> Bytes {
    let mut out = BytesMut::new();
    reply.encode(protocol, &mut out);
    out.freeze()
}

/// Encodes a request's arguments as a RESP multibulk, to send on to a node.
pub(crate) fn encode_args(args: &[Bytes]) -> Bytes {
    let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
    redoubt_protocol::request::encode_request(&refs)
}
