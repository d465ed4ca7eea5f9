//! One client connection to the proxy.
//!
//! The reading half parses requests and dispatches each at once (to a node, to several, or
//! answered by the proxy), queueing a [`Pending`] reply per request; the writing half resolves
//! the queue strictly in order, so replies reach the client in request order however the
//! nodes answer. A client can thus keep thousands of requests in flight across groups.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use redoubt_protocol::command_table::{self, CommandFlags};
use redoubt_protocol::{Protocol, Reply, RequestParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::backend::{Backend, BackendError, BackendReply};
use crate::merge::{self, Merge};
use crate::server::ProxyState;

/// Requests a client may have in flight before the proxy stops reading from it.
const MAX_IN_FLIGHT: usize = 16 * 1024;
/// Output is flushed once this many bytes are queued (bytes).
const FLUSH_AT: usize = 64 * 1024;

/// A reply on its way to the client.
#[derive(Debug)]
pub enum Pending {
    /// Made by the proxy; already encoded.
    Ready(Bytes),
    /// One node's reply, passed through as it is.
    Node(NodeCall),
    /// Several nodes' replies, merged into one.
    Merged {
        /// How to merge.
        merge: Merge,
        /// The parts, in merge order.
        parts: Vec<NodeCall>,
        /// Protocol to encode the merged reply in.
        protocol: Protocol,
    },
    /// Close the connection once everything before it is written.
    Close,
}

/// A request sent to one node.
#[derive(Debug)]
pub struct NodeCall {
    rx: oneshot::Receiver<BackendReply>,
    backend: Arc<Backend>,
    sent: Instant,
    deadline: tokio::time::Instant,
}

impl NodeCall {
    /// Sends `request` to `backend` with the client's protocol and connection affinity.
    pub fn send(
        state: &ProxyState,
        backend: &Arc<Backend>,
        protocol: Protocol,
        affinity: u64,
        request: Bytes,
    ) -> NodeCall {
        NodeCall {
            rx: backend.send(protocol, affinity, request),
            backend: backend.clone(),
            sent: Instant::now(),
            deadline: tokio::time::Instant::now() + state.config.request_timeout,
        }
    }

    fn take_ready(&mut self) -> Option<BackendReply> {
        self.rx.try_recv().ok()
    }

    async fn wait(self) -> BackendReply {
        let addr = self.backend.addr;
        let reply = match tokio::time::timeout_at(self.deadline, self.rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(BackendError::ConnectionLost(addr)),
            Err(_) => Err(BackendError::Timeout(addr)),
        };
        if reply.is_ok() {
            self.backend.health.record_latency(self.sent.elapsed());
        }
        reply
    }
}

/// Serves one client until it disconnects or sends `QUIT`.
pub async fn serve(state: Arc<ProxyState>, socket: TcpStream, _addr: SocketAddr) {
    let _ = socket.set_nodelay(true);
    let id = state.next_client_id.fetch_add(1, Ordering::Relaxed);
    state
        .stats
        .connected_clients
        .fetch_add(1, Ordering::Relaxed);
    let (mut reader, writer) = socket.into_split();
    let (tx, rx) = mpsc::channel(MAX_IN_FLIGHT);
    let write_task = tokio::spawn(write_replies(writer, rx));
    let mut client = Client::new(state.clone(), id);
    let mut input = BytesMut::with_capacity(16 * 1024);
    'read: loop {
        loop {
            match client.parser.parse(&mut input) {
                Ok(Some(args)) => {
                    let pending = client.dispatch(args);
                    let close = client.closing;
                    if tx.send(pending).await.is_err() {
                        break 'read;
                    }
                    if close {
                        let _ = tx.send(Pending::Close).await;
                        break 'read;
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    let error = encode(&Reply::error_owned(format!("ERR {err}")), client.protocol);
                    let _ = tx.send(Pending::Ready(error)).await;
                    let _ = tx.send(Pending::Close).await;
                    break 'read;
                }
            }
        }
        input.reserve(16 * 1024);
        match reader.read_buf(&mut input).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    drop(tx);
    let _ = write_task.await;
    state
        .stats
        .connected_clients
        .fetch_sub(1, Ordering::Relaxed);
}

async fn write_replies(mut writer: OwnedWriteHalf, mut rx: mpsc::Receiver<Pending>) {
    let mut out = BytesMut::with_capacity(16 * 1024);
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(pending) = next.take() {
            if matches!(pending, Pending::Close) {
                let _ = writer.write_all(&out).await;
                let _ = writer.shutdown().await;
                return;
            }
            let bytes = match try_resolve(pending) {
                Ok(bytes) => bytes,
                Err(pending) => {
                    // Not ready: hand the client what is ready before waiting.
                    if !out.is_empty() && writer.write_all(&out).await.is_err() {
                        return;
                    }
                    out.clear();
                    resolve(pending).await
                }
            };
            out.extend_from_slice(&bytes);
            if out.len() >= FLUSH_AT {
                if writer.write_all(&out).await.is_err() {
                    return;
                }
                out.clear();
            }
            next = rx.try_recv().ok();
        }
        if !out.is_empty() {
            if writer.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}

/// The encoded reply if it is already available, else the pending entry back.
fn try_resolve(pending: Pending) -> Result<Bytes, Pending> {
    match pending {
        Pending::Ready(bytes) => Ok(bytes),
        Pending::Node(mut call) => match call.take_ready() {
            Some(Ok(bytes)) => Ok(bytes),
            Some(Err(err)) => Ok(encode(
                &Reply::error_owned(err.to_string()),
                Protocol::Resp2,
            )),
            None => Err(Pending::Node(call)),
        },
        other => Err(other),
    }
}

async fn resolve(pending: Pending) -> Bytes {
    match pending {
        Pending::Ready(bytes) => bytes,
        Pending::Node(call) => match call.wait().await {
            Ok(bytes) => bytes,
            Err(err) => encode(&Reply::error_owned(err.to_string()), Protocol::Resp2),
        },
        Pending::Merged {
            merge,
            parts,
            protocol,
        } => {
            let mut replies = Vec::with_capacity(parts.len());
            for part in parts {
                replies.push(part.wait().await);
            }
            encode(&merge.merge(replies, protocol), protocol)
        }
        Pending::Close => Bytes::new(),
    }
}

/// Encodes one reply.
pub fn encode(reply: &Reply, protocol: Protocol) -> Bytes {
    let mut out = BytesMut::new();
    reply.encode(protocol, &mut out);
    out.freeze()
}

/// The reading half's state.
struct Client {
    state: Arc<ProxyState>,
    id: u64,
    protocol: Protocol,
    authenticated: bool,
    name: Option<Bytes>,
    parser: RequestParser,
    closing: bool,
}

impl Client {
    fn new(state: Arc<ProxyState>, id: u64) -> Client {
        let authenticated = state.config.requirepass.is_none();
        Client {
            state,
            id,
            protocol: Protocol::Resp2,
            authenticated,
            name: None,
            parser: RequestParser::default(),
            closing: false,
        }
    }

    fn ready(&self, reply: Reply) -> Pending {
        Pending::Ready(encode(&reply, self.protocol))
    }

    fn dispatch(&mut self, args: Vec<Bytes>) -> Pending {
        self.state.stats.commands.fetch_add(1, Ordering::Relaxed);
        let Some(spec) = command_table::lookup_request(&args) else {
            return self.ready(unknown_command(&args));
        };
        let top = command_table::lookup(&args[0]).map_or(spec.name, |s| s.name);
        if !spec.arity_ok(args.len()) {
            let name = if top == spec.name {
                top.to_string()
            } else {
                format!("{top}|{}", spec.name)
            };
            return self.ready(Reply::error_owned(format!(
                "ERR wrong number of arguments for '{name}' command"
            )));
        }
        if !self.authenticated && !matches!(top, "auth" | "hello" | "quit") {
            return self.ready(Reply::error("NOAUTH Authentication required."));
        }
        if let Some(reply) = crate::local::answer(self, top, &args) {
            return self.ready(reply);
        }
        self.state.stats.forwarded.fetch_add(1, Ordering::Relaxed);
        if let Some(pending) = merge::split(self, top, &args) {
            return pending;
        }
        let flags = spec.flags;
        if flags.contains(CommandFlags::BLOCKING)
            || flags.contains(CommandFlags::PUBSUB)
            || matches!(
                top,
                "multi"
                    | "exec"
                    | "discard"
                    | "watch"
                    | "unwatch"
                    | "monitor"
                    | "sync"
                    | "psync"
                    | "replicaof"
                    | "slaveof"
            )
        {
            return self.ready(Reply::error_owned(format!(
                "ERR '{}' is not supported through the proxy",
                String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
            )));
        }
        let keys = spec.key_indexes(&args);
        let group = match keys.first() {
            None => 0,
            Some(&first) => {
                let group = self.state.slots.group_of_key(&args[first]);
                if keys[1..]
                    .iter()
                    .any(|&k| self.state.slots.group_of_key(&args[k]) != group)
                {
                    return self.ready(Reply::error(
                        "CROSSSLOT Keys in request don't hash to the same slot",
                    ));
                }
                group
            }
        };
        let group = &self.state.groups[group];
        let backend = if flags.contains(CommandFlags::READONLY) {
            group.read_target()
        } else {
            &group.primary
        };
        let request = crate::encode_args(&args);
        Pending::Node(NodeCall::send(
            &self.state,
            backend,
            self.protocol,
            self.id,
            request,
        ))
    }
}

/// Redis's reply to an unknown command.
fn unknown_command(args: &[Bytes]) -> Reply {
    let mut quoted = String::new();
    for arg in args.iter().skip(1).take(16) {
        quoted.push_str(&format!("'{}' ", String::from_utf8_lossy(arg)));
    }
    Reply::error_owned(format!(
        "ERR unknown command '{}', with args beginning with: {quoted}",
        String::from_utf8_lossy(&args[0])
    ))
}

/// What the proxy-local and merge modules need of a client.
pub trait ClientContext {
    /// Shared proxy state.
    fn state(&self) -> &Arc<ProxyState>;
    /// Client id (also the connection affinity).
    fn id(&self) -> u64;
    /// Current protocol.
    fn protocol(&self) -> Protocol;
    /// Switches protocol (`HELLO`).
    fn set_protocol(&mut self, protocol: Protocol);
    /// Marks the client authenticated.
    fn set_authenticated(&mut self);
    /// True once authenticated (or when no password is required).
    fn is_authenticated(&self) -> bool;
    /// The client's name.
    fn name(&self) -> Option<Bytes>;
    /// Sets the client's name.
    fn set_name(&mut self, name: Option<Bytes>);
    /// Closes the connection after this reply (`QUIT`).
    fn close_after_reply(&mut self);
}

impl ClientContext for Client {
    fn state(&self) -> &Arc<ProxyState> {
        &self.state
    }
    fn id(&self) -> u64 {
        self.id
    }
    fn protocol(&self) -> Protocol {
        self.protocol
    }
    fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
    }
    fn set_authenticated(&mut self) {
        self.authenticated = true;
    }
    fn is_authenticated(&self) -> bool {
        self.authenticated
    }
    fn name(&self) -> Option<Bytes> {
        self.name.clone()
    }
    fn set_name(&mut self, name: Option<Bytes>) {
        self.name = name;
    }
    fn close_after_reply(&mut self) {
        self.closing = true;
    }
}
