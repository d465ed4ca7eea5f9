//! A client's own connection to one group's primary, for a transaction or the keys it
//! watches: a task owns the [`HeldConnection`] (counted as held for
//! [`HoldReason::Transaction`]) and passes the client's requests through it in order,
//! pipelined, each reply back to its [`Pending`]. Dropping the [`Pinned`] ends the task once
//! the requests already sent have their replies; the node then forgets the transaction and the
//! watches with the connection.
//!
//! A failover ends the transaction cleanly: `EXEC` is sent only while the group's primary and
//! epoch are those the connection was opened with, else the task sends `DISCARD` instead and
//! answers `-EXECABORT`; the node itself refuses an `EXEC` with queued writes once it is a
//! standby or fenced by a newer epoch. A connection that fails fails every request on it, so
//! nothing is ever resent to another node.
//!
//! The connection is taken from the worker's [`IdleConnections`](crate::backend::idle) when
//! one fits (same group, primary, epoch, database and protocol), and goes back there at the
//! end when its last request ended the transaction or the watches (`EXEC`, `DISCARD`,
//! `UNWATCH` answered without error: the node then has no `MULTI` open and nothing watched)
//! and nothing was sent that changes the connection's state for good (`SELECT`, `HELLO`,
//! `CLIENT`...); else it is closed.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use redoubt_protocol::{Protocol, Reply};
use tokio::sync::{mpsc, oneshot};

use super::pending::{encode, encode_args, Pending};
use crate::backend::held::{HeldConnection, HoldReason};
use crate::backend::idle::IdleKey;
use crate::backend::Backend;
use crate::state::Worker;

/// Requests gathered into one write to the node, at most about this many bytes (a request
/// larger than this goes alone).
const WRITE_BATCH: usize = 64 * 1024;
/// Room (bytes) made at once for requests whose replies are dropped.
const QUIET_ROOM: usize = 4096;

/// Requests for the pinned connection, in order: first those whose replies are dropped, then
/// at most one whose reply is wanted. Requests whose replies are dropped (a transaction's
/// `MULTI` and queued commands, answered by the proxy) wait in the [`Pinned`] and go with the
/// next request that has a reply, so a transaction reaches the task in one hand-over.
struct Job {
    quiet: Quiet,
    call: Option<Call>,
}

/// Requests whose replies are dropped (the client already has the proxy's), encoded back to
/// back.
#[derive(Debug, Default)]
struct Quiet {
    requests: BytesMut,
    /// How many requests `requests` holds.
    count: usize,
    /// One of them changes the connection for good ([`Effect::Taints`]).
    taints: bool,
    /// The last one ends the transaction or the watches ([`Effect::Ends`]).
    last_ends: bool,
}

impl Quiet {
    fn push(&mut self, request: &[u8], effect: Effect) {
        if self.requests.capacity() - self.requests.len() < request.len() {
            // Room for many requests: the buffer is split off whole at each hand-over, and
            // growing it request by request would reallocate each time.
            self.requests.reserve(request.len().max(QUIET_ROOM));
        }
        self.requests.extend_from_slice(request);
        self.count_one(effect);
    }

    /// Counts one more request, already in `requests`.
    fn count_one(&mut self, effect: Effect) {
        self.count += 1;
        self.taints |= effect == Effect::Taints;
        self.last_ends = effect == Effect::Ends;
    }

    /// The requests gathered so far, leaving this empty (and its buffer for the next ones).
    fn take(&mut self) -> Quiet {
        Quiet {
            requests: self.requests.split(),
            count: std::mem::take(&mut self.count),
            taints: std::mem::take(&mut self.taints),
            last_ends: std::mem::take(&mut self.last_ends),
        }
    }
}

/// One request whose reply is wanted.
struct Call {
    request: Bytes,
    /// Where its reply goes.
    reply: oneshot::Sender<Bytes>,
    /// `EXEC`: sent only while the group has not failed over.
    exec: bool,
    /// For `EXEC`: told whether the transaction ran (its reply is an array).
    ran: Option<oneshot::Sender<bool>>,
    /// What it does to the connection's state.
    effect: Effect,
}

/// What a request does to the node connection's state, for its reuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    /// `EXEC`, `DISCARD`, `UNWATCH`: answered without error, no `MULTI` is open and nothing
    /// is watched.
    Ends,
    /// Changes the connection for good (database, protocol, client settings,
    /// subscriptions...): it is never reused.
    Taints,
    /// Anything else: the connection is clean again only after a later [`Effect::Ends`].
    Other,
}

impl Effect {
    fn of(name: &[u8]) -> Effect {
        const ENDS: &[&[u8]] = &[b"exec", b"discard", b"unwatch"];
        const TAINTS: &[&[u8]] = &[
            b"select",
            b"hello",
            b"client",
            b"auth",
            b"reset",
            b"readonly",
            b"readwrite",
            b"monitor",
            b"subscribe",
            b"psubscribe",
            b"ssubscribe",
            b"unsubscribe",
            b"punsubscribe",
            b"sunsubscribe",
            b"sync",
            b"psync",
            b"replconf",
            b"epoch",
        ];
        if ENDS.iter().any(|n| name.eq_ignore_ascii_case(n)) {
            Effect::Ends
        } else if TAINTS.iter().any(|n| name.eq_ignore_ascii_case(n)) {
            Effect::Taints
        } else {
            Effect::Other
        }
    }

    fn of_args(args: &[Bytes]) -> Effect {
        args.first().map_or(Effect::Other, |name| Effect::of(name))
    }
}

/// A request written to the node, waiting for its reply.
struct Sent {
    reply: Option<oneshot::Sender<Bytes>>,
    ran: Option<oneshot::Sender<bool>>,
    ends: bool,
}

/// A connection to one group's primary tied to one client (see the module docs).
#[derive(Debug)]
pub(crate) struct Pinned {
    /// The group.
    pub(crate) group: usize,
    /// The database the node connection is in now (outside a transaction).
    pub(crate) db: usize,
    /// The protocol the node connection speaks.
    pub(crate) protocol: Protocol,
    /// The group's primary and epoch when it was opened.
    opened_on: (std::net::SocketAddr, u64),
    jobs: mpsc::UnboundedSender<Job>,
    /// Requests whose replies are dropped, not handed to the task yet: they go with the next
    /// request that has a reply, once they reach [`WRITE_BATCH`] bytes, or when this is
    /// dropped.
    quiet: Quiet,
}

/// `EXEC`, `MULTI` and `DISCARD` as a node reads them.
const EXEC: &[u8] = b"*1\r\n$4\r\nEXEC\r\n";
const MULTI: &[u8] = b"*1\r\n$5\r\nMULTI\r\n";
const DISCARD: &[u8] = b"*1\r\n$7\r\nDISCARD\r\n";

impl Pinned {
    /// Opens a connection to the primary of `group` in `protocol` and database `db`, served by
    /// a new task. Requests may be sent at once: they wait for the connection, and fail with
    /// `-ERR node ... unavailable` if it cannot be opened.
    pub(crate) fn open(
        worker: &Arc<Worker>,
        group: usize,
        protocol: Protocol,
        db: usize,
    ) -> Pinned {
        // Unbounded, yet bounded by the session: each request has its reply in the client's
        // queue, which holds at most `MAX_IN_FLIGHT`.
        let (jobs, rx) = mpsc::unbounded_channel();
        let backend = worker.groups[group].primary().clone();
        let epoch = worker.groups[group].epoch();
        let opened_on = (backend.addr, epoch);
        tokio::spawn(serve(
            worker.clone(),
            group,
            backend,
            epoch,
            protocol,
            db,
            rx,
        ));
        Pinned {
            group,
            db,
            protocol,
            opened_on,
            jobs,
            quiet: Quiet::default(),
        }
    }

    /// True while its group's primary and epoch are those it was opened with.
    pub(crate) fn is_current(&self, worker: &Worker) -> bool {
        worker.primary_and_epoch(self.group) == self.opened_on
    }

    /// Sends `args`; the node's reply passes through.
    pub(crate) fn send(&mut self, args: &[Bytes]) -> Pending {
        self.job(encode_args(args), Effect::of_args(args))
    }

    /// Sends `args` and drops the reply (the client already has the proxy's).
    pub(crate) fn send_quiet(&mut self, args: &[Bytes]) {
        let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
        redoubt_protocol::request::encode_request_into(&mut self.quiet.requests, &refs);
        self.quiet.count_one(Effect::of_args(args));
        self.flush_large();
    }

    /// [`Pinned::send_quiet`] of a request already encoded as `request` (as the client sent
    /// it), `name` being its command's name.
    pub(crate) fn send_quiet_encoded(&mut self, name: &[u8], request: &[u8]) {
        self.quiet.push(request, Effect::of(name));
        self.flush_large();
    }

    /// `MULTI`, its reply dropped.
    pub(crate) fn send_multi(&mut self) {
        self.quiet.push(MULTI, Effect::Other);
        self.flush_large();
    }

    /// `DISCARD`, its reply dropped.
    pub(crate) fn send_discard(&mut self) {
        self.quiet.push(DISCARD, Effect::Ends);
        self.flush_large();
    }

    /// Hands the requests whose replies are dropped to the task once they are many.
    fn flush_large(&mut self) {
        if self.quiet.requests.len() >= WRITE_BATCH {
            let quiet = self.quiet.take();
            let _ = self.jobs.send(Job { quiet, call: None });
        }
    }

    /// Sends `EXEC` if the group has not failed over since the connection was opened, else
    /// `DISCARD`, answering `-EXECABORT`; `ran` learns whether the transaction ran.
    pub(crate) fn exec(&mut self, ran: Option<oneshot::Sender<bool>>) -> Pending {
        let rx = self.exec_reply(ran);
        self.pending(rx)
    }

    /// [`Pinned::exec`], with the node's reply (encoded) coming to the caller instead of
    /// the client; the receiver reports a closed channel when the connection failed.
    pub(crate) fn exec_reply(
        &mut self,
        ran: Option<oneshot::Sender<bool>>,
    ) -> oneshot::Receiver<Bytes> {
        let (tx, rx) = oneshot::channel();
        // A closed channel drops `tx`: the pending reply then reports the failure.
        self.call(Call {
            request: Bytes::from_static(EXEC),
            reply: tx,
            exec: true,
            ran,
            effect: Effect::Ends,
        });
        rx
    }

    fn job(&mut self, request: Bytes, effect: Effect) -> Pending {
        let (tx, rx) = oneshot::channel();
        self.call(Call {
            request,
            reply: tx,
            exec: false,
            ran: None,
            effect,
        });
        self.pending(rx)
    }

    /// Hands `call` to the task, after the requests whose replies are dropped.
    fn call(&mut self, call: Call) {
        let quiet = self.quiet.take();
        let _ = self.jobs.send(Job {
            quiet,
            call: Some(call),
        });
    }

    fn pending(&self, rx: oneshot::Receiver<Bytes>) -> Pending {
        Pending::Task {
            rx,
            result: None,
            group: Some(self.group),
        }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if self.quiet.count > 0 {
            let quiet = self.quiet.take();
            let _ = self.jobs.send(Job { quiet, call: None });
        }
    }
}

/// `EXEC`'s answer when the transaction was dropped because of `why`, in Redis's words
/// (`execCommandAbort`).
pub(crate) fn exec_abort(why: &str) -> Reply {
    Reply::error_owned(format!("EXECABORT Transaction discarded because of: {why}"))
}

/// The task behind a [`Pinned`]: opens the connection, then writes each request as it comes
/// and hands each reply to its request's sender, in order, until the [`Pinned`] is dropped
/// and every reply is in; a node silent for the request timeout fails what waits.
async fn serve(
    worker: Arc<Worker>,
    group: usize,
    backend: Arc<Backend>,
    epoch: u64,
    protocol: Protocol,
    db: usize,
    mut jobs: mpsc::UnboundedReceiver<Job>,
) {
    let timeout = worker.config.request_timeout;
    let error = |text: String| encode(&Reply::error_owned(text), protocol);
    let key = IdleKey {
        group,
        addr: backend.addr,
        epoch,
        db,
        protocol,
    };
    let current = |g: usize| worker.primary_and_epoch(g);
    let pinned = &worker.metrics.pinned;
    let reused = worker
        .idle
        .take(key, current, HoldReason::Transaction, pinned);
    let opened = match reused {
        Some(connection) => Ok(connection),
        None => HeldConnection::open(&backend, protocol, db, HoldReason::Transaction, pinned).await,
    };
    let mut connection = match opened {
        Ok(connection) => connection,
        Err(err) => {
            let why = format!("node {} unavailable: {err}", backend.addr);
            fail_rest(&mut jobs, &why, protocol).await;
            return;
        }
    };
    let failed_over = || worker.primary_and_epoch(group) != (backend.addr, epoch);
    let mut waiting: VecDeque<Sent> = VecDeque::new();
    let mut batch: Vec<u8> = Vec::new();
    let mut open = true;
    let mut deadline = tokio::time::Instant::now() + timeout;
    // Clean: the last request ended the transaction or the watches without error.
    let mut clean = true;
    let mut tainted = false;
    let why = loop {
        if !open && waiting.is_empty() {
            if clean && !tainted {
                worker.idle.put(key, connection, current);
            }
            return;
        }
        tokio::select! {
            job = jobs.recv(), if open => {
                let Some(job) = job else {
                    open = false;
                    continue;
                };
                if waiting.is_empty() {
                    deadline = tokio::time::Instant::now() + timeout;
                }
                // Every request already queued goes out in one write, as a client's pipeline
                // does: a transaction's MULTI, commands and EXEC reach the node together.
                batch.clear();
                let mut next = Some(job);
                while let Some(Job { quiet, call }) = next.take() {
                    if quiet.count > 0 {
                        clean = false;
                        tainted |= quiet.taints;
                        for i in 1..=quiet.count {
                            waiting.push_back(Sent {
                                reply: None,
                                ran: None,
                                ends: quiet.last_ends && i == quiet.count,
                            });
                        }
                        batch.extend_from_slice(&quiet.requests);
                    }
                    if let Some(mut call) = call {
                        let mut reply = Some(call.reply);
                        if call.exec && failed_over() {
                            if let Some(reply) = reply.take() {
                                let abort = exec_abort("the group failed over during the transaction");
                                let _ = reply.send(encode(&abort, protocol));
                            }
                            call.request = Bytes::from_static(DISCARD);
                            call.ran = None;
                        }
                        clean = false;
                        tainted |= call.effect == Effect::Taints;
                        waiting.push_back(Sent {
                            reply,
                            ran: call.ran,
                            ends: call.effect == Effect::Ends,
                        });
                        batch.extend_from_slice(&call.request);
                    }
                    if batch.len() < WRITE_BATCH {
                        match jobs.try_recv() {
                            Ok(job) => next = Some(job),
                            Err(mpsc::error::TryRecvError::Disconnected) => open = false,
                            Err(mpsc::error::TryRecvError::Empty) => {}
                        }
                    }
                }
                if let Err(err) = connection.send(&batch).await {
                    break format!("connection to node {} lost: {err}", backend.addr);
                }
                if batch.capacity() > 4 * WRITE_BATCH {
                    batch = Vec::new();
                }
            }
            reply = connection.reply(), if !waiting.is_empty() => match reply {
                Ok(bytes) => {
                    deadline = tokio::time::Instant::now() + timeout;
                    // This reply, then every other one already read, in one turn.
                    let mut next = Some(bytes);
                    let mut failed = None;
                    while let Some(bytes) = next.take() {
                        let Some(sent) = waiting.pop_front() else {
                            break;
                        };
                        answer(sent, bytes, waiting.is_empty(), &mut clean);
                        if !waiting.is_empty() {
                            match connection.buffered_reply() {
                                Ok(reply) => next = reply,
                                Err(err) => failed = Some(err),
                            }
                        }
                    }
                    if let Some(err) = failed {
                        break format!("connection to node {} lost: {err}", backend.addr);
                    }
                }
                Err(err) => break format!("connection to node {} lost: {err}", backend.addr),
            },
            () = tokio::time::sleep_until(deadline), if !waiting.is_empty() => {
                break format!("node {} timed out", backend.addr);
            }
        }
    };
    drop(connection);
    for sender in waiting.into_iter().filter_map(|sent| sent.reply) {
        let _ = sender.send(error(format!("ERR {why}")));
    }
    if open {
        fail_rest(&mut jobs, &why, protocol).await;
    }
}

/// Hands `bytes`, the node's reply to `sent`, to whoever waits for it; `last` when no other
/// request waits, so `clean` learns whether the connection may be reused.
fn answer(sent: Sent, bytes: Bytes, last: bool, clean: &mut bool) {
    let Sent { reply, ran, ends } = sent;
    if ends && last {
        *clean = !matches!(bytes.first(), Some(b'-' | b'!'));
    }
    if let Some(ran) = ran {
        let _ = ran.send(bytes.first() == Some(&b'*') && &bytes[..] != b"*-1\r\n");
    }
    if let Some(reply) = reply {
        let _ = reply.send(bytes);
    }
}

/// Answers every later request with an error until the [`Pinned`] is dropped: `EXEC` with
/// `-EXECABORT` (the node dropped the transaction with the connection), the rest with `-ERR`.
async fn fail_rest(jobs: &mut mpsc::UnboundedReceiver<Job>, why: &str, protocol: Protocol) {
    while let Some(job) = jobs.recv().await {
        let Some(call) = job.call else {
            continue;
        };
        let reply = call.reply;
        let error = if call.exec {
            exec_abort(why)
        } else {
            Reply::error_owned(format!("ERR {why}"))
        };
        let _ = reply.send(encode(&error, protocol));
    }
}
