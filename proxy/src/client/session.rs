//! One client connection to the proxy.
//!
//! Each request is parsed, its command resolved once in the command table ([`Resolved`],
//! carried from then on: local answers, splitting, routing, the write hold, the metrics), and
//! dispatched at once (to a node, to several, or answered by the proxy), queueing a
//! [`Pending`] reply; replies leave strictly in queue order, so they
//! reach the client in request order however the nodes answer. A client can thus keep
//! thousands of requests in flight across groups.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use redoubt_protocol::command_table::{self, CommandFlags, CommandSpec, Resolved};
use redoubt_protocol::{errors, Protocol, Reply, RequestParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::commands::{self, Rule};
use super::conn::{ClientConn, ReplyMode};
use super::frame::{self, Args, Block, Words};
use super::merge::Merge;
use super::pending::{encode, encode_args, NodeCall, Pending};
use super::pubsub::{self, Subscriber};
use super::transaction::Transaction;
use super::{blocking, cluster, info, local, moves, multikey, split};
use crate::metrics::Target;
use crate::state::clients::ClientHandle;
use crate::state::Worker;

/// Requests a client may have in flight before the proxy stops reading from it.
const MAX_IN_FLIGHT: usize = 16 * 1024;
/// Reading pauses while this many reply bytes wait for the client to take them.
const FLUSH_AT: usize = 1024 * 1024;
/// Most requests (`MULTI` and `EXEC` included) and bytes in a transaction block passed
/// through whole (see [`Client::pass_block`]); a longer one takes the general path.
const BLOCK_REQUESTS: usize = 128;
const BLOCK_BYTES: usize = 64 * 1024;
/// How often held requests check whether their group's writes resumed.
const HELD_RECHECK: std::time::Duration = std::time::Duration::from_millis(1);
/// Buffers whose room has exceeded this (bytes) are released once empty. The room a `BytesMut`
/// reports can be far below its allocation (consumed bytes leave it; a reserve that fits behind
/// them reports only what was asked for), so the largest room seen decides, not the current.
const KEEP_BUFFER: usize = 1024 * 1024;

/// A parsed request and its command, resolved once.
struct Request {
    /// Its arguments, with the request as the client sent it when [`frame`] read it
    /// (forwarded as it is).
    args: Args,
    /// `None` for a name the command table does not hold.
    command: Option<Resolved>,
    /// When it was read.
    started: Instant,
    /// When the node's request timeout starts: when it was read, unless it was held back
    /// (`None`: when it is sent).
    sent_from: Option<Instant>,
}

/// Longest command name [`LastCommand`] remembers.
const NAME_CACHE: usize = 16;
/// Command names [`LastCommand`] remembers: a transaction's `MULTI`, command and `EXEC`.
const NAMES_CACHED: usize = 4;

/// A command name remembered by [`LastCommand`]: its length, its bytes, its command.
type CachedName = (usize, [u8; NAME_CACHE], Option<Resolved>);

/// The last few commands a client sent, by the bytes of their names: a pipeline mostly
/// repeats one command or a few (`MULTI`, `SET`, `EXEC`), which then resolve without a search
/// of the table. The oldest is replaced first.
#[derive(Default)]
struct LastCommand {
    /// Made on the first request: a client that sends nothing holds none.
    entries: Option<Box<[CachedName; NAMES_CACHED]>>,
    next: usize,
}

impl LastCommand {
    /// `args`'s command, as [`command_table::resolve`] gives it.
    fn resolve(&mut self, args: &impl Words) -> Option<Resolved> {
        let name = args.get(0)?;
        let entries = self.entries.get_or_insert_with(Default::default);
        for (len, bytes, command) in entries.iter() {
            if let Some(command) = command {
                if name.len() == *len && name[..] == bytes[..*len] {
                    return Some(*command);
                }
            }
        }
        let command = command_table::resolve(&args.to_vec());
        // Only commands without subcommands: the name alone resolves them.
        let cached =
            command.filter(|c| c.command.subcommands.is_empty() && name.len() <= NAME_CACHE);
        if cached.is_some() {
            let entry = &mut entries[self.next];
            entry.0 = name.len();
            entry.1[..name.len()].copy_from_slice(name);
            entry.2 = cached;
            self.next = (self.next + 1) % NAMES_CACHED;
        }
        command
    }
}

/// What a queued reply counts as in the metrics.
#[derive(Clone, Copy)]
enum Counted {
    /// Not a request (a protocol error): not counted.
    Nothing,
    /// A request; `None` for an unknown command.
    Request(Option<Resolved>),
}

/// A request's reply in the queue, with what its metrics need.
struct Queued {
    pending: Pending,
    counted: Counted,
    /// Where it went.
    target: Target,
    /// When it was read.
    started: Instant,
    /// Not sent to the client (`CLIENT REPLY OFF|SKIP`).
    silent: bool,
    /// A subscription's confirmation: messages wait until it is written.
    confirms: bool,
}

impl Queued {
    fn new(pending: Pending, counted: Counted, state: &Worker, started: Instant) -> Queued {
        let target = match &pending {
            Pending::Ready(_) => Target::Proxy,
            Pending::Node(call) | Pending::Block { call, .. } => call
                .backend
                .group
                .or_else(|| state.metrics.group_of_node(call.backend.addr))
                .map_or(Target::Multi, Target::Group),
            Pending::Task { group, .. } => group.map_or(Target::Multi, Target::Group),
            Pending::Merged { .. } => Target::Multi,
        };
        Queued {
            pending,
            counted,
            target,
            started,
            silent: false,
            confirms: false,
        }
    }

    /// The encoded reply, counted in the metrics; call once ready, `now` being about now.
    fn take(self, state: &Worker, now: Instant, tally: &mut Tally) -> Bytes {
        let bytes = self.pending.take(now);
        if let Counted::Request(command) = self.counted {
            let error = matches!(bytes.first(), Some(b'-' | b'!'));
            if error {
                state.stats.count_error(&bytes);
            }
            tally.add(
                state,
                Alike {
                    command,
                    target: self.target,
                    error,
                    elapsed: now.saturating_duration_since(self.started),
                },
            );
        }
        bytes
    }
}

/// What makes requests count alike in the metrics.
#[derive(Clone, Copy)]
struct Alike {
    command: Option<Resolved>,
    target: Target,
    error: bool,
    elapsed: std::time::Duration,
}

impl Alike {
    fn is(&self, other: &Alike) -> bool {
        self.command.map(|c| c.index) == other.command.map(|c| c.index)
            && self.target == other.target
            && self.error == other.error
            && self.elapsed == other.elapsed
    }
}

/// Requests counted in the metrics as runs of alike ones: the replies to one read of a
/// pipeline mostly are (same command, group, outcome, and latency measured from the same
/// read to the same write), and a run costs the shared counters one update, not one per
/// request. A few runs are kept at once, so an interleaving such as the `MULTI`, `SET`...,
/// `EXEC` of pipelined transactions still adds up. Flushed before the replies are written.
#[derive(Default)]
struct Tally {
    runs: [Option<(Alike, u64)>; TALLY_RUNS],
}

/// Runs a [`Tally`] keeps before it flushes.
const TALLY_RUNS: usize = 4;

impl Tally {
    fn add(&mut self, state: &Worker, request: Alike) {
        for run in &mut self.runs {
            match run {
                Some((alike, count)) if alike.is(&request) => {
                    *count += 1;
                    return;
                }
                Some(_) => {}
                None => {
                    *run = Some((request, 1));
                    return;
                }
            }
        }
        self.flush(state);
        self.runs[0] = Some((request, 1));
    }

    fn flush(&mut self, state: &Worker) {
        for (alike, count) in self.runs.iter_mut().filter_map(Option::take) {
            state.metrics.record_requests(
                alike.command.as_ref(),
                alike.target,
                alike.error,
                alike.elapsed,
                count,
            );
        }
    }
}

/// Serves one client until it disconnects, sends `QUIT`, or sends malformed input. The
/// caller has counted the client in `connected_clients` (to hold it to `maxclients`); the end
/// of the session uncounts it.
///
/// Until the client first sends something, its connection holds only this small future (a
/// few hundred bytes): the session's state and its reading and writing ([`session`], about
/// 1.7 KB) are made once the socket is readable, so a pool of connections that sit idle
/// costs little.
pub(crate) fn serve(
    state: Arc<Worker>,
    socket: TcpStream,
    addr: SocketAddr,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let _ = socket.set_nodelay(true);
    let id = state.next_client_id.fetch_add(1, Ordering::Relaxed);
    let laddr = socket.local_addr().unwrap_or(addr);
    let handle = state.clients.add(id, addr, laddr);
    serve_registered(state, socket, handle)
}

/// [`serve`] once the client is registered: only what waiting for its first bytes needs is
/// kept across that wait.
async fn serve_registered(state: Arc<Worker>, socket: TcpStream, handle: Arc<ClientHandle>) {
    {
        // Registered once for the connection's life, not once per turn of the session's loop.
        let kill = handle.kill.notified();
        tokio::pin!(kill);
        // `readable()` can report a fresh socket ready before anything arrived; peeking
        // waits until a byte (or the end of the stream) is really there.
        let mut probe = [0u8; 1];
        let readable = tokio::select! {
            peeked = socket.peek(&mut probe) => peeked.is_ok(),
            () = &mut kill => false,
        };
        if readable {
            Box::pin(session(state.clone(), socket, handle.clone(), kill)).await;
        }
    }
    state.clients.remove(handle.id);
    state
        .stats
        .connected_clients
        .fetch_sub(1, Ordering::Relaxed);
}

/// One client's session once it has sent something (see [`serve`]): one task does everything
/// for the client. It reads and dispatches requests, and writes replies as the oldest pending
/// one becomes ready, reading and writing concurrently so a client that pipelines without
/// reading cannot deadlock with the proxy. Returns when the connection ends.
async fn session(
    state: Arc<Worker>,
    mut socket: TcpStream,
    handle: Arc<ClientHandle>,
    mut kill: std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
) {
    let id = handle.id;
    let mut client = Client {
        conn: ClientConn {
            local: Some(handle.laddr),
            handle: Some(handle),
            ..ClientConn::new(id, state.config.requirepass.is_some())
        },
        state: state.clone(),
        parser: RequestParser::default(),
        parsing: false,
        names: LastCommand::default(),
        counts: (0, 0),
        seen: None,
        pubsub: Subscriber::new(state.pubsub.clone(), id),
        tx: Transaction::default(),
    };
    let (mut reader, mut writer) = socket.split();
    let mut input = BytesMut::new();
    let mut output = BytesMut::new();
    // The most room each buffer has had since it was last replaced (see `KEEP_BUFFER`).
    let (mut input_peak, mut output_peak) = (0usize, 0usize);
    let mut queue: VecDeque<Queued> = VecDeque::new();
    // Requests held back while a group's writes are paused (planned switchover): once one is
    // held, every later one is too, so nothing overtakes it.
    let mut held: VecDeque<Request> = VecDeque::new();
    let mut reading = true;
    let mut tally = Tally::default();
    // Requests already split off the input to look at a transaction block that could not
    // pass through whole: they are dispatched one by one before any later input.
    let mut lookahead: VecDeque<Args> = VecDeque::new();
    loop {
        while held
            .front()
            .is_some_and(|request| !client.must_hold(request, queue.is_empty()))
        {
            let mut request = held.pop_front().expect("front exists");
            // Held for a while: the node's timeout counts from now.
            request.sent_from = None;
            queue.push_back(client.dispatch_queued(request));
        }
        // Move every reply that is ready, in order, to the output.
        let mut now = None;
        while let Some(front) = queue.front_mut() {
            if !front.pending.poll_ready() {
                break;
            }
            let queued = queue.pop_front().expect("front exists");
            if queued.confirms {
                client.pubsub.confirmation_written();
            }
            let silent = queued.silent;
            let bytes = queued.take(&state, *now.get_or_insert_with(Instant::now), &mut tally);
            if !silent {
                output.extend_from_slice(&bytes);
            }
        }
        tally.flush(&state);
        if queue.is_empty() && held.is_empty() {
            client.tx.idle();
        }
        // Messages for the client's subscriptions, between whole replies.
        client.pubsub.deliver(&mut output, client.conn.protocol);
        if client.pubsub.is_cut_off() {
            break;
        }
        if !reading && queue.is_empty() && output.is_empty() {
            let _ = writer.shutdown().await;
            break;
        }
        client.show_seen();
        client.count();
        let can_read =
            reading && queue.len() + held.len() < MAX_IN_FLIGHT && output.len() < FLUSH_AT;
        output_peak = output_peak.max(output.capacity());
        tokio::select! {
            written = writer.write(&output), if !output.is_empty() => match written {
                Ok(n) if n > 0 => {
                    output.advance(n);
                    if output.is_empty() && output_peak > KEEP_BUFFER {
                        output = BytesMut::new();
                        output_peak = 0;
                    }
                }
                _ => break,
            },
            read = read_some(&mut reader, &mut input, &mut input_peak), if can_read => match read {
                Ok(n) if n > 0 => {
                    let now = Instant::now();
                    loop {
                        // Whole requests come straight off the input unless the parser is
                        // in the middle of one.
                        let fast = match lookahead.pop_front() {
                            Some(args) => Some(args),
                            None if client.parsing => None,
                            None => frame::take(&mut input),
                        };
                        let parsed = match fast {
                            Some(args) => Ok(Some(args)),
                            None if !client.parsing && input.is_empty() => break,
                            None => {
                                let parsed = client.parser.parse(&mut input);
                                client.parsing = matches!(parsed, Ok(None));
                                parsed.map(|args| args.map(Args::Parsed))
                            }
                        };
                        match parsed {
                            Ok(Some(args)) => {
                                let command = client.names.resolve(&args);
                                let multi = command.filter(|c| c.name() == "multi");
                                if let Some(multi) = multi.filter(|_| held.is_empty() && lookahead.is_empty()) {
                                    if let Some(queued) = client.pass_block((&args, multi), &mut input, &mut lookahead, now, &mut tally) {
                                        queue.push_back(queued);
                                        continue;
                                    }
                                }
                                let request = Request { args, command, started: now, sent_from: Some(now) };
                                if !held.is_empty() || client.must_hold(&request, queue.is_empty()) {
                                    held.push_back(request);
                                    continue;
                                }
                                queue.push_back(client.dispatch_queued(request));
                                if client.conn.closing {
                                    reading = false;
                                    break;
                                }
                            }
                            Ok(None) => break,
                            Err(err) => {
                                let error = encode(&Reply::error_owned(format!("ERR {err}")), client.conn.protocol);
                                queue.push_back(Queued::new(Pending::Ready(error), Counted::Nothing, &state, Instant::now()));
                                reading = false;
                                break;
                            }
                        }
                    }
                    if input.is_empty() && input_peak > KEEP_BUFFER {
                        input = BytesMut::new();
                        input_peak = 0;
                    }
                }
                _ => {
                    reading = false;
                    // A client gone while it waits (a blocking command) is let go, as Redis
                    // frees it: dropping the wait releases what it holds.
                    if queue.iter().any(|q| matches!(q.pending, Pending::Task { .. })) {
                        break;
                    }
                }
            },
            () = wait_front(&mut queue), if !queue.is_empty() => {}
            () = &mut kill => break,
            () = client.pubsub.wait(output.len() < pubsub::PUSH_AT), if client.pubsub.has_mailbox() => {}
            // Made only when polled: a timer costs a clock read.
            () = async { tokio::time::sleep(HELD_RECHECK).await }, if !held.is_empty() => {}
        }
    }
    client.count();
}

/// `WAIT`'s timeout (milliseconds; `None` for 0, forever, or unparsable: the node answers).
fn wait_timeout(args: &[Bytes]) -> Option<std::time::Duration> {
    let ms: u64 = std::str::from_utf8(args.get(2)?).ok()?.parse().ok()?;
    (ms > 0).then(|| std::time::Duration::from_millis(ms))
}

/// Reads what the client sent into `input`. A client that sends nothing holds no buffer: one
/// is made once its socket is readable, and replaced when full or too large (see
/// [`KEEP_BUFFER`]; `peak` is the most room it has had). Cancel-safe.
async fn read_some(
    reader: &mut tokio::net::tcp::ReadHalf<'_>,
    input: &mut BytesMut,
    peak: &mut usize,
) -> std::io::Result<usize> {
    if input.capacity() - input.len() < 4096 {
        if input.capacity() == 0 {
            reader.readable().await?;
        }
        input.reserve(16 * 1024);
        *peak = (*peak).max(input.capacity());
    }
    reader.read_buf(input).await
}

async fn wait_front(queue: &mut VecDeque<Queued>) {
    if let Some(front) = queue.front_mut() {
        front.pending.wait().await;
    }
}

/// The reading half's state.
struct Client {
    state: Arc<Worker>,
    conn: ClientConn,
    parser: RequestParser,
    /// True while the parser holds part of a request: the next bytes are its.
    parsing: bool,
    /// The command table, with the client's last command name remembered.
    names: LastCommand,
    /// Requests forwarded and requests dispatched, not yet added to the proxy's counters.
    counts: (u64, u64),
    /// The last command dispatched and when, not yet shown in `CLIENT LIST`.
    seen: Option<(Option<Resolved>, Instant)>,
    pubsub: Subscriber,
    /// `MULTI`/`WATCH` state and the connection a transaction is pinned to.
    tx: Transaction,
}

impl Client {
    fn ready(&self, reply: Reply) -> Pending {
        Pending::Ready(encode(&reply, self.conn.protocol))
    }

    /// `WAIT numreplicas timeout`: to the group of the client's last write, on the connection
    /// its writes took (so the node waits for them); after writes to several groups (or none),
    /// to every primary, answering the smallest count (replicas that acknowledged all of them).
    fn wait(&mut self, args: &[Bytes]) -> Pending {
        let request = encode_args(args);
        let call = |group: usize| {
            NodeCall::send(
                self.state.groups[group].primary(),
                self.conn.protocol,
                self.conn.db,
                self.conn.id,
                request.clone(),
                self.state.config.request_timeout
                    + wait_timeout(args).unwrap_or(std::time::Duration::from_secs(365 * 86400)),
            )
        };
        match self.conn.last_write {
            Some(Some(group)) => Pending::Node(call(group)),
            _ => Pending::Merged {
                merge: Merge::Rule(Rule::Min),
                parts: (0..self.state.groups.len()).map(call).collect(),
                protocol: self.conn.protocol,
            },
        }
    }

    /// True when `request` must wait: it writes to a group whose writes are paused, the
    /// client's database depends on an `EXEC` reply still to come, or it moves the client
    /// between shared and pinned node connections while earlier requests (none when `idle`)
    /// have no reply yet.
    fn must_hold(&mut self, request: &Request, idle: bool) -> bool {
        if !self.tx.settled(&mut self.conn)
            || self
                .tx
                .must_wait(&self.state, request.command.as_ref(), &request.args, idle)
        {
            return true;
        }
        if !self.state.paused.iter().any(|p| p.load(Ordering::Relaxed)) {
            return false;
        }
        let Some(command) = &request.command else {
            return false;
        };
        let spec = command.spec();
        if spec.flags.contains(CommandFlags::READONLY) {
            return false;
        }
        let args = request.args.to_vec();
        spec.key_indexes(&args).iter().any(|&k| {
            self.state
                .is_paused(self.state.slots.group_of_key(&args[k]))
        })
    }

    /// Shows `command`, run at `at`, as the client's last in `CLIENT LIST`.
    fn show(&self, command: Option<Resolved>, at: Instant) {
        if let Some(handle) = &self.conn.handle {
            let mut view = handle.view.lock();
            view.last_command = command;
            view.last_active = Some(at);
            view.subscriptions = self.pubsub.counts();
            view.multi = self.tx.queued();
        }
    }

    /// Shows the subscriptions and the transaction as a command just left them.
    fn show_state(&self) {
        if let Some(handle) = &self.conn.handle {
            let mut view = handle.view.lock();
            view.subscriptions = self.pubsub.counts();
            view.multi = self.tx.queued();
        }
    }

    /// Adds the requests forwarded and dispatched since the last call to the proxy's counters.
    fn count(&mut self) {
        let (forwarded, commands) = std::mem::take(&mut self.counts);
        if commands > 0 {
            let stats = &self.state.stats;
            stats.forwarded.add(forwarded);
            stats.commands.add(commands);
        }
    }

    /// Shows the last command dispatched, when that waited for the end of the batch.
    fn show_seen(&mut self) {
        if let Some((command, at)) = self.seen.take() {
            self.show(command, at);
        }
    }

    /// A client that sends a whole transaction (`MULTI`, commands whose keys are all in one
    /// group, `EXEC`) in one read, outside any other transaction or watch, has it passed
    /// through whole: one request on the group primary's shared connection, written there
    /// without a break so it runs as the client sent it, its replies (`+OK`, each
    /// `+QUEUED`, `EXEC`'s) passed back together. No node connection is pinned for it.
    ///
    /// `multi` is the `MULTI` just read, with its command; the rest is looked at in `input`. When the block is
    /// not all there, or any of it needs the general path (a command that is not simply
    /// routed, keys in several groups, `WATCH`, a paused group...), `None`: `multi` takes the
    /// general path, and the requests already split off go to `lookahead`, to be dispatched
    /// one by one after it.
    fn pass_block(
        &mut self,
        multi: (&Args, Resolved),
        input: &mut BytesMut,
        lookahead: &mut VecDeque<Args>,
        now: Instant,
        tally: &mut Tally,
    ) -> Option<Queued> {
        let (multi, multi_command) = multi;
        let multi_raw = multi.raw()?;
        let clear = multi.len() == 1
            && self.tx.is_clear()
            && self.conn.authenticated
            && self.conn.reply_mode == ReplyMode::On
            && self.conn.skip == 0
            && !self.pubsub.is_subscribed()
            && !self.state.paused.iter().any(|p| p.load(Ordering::Relaxed));
        if !clear {
            return None;
        }
        let block = frame::take_block(input, BLOCK_REQUESTS - 1, BLOCK_BYTES)?;
        let Some((group, writes)) = self.block_group(&block) else {
            lookahead.extend(block.into_args());
            return None;
        };
        if writes {
            if self.state.may_write(group).is_err() {
                // The general path gives each write its `-TRYAGAIN`.
                lookahead.extend(block.into_args());
                return None;
            }
            self.conn.last_write = Some(Some(group));
        }
        let whole = block.whole();
        let mut request = BytesMut::with_capacity(multi_raw.len() + whole.len());
        request.extend_from_slice(multi_raw);
        request.extend_from_slice(whole);
        let count = block.len() + 1;
        self.counts.0 += count as u64;
        self.counts.1 += count as u64;
        // `MULTI` and the queued commands count as answered by their node with the block
        // (their names resolve from the client's last commands, as in `block_group`).
        let last = block.len() - 1;
        let alike = |command| Alike {
            command,
            target: Target::Group(group),
            error: false,
            elapsed: std::time::Duration::ZERO,
        };
        tally.add(&self.state, alike(Some(multi_command)));
        for i in 0..last {
            let command = self.names.resolve(&block.request(i));
            tally.add(&self.state, alike(command));
        }
        let exec = self.names.resolve(&block.request(last));
        self.seen = Some((exec, now));
        let call = NodeCall::send_many_since(
            self.state.groups[group].primary(),
            self.conn.protocol,
            self.conn.db,
            self.conn.id,
            (request.freeze(), count as u32),
            self.state.config.request_timeout,
            tokio::time::Instant::from_std(now),
        );
        let pending = Pending::Block { call, queued: last };
        Some(Queued::new(
            pending,
            Counted::Request(exec),
            &self.state,
            now,
        ))
    }

    /// The group of a transaction block's requests (after `MULTI`, `EXEC` last) and whether
    /// any writes; `None` unless each queued command is simply routed
    /// ([`commands::is_plain`]), well formed, allowed in a transaction, and has keys, all in
    /// one group.
    fn block_group(&mut self, block: &Block) -> Option<(usize, bool)> {
        let last = block.len().checked_sub(1)?;
        if block.request(last).len() != 1 || last == 0 {
            return None;
        }
        let mut group = None;
        let mut writes = false;
        for i in 0..last {
            let args = &block.request(i);
            let command = self.names.resolve(args)?;
            let spec = command.spec();
            let plain = commands::is_plain(&command)
                && command.arity_ok(args.len())
                && !spec.flags.contains(CommandFlags::NO_MULTI)
                && !spec.flags.contains(CommandFlags::MOVABLE_KEYS);
            if !plain || fixed_keys(spec, args.len()).next().is_none() {
                return None;
            }
            let of_keys = self.group_of_keys(spec, args)?;
            if *group.get_or_insert(of_keys) != of_keys {
                return None;
            }
            writes |= !spec.flags.contains(CommandFlags::READONLY);
        }
        Some((group?, writes))
    }

    /// Dispatches a request, queued with what its metrics need.
    fn dispatch_queued(&mut self, request: Request) -> Queued {
        let counted = Counted::Request(request.command);
        let started = request.started;
        // What `CLIENT LIST` shows: at once for the commands that may read it, once per batch
        // for the rest.
        let plain = request.command.is_some_and(|c| commands::is_plain(&c));
        if plain {
            self.seen = Some((request.command, started));
        } else {
            self.seen = None;
            self.show(request.command, started);
        }
        let pending = self.dispatch(request);
        if !plain {
            self.show_state();
        }
        let mut queued = Queued::new(pending, counted, &self.state, started);
        queued.silent = self.conn.take_silence();
        queued.confirms = self.pubsub.take_queued_confirmation();
        queued
    }

    fn dispatch(&mut self, request: Request) -> Pending {
        self.counts.1 += 1;
        let Request {
            args,
            command,
            sent_from: started,
            ..
        } = request;
        let Some(command) = command else {
            self.tx.refused();
            return self.ready(Reply::error_owned(errors::unknown_command(&args.to_vec())));
        };
        if command.is_container_without_sub() && args.len() > 1 {
            self.tx.refused();
            return self.ready(Reply::error_owned(errors::unknown_subcommand(
                command.name(),
                args.arg(1),
            )));
        }
        if !command.arity_ok(args.len()) {
            self.tx.refused();
            return self.ready(Reply::error_owned(errors::wrong_arity(
                &command.to_string(),
            )));
        }
        if !self.conn.authenticated && !matches!(command.name(), "auth" | "hello" | "quit") {
            self.tx.refused();
            return self.ready(Reply::error("NOAUTH Authentication required."));
        }
        // The hot path: a command routed whole, outside a transaction, from a client that
        // may run it (a RESP2 subscriber may not: pub/sub answers it). Its counts wait for
        // the end of the batch.
        if commands::is_plain(&command)
            && !self.tx.in_multi()
            && !(self.conn.protocol == Protocol::Resp2 && self.pubsub.is_subscribed())
        {
            self.counts.0 += 1;
            let spec = command.spec();
            return match self.group_of_keys(spec, &args) {
                Some(group) => self.send_to_group(spec, group, &args, started),
                None => self.ready(Reply::error(
                    "CROSSSLOT Keys in request don't hash to the same slot",
                )),
            };
        }
        self.dispatch_special(command, args, started)
    }

    /// The group every key of `args` is in (group 0 for a keyless request); `None` when the
    /// keys are in several groups.
    fn group_of_keys(&self, spec: &CommandSpec, args: &impl Words) -> Option<usize> {
        if self.state.groups.len() == 1 {
            return Some(0);
        }
        let mut group = None;
        let mut same = |k: usize| {
            let g = self.state.slots.group_of_key(args.arg(k));
            *group.get_or_insert(g) == g
        };
        let all_same = if spec.flags.contains(CommandFlags::MOVABLE_KEYS) {
            spec.key_indexes(&args.to_vec()).into_iter().all(&mut same)
        } else {
            fixed_keys(spec, args.len()).all(&mut same)
        };
        all_same.then(|| group.unwrap_or(0))
    }

    /// Sends a request routed whole to `group` (its primary, or the read policy's choice for a
    /// read-only command), under the write lease, on the client's pinned connection when it
    /// watches keys there (the request as the client sent it goes on, when at hand);
    /// `started` when its node's timeout starts (`None`: now).
    fn send_to_group(
        &mut self,
        spec: &CommandSpec,
        group: usize,
        args: &Args,
        started: Option<Instant>,
    ) -> Pending {
        // The control plane's write lease: a proxy cut off from the quorum of proxies stops
        // taking writes (reads go on).
        let readonly = spec.flags.contains(CommandFlags::READONLY);
        if !readonly {
            if let Err(why) = self.state.may_write(group) {
                return self.ready(Reply::error_owned(format!("TRYAGAIN {why}")));
            }
        }
        if spec.flags.contains(CommandFlags::WRITE) {
            self.conn.last_write = Some(Some(group));
        }
        if let Some(pinned) = self.tx.pinned_for(group, &self.conn) {
            return pinned.send(&args.to_vec());
        }
        let group = &self.state.groups[group];
        let backend = if readonly {
            group.read_target()
        } else {
            group.primary()
        };
        Pending::Node(NodeCall::send_since(
            backend,
            self.conn.protocol,
            self.conn.db,
            self.conn.id,
            match args {
                Args::Framed { raw, .. } => raw.clone(),
                Args::Parsed(args) => encode_args(args),
            },
            self.state.config.request_timeout,
            started.map_or_else(tokio::time::Instant::now, tokio::time::Instant::from_std),
        ))
    }

    /// Every request that is not [`commands::is_plain`] (or comes inside a transaction, or
    /// from a RESP2 subscriber): `RESET`, pub/sub, transactions, refusals, proxy-answered
    /// commands, `WAIT`, spread, blocking and cross-group commands, in that order.
    fn dispatch_special(
        &mut self,
        command: Resolved,
        framed: Args,
        started: Option<Instant>,
    ) -> Pending {
        // `INFO` and the like see every earlier request counted (inside `MULTI` none runs
        // here: the batch's counts wait for its end).
        if !self.tx.in_multi() {
            self.count();
        }
        if command.name() == "reset" {
            self.tx.reset();
        }
        // Inside a transaction every command is the transaction's (PUBLISH included: it runs
        // on the transaction's group); outside, pub/sub comes first, so a RESP2 subscriber
        // gets Redis's error for MULTI and WATCH too.
        let in_multi = self.tx.in_multi();
        if in_multi {
            if let Some(pending) = self
                .tx
                .dispatch(&self.state, &mut self.conn, &command, &framed)
            {
                return pending;
            }
        }
        // `MGET`, `MSET`, `DEL`... outside a transaction and subscriptions: no pub/sub command,
        // so only the transaction state may take it; with every key in one group it passes
        // through whole from the client's bytes, as a plain command does.
        let spread = commands::spread(&command);
        let by_key = !in_multi
            && !self.pubsub.is_subscribed()
            && matches!(spread, Some(commands::Spread::ByKey(_)));
        if by_key {
            if let Some(pending) = self
                .tx
                .dispatch(&self.state, &mut self.conn, &command, &framed)
            {
                return pending;
            }
            if commands::refusal(&command).is_none() && !commands::is_local(&command) {
                let spec = command.spec();
                if let Some(pending) = split::send_whole(&self.state, &self.conn, spec, &framed) {
                    self.state.stats.forwarded.add(1);
                    if spec.flags.contains(CommandFlags::WRITE) {
                        self.conn.last_write = Some(None);
                    }
                    return pending;
                }
            }
        }
        let args = framed.to_vec();
        if !in_multi && !by_key {
            if let Some(pending) = self.pubsub.handle(&self.conn, &self.state, &command, &args) {
                return pending;
            }
            if let Some(pending) = self
                .tx
                .dispatch(&self.state, &mut self.conn, &command, &framed)
            {
                return pending;
            }
        }
        if let Some(why) = commands::refusal(&command) {
            return self.ready(Reply::error_owned(why));
        }
        if commands::is_local(&command) {
            if let Some(reply) = local::answer(&mut self.conn, &self.state, &command, &args) {
                return self.ready(reply);
            }
        }
        match command.name() {
            "info" => return info::send(&self.state, &self.conn, &args),
            "cluster" => return cluster::send(&self.state, &self.conn, &command, &args),
            _ => {}
        }
        self.state.stats.forwarded.add(1);
        let spec = command.spec();
        let writes = spec.flags.contains(CommandFlags::WRITE);
        if command.name() == "wait" {
            return self.wait(&args);
        }
        if let Some(spread) = spread {
            if writes {
                self.conn.last_write = Some(None);
            }
            let name: Cow<str> = match command.sub {
                None => Cow::Borrowed(command.name()),
                Some(_) => Cow::Owned(command.to_string()),
            };
            let raw = framed.raw().cloned();
            return split::send(&self.state, &self.conn, spec, &name, spread, &args, raw);
        }
        let keys = spec.key_indexes(&args);
        // Commands the proxy carries out over groups write like any other: the write lease
        // holds for every group their keys are in.
        let over_groups = blocking::is_blocking(&command)
            || multikey::handles(command.name())
            || moves::handles(command.name());
        if over_groups && writes {
            for &k in &keys {
                if let Err(why) = self
                    .state
                    .may_write(self.state.slots.group_of_key(&args[k]))
                {
                    return self.ready(Reply::error_owned(format!("TRYAGAIN {why}")));
                }
            }
        }
        if blocking::is_blocking(&command) {
            return blocking::send(&self.state, &self.conn, &command, &args);
        }
        let group = match keys.first() {
            None => 0,
            Some(&first) => {
                let group = self.state.slots.group_of_key(&args[first]);
                if keys[1..]
                    .iter()
                    .any(|&k| self.state.slots.group_of_key(&args[k]) != group)
                {
                    if multikey::handles(command.name()) {
                        return multikey::send(
                            &self.state,
                            &self.conn,
                            command.name(),
                            &args,
                            &keys,
                        );
                    }
                    if moves::handles(command.name()) {
                        return moves::send(&self.state, &self.conn, command.name(), &args);
                    }
                    return self.ready(Reply::error(
                        "CROSSSLOT Keys in request don't hash to the same slot",
                    ));
                }
                group
            }
        };
        self.send_to_group(spec, group, &framed, started)
    }
}

/// Positions of the keys of a command whose keys are found by position (not
/// `movable_keys`) in a request of `argc` arguments, as [`CommandSpec::key_indexes`] gives
/// them, without collecting them.
pub(super) fn fixed_keys(spec: &CommandSpec, argc: usize) -> impl Iterator<Item = usize> {
    let first = usize::try_from(spec.first_key).unwrap_or(0);
    let (first, last) = if first == 0 || argc <= first {
        (1, 0)
    } else {
        let last = if spec.last_key < 0 {
            argc as i64 + i64::from(spec.last_key)
        } else {
            i64::from(spec.last_key)
        };
        (first, last.min(argc as i64 - 1).max(0) as usize)
    };
    (first..=last).step_by(spec.key_step.max(1) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    fn name(command: Option<Resolved>) -> Option<String> {
        command.map(|c| c.to_string())
    }

    #[test]
    fn the_last_command_resolves_as_the_table_does() {
        let mut last = LastCommand::default();
        for words in [
            &["SET", "k", "v"][..],
            &["SET", "k", "v"],
            &["get", "k"],
            &["GET", "k"],
            &["GET", "k"],
            &["config", "get", "x"],
            &["config", "set", "x", "y"],
            &["nosuchcommand"],
            &["GETSET", "k", "v"],
            &["GET", "k"],
            &["MULTI"],
            &["SET", "k", "v"],
            &["EXEC"],
            &["MULTI"],
            &["INCR", "k"],
            &["exec"],
            &["set", "k", "v"],
            &["GETSET", "k", "v"],
        ] {
            let args = args(words);
            assert_eq!(
                name(last.resolve(&Args::Parsed(args.clone()))),
                name(command_table::resolve(&args)),
                "{words:?}"
            );
        }
        assert!(last.resolve(&Args::Parsed(Vec::new())).is_none());
    }

    #[test]
    fn fixed_keys_are_the_tables_keys() {
        for words in [
            &["get", "k"][..],
            &["set", "k", "v", "ex", "10"],
            &["mset", "a", "1", "b", "2"],
            &["del", "a", "b", "c"],
            &["ping"],
            &["hset", "h", "f", "v"],
            &["get"],
        ] {
            let args = args(words);
            let spec = command_table::resolve(&args).expect("known").spec();
            assert_eq!(
                fixed_keys(spec, args.len()).collect::<Vec<_>>(),
                spec.key_indexes(&args),
                "{words:?}"
            );
        }
    }
}
