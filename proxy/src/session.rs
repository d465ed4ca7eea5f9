//! One client connection to the proxy.
//!
//! Each request is dispatched as soon as it is parsed (to a node, to several, or answered by
//! the proxy), queueing a [`Pending`] reply; replies leave strictly in queue order, so they
//! reach the client in request order however the nodes answer. A client can thus keep
//! thousands of requests in flight across groups.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use redoubt_protocol::command_table::{self, CommandFlags};
use redoubt_protocol::{Protocol, Reply, RequestParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::backend::{Backend, BackendError, BackendReply};
use crate::merge::{self, Merge};
use crate::metrics::{ProxyMetrics, Target};
use crate::server::ProxyState;

/// Requests a client may have in flight before the proxy stops reading from it.
const MAX_IN_FLIGHT: usize = 16 * 1024;
/// Reading pauses while this many reply bytes wait for the client to take them.
const FLUSH_AT: usize = 1024 * 1024;
/// How often held requests check whether their group's writes resumed.
const HELD_RECHECK: std::time::Duration = std::time::Duration::from_millis(1);
/// Buffers above this capacity (bytes) are released once empty.
const KEEP_BUFFER: usize = 1024 * 1024;

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
}

/// A request sent to one node.
#[derive(Debug)]
pub struct NodeCall {
    rx: oneshot::Receiver<BackendReply>,
    backend: Arc<Backend>,
    sent: Instant,
    deadline: tokio::time::Instant,
    /// The reply once it arrived (or failed).
    result: Option<BackendReply>,
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
        backend.health.in_flight.fetch_add(1, Ordering::SeqCst);
        NodeCall {
            rx: backend.send(protocol, affinity, request),
            backend: backend.clone(),
            sent: Instant::now(),
            deadline: tokio::time::Instant::now() + state.config.request_timeout,
            result: None,
        }
    }

    fn finish(&mut self, reply: BackendReply) {
        if reply.is_ok() {
            self.backend.health.record_latency(self.sent.elapsed());
        }
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

    /// Waits for the reply or the deadline. Cancel-safe: the outcome is stored as soon as it
    /// is known.
    async fn wait(&mut self) {
        if self.result.is_some() {
            return;
        }
        let addr = self.backend.addr;
        let reply = match tokio::time::timeout_at(self.deadline, &mut self.rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(BackendError::ConnectionLost(addr)),
            Err(_) => Err(BackendError::Timeout(addr)),
        };
        self.finish(reply);
    }

    fn take(&mut self) -> BackendReply {
        let reply = self
            .result
            .take()
            .unwrap_or(Err(BackendError::ConnectionLost(self.backend.addr)));
        self.backend.health.traffic.record(&reply);
        reply
    }
}

/// A request's reply in the queue, with what its metrics need.
struct Queued {
    pending: Pending,
    /// Index of its command in the metrics tables (`None`: not a request, e.g. a protocol error).
    command: Option<usize>,
    /// Where it went.
    target: Target,
    /// When it was read.
    started: Instant,
}

impl Queued {
    fn new(
        pending: Pending,
        command: Option<usize>,
        state: &ProxyState,
        started: Instant,
    ) -> Queued {
        let target = match &pending {
            Pending::Ready(_) => Target::Proxy,
            Pending::Node(call) => state
                .metrics
                .group_of_node(call.backend.addr)
                .map_or(Target::Multi, Target::Group),
            Pending::Merged { .. } => Target::Multi,
        };
        Queued {
            pending,
            command,
            target,
            started,
        }
    }

    /// The encoded reply, counted in the metrics; call once ready.
    fn take(self, state: &ProxyState) -> Bytes {
        let bytes = self.pending.take();
        if let Some(command) = self.command {
            let error = matches!(bytes.first(), Some(b'-' | b'!'));
            state
                .metrics
                .record_request(command, self.target, error, self.started.elapsed());
        }
        bytes
    }
}

impl Drop for NodeCall {
    fn drop(&mut self) {
        self.backend.health.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Pending {
    /// True when the reply can be encoded without waiting.
    fn poll_ready(&mut self) -> bool {
        match self {
            Pending::Ready(_) => true,
            Pending::Node(call) => call.poll_ready(),
            Pending::Merged { parts, .. } => parts.iter_mut().all(NodeCall::poll_ready),
        }
    }

    /// Waits until the reply can be encoded (cancel-safe).
    async fn wait(&mut self) {
        match self {
            Pending::Ready(_) => {}
            Pending::Node(call) => call.wait().await,
            Pending::Merged { parts, .. } => {
                for part in parts.iter_mut() {
                    part.wait().await;
                }
            }
        }
    }

    /// The encoded reply; call once ready.
    fn take(self) -> Bytes {
        match self {
            Pending::Ready(bytes) => bytes,
            Pending::Node(mut call) => match call.take() {
                Ok(bytes) => bytes,
                Err(err) => encode(&Reply::error_owned(err.to_string()), Protocol::Resp2),
            },
            Pending::Merged {
                merge,
                mut parts,
                protocol,
            } => {
                let replies = parts.iter_mut().map(NodeCall::take).collect();
                encode(&merge.merge(replies, protocol), protocol)
            }
        }
    }
}

/// Serves one client until it disconnects, sends `QUIT`, or sends malformed input.
///
/// One task does everything for the client: it reads and dispatches requests, and writes
/// replies as the oldest pending one becomes ready, reading and writing concurrently so a
/// client that pipelines without reading cannot deadlock with the proxy.
pub async fn serve(state: Arc<ProxyState>, mut socket: TcpStream, _addr: SocketAddr) {
    let _ = socket.set_nodelay(true);
    let id = state.next_client_id.fetch_add(1, Ordering::Relaxed);
    state
        .stats
        .connected_clients
        .fetch_add(1, Ordering::Relaxed);
    let mut client = Client::new(state.clone(), id);
    let (mut reader, mut writer) = socket.split();
    let mut input = BytesMut::new();
    let mut output = BytesMut::new();
    let mut queue: VecDeque<Queued> = VecDeque::new();
    // Requests held back while a group's writes are paused (planned switchover): once one is
    // held, every later one is too, so nothing overtakes it.
    let mut held: VecDeque<(Vec<Bytes>, Instant)> = VecDeque::new();
    let mut reading = true;
    loop {
        while held
            .front()
            .is_some_and(|(args, _)| !client.must_hold(args))
        {
            let (args, started) = held.pop_front().expect("front exists");
            queue.push_back(client.dispatch_queued(args, started));
        }
        // Move every reply that is ready, in order, to the output.
        while let Some(front) = queue.front_mut() {
            if !front.pending.poll_ready() {
                break;
            }
            let bytes = queue.pop_front().expect("front exists").take(&state);
            output.extend_from_slice(&bytes);
        }
        if !reading && queue.is_empty() && output.is_empty() {
            let _ = writer.shutdown().await;
            break;
        }
        let can_read =
            reading && queue.len() + held.len() < MAX_IN_FLIGHT && output.len() < FLUSH_AT;
        if can_read && input.capacity() - input.len() < 4096 {
            input.reserve(16 * 1024);
        }
        tokio::select! {
            written = writer.write(&output), if !output.is_empty() => match written {
                Ok(n) if n > 0 => {
                    output.advance(n);
                    if output.is_empty() && output.capacity() > KEEP_BUFFER {
                        output = BytesMut::new();
                    }
                }
                _ => break,
            },
            read = reader.read_buf(&mut input), if can_read => match read {
                Ok(n) if n > 0 => {
                    loop {
                        match client.parser.parse(&mut input) {
                            Ok(Some(args)) => {
                                let started = Instant::now();
                                if !held.is_empty() || client.must_hold(&args) {
                                    held.push_back((args, started));
                                    continue;
                                }
                                queue.push_back(client.dispatch_queued(args, started));
                                if client.closing {
                                    reading = false;
                                    break;
                                }
                            }
                            Ok(None) => break,
                            Err(err) => {
                                let error = encode(&Reply::error_owned(format!("ERR {err}")), client.protocol);
                                queue.push_back(Queued::new(Pending::Ready(error), None, &state, Instant::now()));
                                reading = false;
                                break;
                            }
                        }
                    }
                    if input.is_empty() && input.capacity() > KEEP_BUFFER {
                        input = BytesMut::new();
                    }
                }
                _ => reading = false,
            },
            () = wait_front(&mut queue), if !queue.is_empty() => {}
            () = tokio::time::sleep(HELD_RECHECK), if !held.is_empty() => {}
        }
    }
    state
        .stats
        .connected_clients
        .fetch_sub(1, Ordering::Relaxed);
}

async fn wait_front(queue: &mut VecDeque<Queued>) {
    if let Some(front) = queue.front_mut() {
        front.pending.wait().await;
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

    /// True when `args` writes to a group whose writes are paused.
    fn must_hold(&self, args: &[Bytes]) -> bool {
        if !self.state.paused.iter().any(|p| p.load(Ordering::Relaxed)) {
            return false;
        }
        let Some(spec) = command_table::lookup_request(args) else {
            return false;
        };
        if spec.flags.contains(CommandFlags::READONLY) {
            return false;
        }
        let keys = spec.key_indexes(args);
        keys.iter().any(|&k| {
            self.state
                .is_paused(self.state.slots.group_of_key(&args[k]))
        })
    }

    /// Dispatches a request read at `started`, queued with what its metrics need.
    fn dispatch_queued(&mut self, args: Vec<Bytes>, started: Instant) -> Queued {
        let command = args.first().map(|name| ProxyMetrics::command_index(name));
        let pending = self.dispatch(args);
        Queued::new(pending, command, &self.state, started)
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
            group.primary()
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
