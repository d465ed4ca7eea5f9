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

use bytes::Bytes;
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

/// One request for the pinned connection.
struct Job {
    request: Bytes,
    /// Where its reply goes; `None` to drop it (a request the proxy adds, whose reply the
    /// client already got from the proxy).
    reply: Option<oneshot::Sender<Bytes>>,
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
}

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
        }
    }

    /// True while its group's primary and epoch are those it was opened with.
    pub(crate) fn is_current(&self, worker: &Worker) -> bool {
        worker.primary_and_epoch(self.group) == self.opened_on
    }

    /// Sends `args`; the node's reply passes through.
    pub(crate) fn send(&self, args: &[Bytes]) -> Pending {
        self.job(encode_args(args), Effect::of_args(args))
    }

    /// Sends `args` and drops the reply (the client already has the proxy's).
    pub(crate) fn send_quiet(&self, args: &[Bytes]) {
        self.send_quiet_encoded(args, encode_args(args));
    }

    /// [`Pinned::send_quiet`] of `args` already encoded as `request` (as the client sent it).
    pub(crate) fn send_quiet_encoded(&self, args: &[Bytes], request: Bytes) {
        let _ = self.jobs.send(Job {
            request,
            reply: None,
            exec: false,
            ran: None,
            effect: Effect::of_args(args),
        });
    }

    /// Sends `EXEC` if the group has not failed over since the connection was opened, else
    /// `DISCARD`, answering `-EXECABORT`; `ran` learns whether the transaction ran.
    pub(crate) fn exec(&self, ran: Option<oneshot::Sender<bool>>) -> Pending {
        let rx = self.exec_reply(ran);
        self.pending(rx)
    }

    /// [`Pinned::exec`], with the node's reply (encoded) coming to the caller instead of
    /// the client; the receiver reports a closed channel when the connection failed.
    pub(crate) fn exec_reply(
        &self,
        ran: Option<oneshot::Sender<bool>>,
    ) -> oneshot::Receiver<Bytes> {
        let (tx, rx) = oneshot::channel();
        // A closed channel drops `tx`: the pending reply then reports the failure.
        let _ = self.jobs.send(Job {
            request: encode_args(&[Bytes::from_static(b"EXEC")]),
            reply: Some(tx),
            exec: true,
            ran,
            effect: Effect::Ends,
        });
        rx
    }

    fn job(&self, request: Bytes, effect: Effect) -> Pending {
        let (tx, rx) = oneshot::channel();
        let _ = self.jobs.send(Job {
            request,
            reply: Some(tx),
            exec: false,
            ran: None,
            effect,
        });
        self.pending(rx)
    }

    fn pending(&self, rx: oneshot::Receiver<Bytes>) -> Pending {
        Pending::Task {
            rx,
            result: None,
            group: Some(self.group),
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
                while let Some(mut job) = next.take() {
                    if job.exec && failed_over() {
                        if let Some(reply) = job.reply.take() {
                            let abort = exec_abort("the group failed over during the transaction");
                            let _ = reply.send(encode(&abort, protocol));
                        }
                        job.request = encode_args(&[Bytes::from_static(b"DISCARD")]);
                        job.ran = None;
                    }
                    clean = false;
                    tainted |= job.effect == Effect::Taints;
                    waiting.push_back(Sent {
                        reply: job.reply,
                        ran: job.ran,
                        ends: job.effect == Effect::Ends,
                    });
                    batch.extend_from_slice(&job.request);
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
        let Some(reply) = job.reply else {
            continue;
        };
        let error = if job.exec {
            exec_abort(why)
        } else {
            Reply::error_owned(format!("ERR {why}"))
        };
        let _ = reply.send(encode(&error, protocol));
    }
}
