//! Transactions through the proxy: `MULTI`, `EXEC`, `DISCARD`, `WATCH`, `UNWATCH`, with
//! Redis 7.2's replies and errors (`multi.c`) and Redis Cluster's rule that a transaction's
//! keys live in one place (here: one group).
//!
//! A transaction runs on a [`Pinned`] connection to its group's primary, so the node queues,
//! watches and runs it atomically as Redis does. The group is the one of the first keyed
//! command, or of `WATCH` before `MULTI`: keyless commands queued before it are answered
//! `+QUEUED` by the proxy and sent after `MULTI` once the group is known (a transaction with
//! no key runs on the group of slot 0). A key of another group is refused at queue time with
//! `-CROSSSLOT`, which, like every queue-time error (unknown command, arity...), makes `EXEC`
//! answer `-EXECABORT`. The pinned connection is released after `EXEC`, `DISCARD`, `UNWATCH`,
//! `RESET` or the client's disconnect (to the worker's idle connections when clean, see
//! [`Pinned`]); after an `EXEC` it lingers while the client pipelines further transactions
//! of the same group, which then run on it without waiting for that `EXEC`'s reply; while the client only watches keys, its requests to
//! that group take the pinned connection too, so they stay in order with the `WATCH`.
//!
//! `SELECT` inside `MULTI` is queued on the node like any command; when `EXEC` ran the
//! transaction the client's database becomes the last one it selected, and the client's later
//! requests wait for that reply so none runs in the wrong database.

use std::sync::Arc;

use bytes::Bytes;
use redoubt_protocol::command_table::{CommandFlags, CommandSpec, Resolved};
use redoubt_protocol::reply_decoder::decode;
use redoubt_protocol::{Protocol, Reply};
use tokio::sync::oneshot;

use super::commands;
use super::conn::ClientConn;
use super::frame::Args;
use super::pending::{encode, Pending};
use super::pinned::Pinned;
use super::session::fixed_keys;
use crate::backend::DATABASES;
use crate::state::Worker;

/// Keyless commands the proxy queues itself before a transaction's group is known; past
/// this many (or [`MAX_BUFFERED_BYTES`]) the transaction takes the group of slot 0.
const MAX_BUFFERED: usize = 1024;
/// Bytes of arguments of the commands queued by the proxy, at most (see [`MAX_BUFFERED`]).
const MAX_BUFFERED_BYTES: usize = 1024 * 1024;

const CROSSSLOT: &str = "CROSSSLOT Keys in request don't hash to the same slot";
const SELECT_SPANNING: &str =
    "ERR SELECT inside a transaction whose keys span groups is not supported through the proxy";

/// Proxy-answered commands that run inside a transaction (on the node, queued).
const QUEUED_LOCAL: &[&str] = &["ping", "echo", "select"];

/// One client's transaction state, when it has one (see [`Transaction`]).
#[derive(Debug, Default)]
struct State {
    /// Inside `MULTI`, as the client sees it.
    multi: bool,
    /// A command was refused while queuing: `EXEC` answers `-EXECABORT`.
    failed: bool,
    /// The connection the transaction or the watches run on. Inside `MULTI` the node
    /// connection is in `MULTI` too whenever this is set.
    pinned: Option<Pinned>,
    /// `pinned` was opened by `WATCH`: its `EXEC` decides whether the transaction runs.
    watching: bool,
    /// Inside `MULTI`, connections to the other groups the transaction's keys reach, each
    /// in `MULTI` on its node (see [`Transaction::span`]).
    spans: Vec<Pinned>,
    /// Inside `MULTI`, the group of each command queued on a node, in order: `EXEC`'s
    /// replies are put back in this order when the transaction spans groups.
    order: Vec<usize>,
    /// Keyless commands answered `+QUEUED` by the proxy, waiting for the group.
    buffered: Vec<Vec<Bytes>>,
    /// Bytes of `buffered`'s arguments.
    buffered_bytes: usize,
    /// The database the last `SELECT` queued in the transaction chooses.
    select: Option<usize>,
    /// After an `EXEC` that queued a `SELECT`: whether it ran, and the database.
    db_after_exec: Option<(oneshot::Receiver<bool>, usize)>,
    /// A pinned connection was just released: the next request waits for its replies.
    released: bool,
    /// The connection of the client's last transaction, kept while its `EXEC` may still be
    /// in flight: a next transaction of the same group, pipelined behind it, runs there
    /// without waiting for that reply; any other request waits as after a release, and the
    /// connection is released once the client has no reply to wait for.
    lingering: Option<Pinned>,
}

/// One client's transaction state: none until the client sends a transaction command, and
/// none again once it has nothing left of one (most clients never use a transaction, and the
/// state takes a few hundred bytes).
#[derive(Debug, Default)]
pub(crate) struct Transaction(Option<Box<State>>);

impl Transaction {
    /// True inside `MULTI`.
    pub(crate) fn in_multi(&self) -> bool {
        self.0.as_ref().is_some_and(|state| state.in_multi())
    }

    /// Inside `MULTI`: the commands queued so far (by the nodes and by the proxy).
    pub(crate) fn queued(&self) -> Option<usize> {
        self.0.as_ref()?.queued()
    }

    /// No transaction, no watched key and no node connection pinned or lingering: a whole
    /// `MULTI ... EXEC` block may pass through on the shared connections.
    pub(crate) fn is_clear(&self) -> bool {
        self.0.is_none()
    }

    /// A command was refused before reaching the transaction logic (unknown command,
    /// arity, `NOAUTH`): inside `MULTI` that makes `EXEC` fail, as in Redis.
    pub(crate) fn refused(&mut self) {
        if let Some(state) = &mut self.0 {
            state.refused();
        }
    }

    /// `RESET`: the transaction and watches are dropped (with the pinned connection).
    pub(crate) fn reset(&mut self) {
        if let Some(state) = &mut self.0 {
            state.reset();
        }
    }

    /// True when `command` must wait until every earlier request of the client has its
    /// reply (`idle`); see [`State::must_wait`].
    pub(crate) fn must_wait(
        &mut self,
        worker: &Worker,
        command: Option<&Resolved>,
        args: &Args,
        idle: bool,
    ) -> bool {
        match &mut self.0 {
            Some(state) => state.must_wait(worker, command, args, idle),
            None => State::default().must_wait(worker, command, args, idle),
        }
    }

    /// The client has no reply to wait for: a lingering connection is released, and the
    /// state with it once nothing is left of it.
    pub(crate) fn idle(&mut self) {
        if let Some(state) = &mut self.0 {
            state.idle();
            if state.is_empty() {
                self.0 = None;
            }
        }
    }

    /// False while the client's database depends on an `EXEC` reply still to come; once it is
    /// known, applies it to `conn`.
    pub(crate) fn settled(&mut self, conn: &mut ClientConn) -> bool {
        self.0.as_mut().is_none_or(|state| state.settled(conn))
    }

    /// The pinned connection, when the client watches keys of `group` (outside `MULTI`).
    pub(crate) fn pinned_for(&mut self, group: usize, conn: &ClientConn) -> Option<&mut Pinned> {
        self.0.as_mut()?.pinned_for(group, conn)
    }

    /// Serves `args` when it is a transaction command, or any command inside `MULTI`;
    /// `None` for the session to route as usual (see [`State::dispatch`]).
    pub(crate) fn dispatch(
        &mut self,
        worker: &Arc<Worker>,
        conn: &mut ClientConn,
        command: &Resolved,
        args: &Args,
    ) -> Option<Pending> {
        if self.0.is_none()
            && !matches!(
                command.name(),
                "multi" | "exec" | "discard" | "watch" | "unwatch"
            )
        {
            return None;
        }
        self.0
            .get_or_insert_with(Default::default)
            .dispatch(worker, conn, command, args)
    }
}

impl State {
    /// True when nothing is left of a transaction or of watches: no `MULTI`, no connection,
    /// nothing queued or awaited.
    fn is_empty(&self) -> bool {
        !self.multi
            && !self.failed
            && self.pinned.is_none()
            && !self.watching
            && self.spans.is_empty()
            && self.order.is_empty()
            && self.buffered.is_empty()
            && self.buffered_bytes == 0
            && self.select.is_none()
            && self.db_after_exec.is_none()
            && !self.released
            && self.lingering.is_none()
    }
}

impl State {
    /// True inside `MULTI`.
    pub(crate) fn in_multi(&self) -> bool {
        self.multi
    }

    /// Inside `MULTI`: the commands queued so far (by the nodes and by the proxy).
    pub(crate) fn queued(&self) -> Option<usize> {
        self.multi.then(|| self.order.len() + self.buffered.len())
    }

    /// A command was refused before reaching the transaction logic (unknown command,
    /// arity, `NOAUTH`): inside `MULTI` that makes `EXEC` fail, as in Redis.
    pub(crate) fn refused(&mut self) {
        if self.multi {
            self.failed = true;
        }
    }

    /// `RESET`: the transaction and watches are dropped (with the pinned connection).
    pub(crate) fn reset(&mut self) {
        let released = self.pinned.is_some() || self.lingering.is_some();
        *self = State::default();
        self.released = released;
    }

    /// True when `command` must wait until every earlier request of the client has its
    /// reply (`idle`): it moves the client's requests to a group from the shared connections
    /// to a pinned one (`WATCH`, the first keyed command of a transaction), or follows the
    /// release of one (`EXEC`, `DISCARD`, `UNWATCH`, `RESET`). Else a request on one
    /// connection could overtake an earlier one on the other.
    pub(crate) fn must_wait(
        &mut self,
        worker: &Worker,
        command: Option<&Resolved>,
        args: &Args,
        idle: bool,
    ) -> bool {
        if idle {
            self.idle();
            return false;
        }
        if self.released {
            return true;
        }
        let Some(command) = command else {
            return self.lingering.is_some();
        };
        if let Some(lingering) = &self.lingering {
            if !lingering.is_current(worker) {
                return true;
            }
            let same = if command.name() == "exec" {
                Some(worker.slots.group_of_slot(0) == lingering.group)
            } else {
                keys_group(worker, command.spec(), args).map(|g| g == Some(lingering.group))
            };
            return !self.continues(same, command);
        }
        self.pinned.is_none()
            && match command.name() {
                "watch" => !self.multi,
                "exec" => self.multi && !self.failed && !self.buffered.is_empty(),
                "multi" | "discard" | "unwatch" | "quit" | "reset" => false,
                _ => {
                    self.multi
                        && (self.buffered.len() >= MAX_BUFFERED
                            || keys_group(worker, command.spec(), args).is_some())
                }
            }
    }

    /// The client has no reply to wait for: a lingering connection is released.
    pub(crate) fn idle(&mut self) {
        self.released = false;
        self.lingering = None;
    }

    /// True when `command` (`same`: whether its keys are all in the lingering connection's
    /// group, `None` without keys) goes on with the transactions behind a lingering connection: `MULTI`, a keyless
    /// command queued by the proxy, the first keyed command of the lingering group.
    fn continues(&self, same: Option<bool>, command: &Resolved) -> bool {
        if !self.multi {
            return command.name() == "multi";
        }
        if self.pinned.is_some() {
            return true;
        }
        match command.name() {
            "exec" => self.failed || self.buffered.is_empty() || same == Some(true),
            "discard" => true,
            "multi" | "watch" | "unwatch" | "quit" | "reset" => false,
            _ => match same {
                Some(same) => same,
                None => self.buffered.len() < MAX_BUFFERED,
            },
        }
    }

    /// False while the client's database depends on an `EXEC` reply still to come; once it is
    /// known, applies it to `conn`.
    pub(crate) fn settled(&mut self, conn: &mut ClientConn) -> bool {
        let Some((rx, db)) = self.db_after_exec.as_mut() else {
            return true;
        };
        let ran = match rx.try_recv() {
            Ok(ran) => ran,
            Err(oneshot::error::TryRecvError::Empty) => return false,
            Err(oneshot::error::TryRecvError::Closed) => false,
        };
        if ran {
            conn.db = *db;
            if let Some(handle) = &conn.handle {
                handle.view.lock().db = *db;
            }
        }
        self.db_after_exec = None;
        true
    }

    /// The pinned connection, when the client watches keys of `group` (outside `MULTI`):
    /// its requests to that group go there, in order with the `WATCH`.
    pub(crate) fn pinned_for(&mut self, group: usize, conn: &ClientConn) -> Option<&mut Pinned> {
        let pinned = self.pinned.as_mut().filter(|p| p.group == group)?;
        sync(pinned, conn);
        Some(pinned)
    }

    /// Serves `args` when it is a transaction command, or any command inside `MULTI`;
    /// `None` for the session to route as usual. `QUIT` and `RESET` are the session's. `raw`
    /// is the request as the client sent it, when at hand.
    pub(crate) fn dispatch(
        &mut self,
        worker: &Arc<Worker>,
        conn: &mut ClientConn,
        command: &Resolved,
        args: &Args,
    ) -> Option<Pending> {
        let name = command.name();
        if matches!(name, "quit" | "reset") {
            return None;
        }
        if !self.multi {
            return match name {
                "multi" => Some(self.begin(conn)),
                "exec" => Some(ready(conn, Reply::error("ERR EXEC without MULTI"))),
                "discard" => Some(ready(conn, Reply::error("ERR DISCARD without MULTI"))),
                "watch" => Some(self.watch(worker, conn, &args.to_vec())),
                "unwatch" => Some(self.unwatch(conn, &args.to_vec())),
                _ => None,
            };
        }
        Some(match name {
            "multi" => ready(conn, Reply::error("ERR MULTI calls can not be nested")),
            "watch" => ready(conn, Reply::error("ERR WATCH inside MULTI is not allowed")),
            "exec" => self.exec(worker, conn),
            "discard" => self.discard(conn),
            _ => self.queue(worker, conn, command, args),
        })
    }

    /// `MULTI`: on the node at once when keys are watched there, else answered here.
    fn begin(&mut self, conn: &ClientConn) -> Pending {
        self.multi = true;
        self.failed = false;
        self.select = None;
        match self.pinned.as_mut() {
            Some(pinned) => {
                sync(pinned, conn);
                pinned.send(&[Bytes::from_static(b"MULTI")])
            }
            None => Pending::Ready(Bytes::from_static(b"+OK\r\n")),
        }
    }

    /// `WATCH key...`: the keys' group is pinned (all in one group, the group of earlier
    /// watches if any, else `-CROSSSLOT`) and the node watches them.
    fn watch(&mut self, worker: &Arc<Worker>, conn: &ClientConn, args: &[Bytes]) -> Pending {
        let Some(group) = one_group(worker, args[1..].iter().map(|a| &a[..])) else {
            return ready(conn, Reply::error(CROSSSLOT));
        };
        let pinned = match self.pinned.take() {
            Some(pinned) if pinned.group != group => {
                self.pinned = Some(pinned);
                return ready(conn, Reply::error(CROSSSLOT));
            }
            Some(pinned) => pinned,
            None => Pinned::open(worker, group, conn.protocol, conn.db),
        };
        self.watching = true;
        let pinned = self.pinned.insert(pinned);
        sync(pinned, conn);
        pinned.send(args)
    }

    /// `UNWATCH`: forgotten by the node, and the pinned connection released.
    fn unwatch(&mut self, conn: &ClientConn, args: &[Bytes]) -> Pending {
        self.watching = false;
        match self.pinned.take() {
            Some(mut pinned) => {
                self.released = true;
                pinned.send(args)
            }
            None => ready(conn, Reply::ok()),
        }
    }

    /// A command inside `MULTI`: checked as Redis checks it at queue time, then queued on
    /// the node (or by the proxy until the group is known).
    fn queue(
        &mut self,
        worker: &Arc<Worker>,
        conn: &mut ClientConn,
        command: &Resolved,
        args: &Args,
    ) -> Pending {
        let spec = command.spec();
        let name = command.name();
        if spec.flags.contains(CommandFlags::NO_MULTI) {
            return self.fail(
                conn,
                Reply::error("ERR Command not allowed inside a transaction"),
            );
        }
        if let Some(why) = commands::refusal(command) {
            return self.fail(conn, Reply::error_owned(why));
        }
        // PUBLISH reaches every subscriber from the node it runs on; a subscription would
        // belong to the pinned connection, which ends with the transaction.
        let subscribes =
            spec.flags.contains(CommandFlags::PUBSUB) && !matches!(name, "publish" | "spublish");
        if subscribes || (commands::is_local(command) && !QUEUED_LOCAL.contains(&name)) {
            let why = format!(
                "ERR '{}' inside MULTI is not supported through the proxy",
                command.to_string().replace('|', " ").to_ascii_uppercase()
            );
            return self.fail(conn, Reply::error_owned(why));
        }
        if name == "select" {
            if !self.spans.is_empty() {
                return self.fail(conn, Reply::error(SELECT_SPANNING));
            }
            if let Some(db) = std::str::from_utf8(args.get(1).unwrap_or_default())
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|db| *db < DATABASES)
            {
                self.select = Some(db);
            }
        }
        let group = match keys_group(worker, spec, args) {
            None => None,
            Some(Some(group)) => Some(group),
            Some(None) => return self.fail(conn, Reply::error(CROSSSLOT)),
        };
        let writes = spec.flags.contains(CommandFlags::WRITE);
        if let (Some(group), true) = (group, writes) {
            if let Err(why) = worker.may_write(group) {
                return self.fail(conn, Reply::error_owned(format!("TRYAGAIN {why}")));
            }
            conn.last_write = Some(Some(group));
        }
        // Checked here as the node checks it, a command is answered `+QUEUED` at once and
        // its node's reply dropped: a refusal only the node can make (`OOM`, `MISCONF`) makes
        // its `EXEC` answer `-EXECABORT`, as in Redis.
        match (self.pinned.as_ref().map(|p| p.group), group) {
            (Some(main), None) => self.queue_on_main(main, conn, args),
            (Some(main), Some(group)) if main == group => self.queue_on_main(main, conn, args),
            (Some(_), Some(group)) => self.span(worker, conn, group, args),
            (None, Some(group)) => {
                self.pin(worker, conn, group);
                self.queue_on_main(group, conn, args)
            }
            (None, None) => {
                let args = args.to_vec();
                self.buffered_bytes += args.iter().map(Bytes::len).sum::<usize>();
                self.buffered.push(args);
                if self.buffered.len() > MAX_BUFFERED || self.buffered_bytes > MAX_BUFFERED_BYTES {
                    self.pin(worker, conn, worker.slots.group_of_slot(0));
                }
                queued()
            }
        }
    }

    /// Pins `group` inside `MULTI`: the node connection enters `MULTI` and gets the commands
    /// the proxy queued (their `+QUEUED` replies are already the client's).
    fn pin(&mut self, worker: &Arc<Worker>, conn: &ClientConn, group: usize) -> &Pinned {
        let lingering = self
            .lingering
            .take()
            .filter(|p| p.group == group && p.is_current(worker));
        let mut pinned = match lingering {
            Some(mut pinned) => {
                sync(&mut pinned, conn);
                pinned
            }
            None => Pinned::open(worker, group, conn.protocol, conn.db),
        };
        pinned.send_multi();
        for args in self.buffered.drain(..) {
            pinned.send_quiet(&args);
            self.order.push(group);
        }
        self.buffered_bytes = 0;
        self.pinned.insert(pinned)
    }

    /// Queues `args` (`raw`: as the client sent them) on the pinned connection, of group
    /// `main`.
    fn queue_on_main(&mut self, main: usize, _conn: &ClientConn, args: &Args) -> Pending {
        self.order.push(main);
        if let Some(pinned) = &mut self.pinned {
            send_quiet_encoded(pinned, args);
        }
        queued()
    }

    /// Queues `args`, whose keys are all in `group`, which is not the group the transaction
    /// is pinned to: the transaction then spans groups. Each group's part is queued in
    /// `MULTI` on a connection of its own and runs there atomically; `EXEC` runs the part
    /// of the first group (the watched one, if any) first and the others only if it ran
    /// (see [`exec_spanning`]). Refused with `-CROSSSLOT` once a `SELECT` is queued, since
    /// the other groups' connections would not follow it.
    fn span(
        &mut self,
        worker: &Arc<Worker>,
        conn: &mut ClientConn,
        group: usize,
        args: &Args,
    ) -> Pending {
        if self.select.is_some() {
            return self.fail(conn, Reply::error(CROSSSLOT));
        }
        let at = match self.spans.iter().position(|p| p.group == group) {
            Some(at) => at,
            None => {
                let mut pinned = Pinned::open(worker, group, conn.protocol, conn.db);
                pinned.send_multi();
                self.spans.push(pinned);
                self.spans.len() - 1
            }
        };
        self.order.push(group);
        send_quiet_encoded(&mut self.spans[at], args);
        queued()
    }

    /// `EXEC`: `-EXECABORT` after a queue-time error, else run on the node (an empty
    /// transaction with nothing watched answers an empty array here). The pinned connection
    /// is released.
    fn exec(&mut self, worker: &Arc<Worker>, conn: &mut ClientConn) -> Pending {
        let failed = self.failed;
        let select = self.select;
        let mut spans = std::mem::take(&mut self.spans);
        let order = std::mem::take(&mut self.order);
        let buffered = !self.buffered.is_empty();
        let pinned = if failed || self.pinned.is_some() || !buffered {
            self.pinned.take()
        } else {
            self.pin(worker, conn, worker.slots.group_of_slot(0));
            self.pinned.take()
        };
        *self = State {
            released: pinned.is_some(),
            lingering: self.lingering.take(),
            ..State::default()
        };
        let Some(mut pinned) = pinned else {
            return ready(
                conn,
                if failed {
                    Reply::error("EXECABORT Transaction discarded because of previous errors.")
                } else {
                    Reply::Array(Vec::new())
                },
            );
        };
        if failed {
            pinned.send_discard();
            for span in &mut spans {
                span.send_discard();
            }
            return ready(
                conn,
                Reply::error("EXECABORT Transaction discarded because of previous errors."),
            );
        }
        if !spans.is_empty() {
            // Released: the next request waits for this one's reply.
            return exec_spanning(pinned, spans, order, conn.protocol);
        }
        let ran = select.map(|db| {
            let (tx, rx) = oneshot::channel();
            self.db_after_exec = Some((rx, db));
            tx
        });
        let pending = pinned.exec(ran);
        if select.is_none() {
            // Kept for a next transaction pipelined behind this one (see `lingering`).
            self.released = false;
            self.lingering = Some(pinned);
        }
        pending
    }

    /// `DISCARD`: the queued commands and the watches dropped, the pinned connection
    /// released.
    fn discard(&mut self, conn: &ClientConn) -> Pending {
        for mut span in self.spans.drain(..) {
            span.send_discard();
        }
        let pinned = self.pinned.take();
        *self = State {
            released: pinned.is_some(),
            lingering: self.lingering.take(),
            ..State::default()
        };
        match pinned {
            Some(mut pinned) => pinned.send(&[Bytes::from_static(b"DISCARD")]),
            None => ready(conn, Reply::ok()),
        }
    }

    /// A queue-time error: answered, and `EXEC` will answer `-EXECABORT`.
    fn fail(&mut self, conn: &ClientConn, reply: Reply) -> Pending {
        self.failed = true;
        ready(conn, reply)
    }
}

/// `EXEC` of a transaction that spans groups: `main`'s part first (the group of its first
/// keyed command, or of `WATCH`), then, only if it ran, every part in `spans` together. Their
/// replies are merged into one array in the order the commands were queued (`order` gives
/// each one's group). When `main`'s part did not run (a watched key changed: a null reply;
/// `-EXECABORT`; a failover), the other parts are discarded and its reply is the answer, so
/// nothing runs. A part that fails after `main`'s ran (its node failed over or refused
/// `EXEC`) cannot be undone: each of its commands' places in the array holds an error saying
/// so. Across groups the transaction is not isolated: another client may see one group's part
/// applied before another's.
fn exec_spanning(
    mut main: Pinned,
    spans: Vec<Pinned>,
    order: Vec<usize>,
    protocol: Protocol,
) -> Pending {
    let (tx, rx) = oneshot::channel();
    let first = main.exec_reply(None);
    tokio::spawn(async move {
        let reply = run_spanning(main, first, spans, order).await;
        let _ = tx.send(encode(&reply, protocol));
    });
    Pending::Task {
        rx,
        result: None,
        group: None,
    }
}

async fn run_spanning(
    main: Pinned,
    first: oneshot::Receiver<Bytes>,
    mut spans: Vec<Pinned>,
    order: Vec<usize>,
) -> Reply {
    let decoded = |reply: Result<Bytes, oneshot::error::RecvError>| match reply {
        Ok(bytes) => decode(&bytes)
            .unwrap_or_else(|_| Reply::error("ERR malformed EXEC reply from the node")),
        Err(_) => Reply::error("ERR the connection to the node was lost during EXEC"),
    };
    let mut parts: Vec<(usize, std::collections::VecDeque<Reply>)> = Vec::new();
    match decoded(first.await) {
        Reply::Array(items) => parts.push((main.group, items.into())),
        not_run => {
            for span in &mut spans {
                span.send_discard();
            }
            return not_run;
        }
    }
    drop(main);
    let waits: Vec<_> = spans
        .iter_mut()
        .map(|span| (span.group, span.exec_reply(None)))
        .collect();
    drop(spans);
    for (group, wait) in waits {
        let items = match decoded(wait.await) {
            Reply::Array(items) => items.into(),
            failed => {
                let why = match &failed {
                    Reply::Error(text) => text.to_string(),
                    other => format!("{other:?}"),
                };
                let error = format!(
                    "EXECABORT this part of the transaction, on another group, did not run \
                     after the first part had: {why}"
                );
                let count = order.iter().filter(|g| **g == group).count();
                std::iter::repeat_with(|| Reply::error_owned(error.clone()))
                    .take(count)
                    .collect()
            }
        };
        parts.push((group, items));
    }
    let mut merged = Vec::with_capacity(order.len());
    for group in order {
        let next = parts
            .iter_mut()
            .find(|(g, _)| *g == group)
            .and_then(|(_, items)| items.pop_front());
        merged.push(next.unwrap_or_else(|| Reply::error("ERR missing reply in EXEC")));
    }
    Reply::Array(merged)
}

/// Queues `args` on `pinned`, its reply dropped: `raw` when the client's own bytes are at
/// hand.
fn send_quiet_encoded(pinned: &mut Pinned, args: &Args) {
    match args {
        Args::Framed { raw, .. } => pinned.send_quiet_encoded(args.arg(0), raw),
        Args::Parsed(args) => pinned.send_quiet(args),
    }
}

/// `+QUEUED`, the same in both protocols.
fn queued() -> Pending {
    Pending::Ready(Bytes::from_static(b"+QUEUED\r\n"))
}

fn ready(conn: &ClientConn, reply: Reply) -> Pending {
    Pending::Ready(encode(&reply, conn.protocol))
}

/// The group of the keys of `args`, a request of the command `spec`: `None` when it has no
/// key, `Some(None)` when its keys span groups.
fn keys_group(worker: &Worker, spec: &CommandSpec, args: &Args) -> Option<Option<usize>> {
    if spec.flags.contains(CommandFlags::MOVABLE_KEYS) {
        let keys = spec.key_indexes(&args.to_vec());
        if keys.is_empty() {
            return None;
        }
        return Some(one_group(worker, keys.iter().map(|&k| args.arg(k))));
    }
    let mut keys = fixed_keys(spec, args.len()).peekable();
    keys.peek()?;
    Some(one_group(worker, keys.map(|k| args.arg(k))))
}

/// The group every one of `keys` is in; `None` when they span several (or there are none).
fn one_group<'a>(worker: &Worker, mut keys: impl Iterator<Item = &'a [u8]>) -> Option<usize> {
    let first = keys.next()?;
    if worker.groups.len() == 1 {
        return Some(0);
    }
    let group = worker.slots.group_of_key(first);
    keys.all(|key| worker.slots.group_of_key(key) == group)
        .then_some(group)
}

/// Brings the pinned node connection to the client's database and protocol, outside a
/// transaction (its replies are not the client's).
fn sync(pinned: &mut Pinned, conn: &ClientConn) {
    if pinned.db != conn.db {
        pinned.send_quiet(&[
            Bytes::from_static(b"SELECT"),
            Bytes::from(conn.db.to_string()),
        ]);
        pinned.db = conn.db;
    }
    if pinned.protocol != conn.protocol {
        let version = if conn.protocol == redoubt_protocol::Protocol::Resp3 {
            "3"
        } else {
            "2"
        };
        pinned.send_quiet(&[Bytes::from_static(b"HELLO"), Bytes::from(version)]);
        pinned.protocol = conn.protocol;
    }
}
