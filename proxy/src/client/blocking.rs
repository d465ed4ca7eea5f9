//! Blocking commands through the proxy: `BLPOP`, `BRPOP`, `BLMPOP`, `BZPOPMIN`, `BZPOPMAX`,
//! `BZMPOP`, `BLMOVE` and `BRPOPLPUSH`, each served by a task on [`HeldConnection`]s (one per
//! group its keys live in); the replies to the client's later requests leave after its reply.
//! A move between groups waits on its source and then pushes (see [`Push`]).
//!
//! Keys in one group: the command goes whole to that group's primary on a held connection;
//! the node blocks, serves and times out as Redis does, and its reply passes through.
//!
//! Keys in several groups (`BRPOP q1 q2 q3`, the queue libraries' habit), Redis's semantics
//! kept with no element lost or delivered twice:
//! 1. **Data first, in argument order**: a non-blocking pop (`LPOP`, `ZPOPMIN`, `LMPOP 1`...)
//!    on each key in turn; the first element found is the answer. So when keys hold data the
//!    element comes from the first key (in argument order) that had data when it was looked
//!    at; a push to an earlier key racing with the look-ups may be passed over, as if it came
//!    just after.
//! 2. **Then wait everywhere**: the command, with that group's keys, on a held connection to
//!    each group's primary. The first reply carrying an element (or an error) wins.
//! 3. **Cancel the others safely**: each other wait is ended with `CLIENT UNBLOCK id` sent on
//!    another connection to its node (repeated until its reply arrives, since the request
//!    may not have reached the node yet), and its reply read to the end: a nil, or an element
//!    the node popped before the unblock. Such an element is pushed back to the same end of the
//!    same key (`LPUSH` for a left pop, `ZADD` with its score...) **before** the winner is
//!    answered. The node pops and replies atomically, so every popped element is in exactly
//!    one reply, and every reply is either answered or pushed back: none is lost or doubled.
//!
//! The same drain runs when the client disconnects mid-wait (every element read is pushed
//! back) and at the proxy's own deadline (the command's timeout plus the request timeout, a
//! safety net for a node that never answers). The held connections are dropped when the task
//! ends, whatever the path.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use redoubt_protocol::command_table::Resolved;
use redoubt_protocol::reply::format_double;
use redoubt_protocol::reply_decoder::decode;
use redoubt_protocol::{Protocol, Reply};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use tokio::sync::oneshot;

use super::conn::ClientConn;
use super::moves::{lmove_ends, Mover};
use super::pending::{encode, encode_args, Pending};
use crate::backend::held::{HeldConnection, HoldReason};
use crate::backend::idle::IdleKey;
use crate::backend::node_client::NodeError;
use crate::backend::Backend;
use crate::metrics::stats::ProxyStats;
use crate::state::clients::{ClientHandle, Unblock};
use crate::state::Worker;

/// How often a cancelled wait is asked again to unblock while its reply has not come.
const UNBLOCK_RETRY: Duration = Duration::from_millis(10);

/// The blocking commands served here.
const BLOCKING: &[&str] = &[
    "blpop",
    "brpop",
    "blmpop",
    "bzpopmin",
    "bzpopmax",
    "bzmpop",
    "blmove",
    "brpoplpush",
];

/// True for the blocking commands this module serves.
pub(crate) fn is_blocking(command: &Resolved) -> bool {
    BLOCKING.contains(&command.name())
}

/// What a command pops, so an element read from a cancelled wait can be put back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `BLPOP` (left) / `BRPOP`: reply `[key, element]`.
    Pop { left: bool },
    /// `BZPOPMIN` / `BZPOPMAX`: reply `[key, member, score]`.
    ZPop { min: bool },
    /// `BLMPOP`: reply `[key, [element...]]`.
    LMPop { left: bool },
    /// `BZMPOP`: reply `[key, [[member, score]...]]`.
    ZMPop,
    /// `BLMOVE`, `BRPOPLPUSH` in one group: the element moves atomically on the node;
    /// nothing to put back. Across groups the wait is a `Pop` (see [`Push`]).
    Move,
}

/// `BLMOVE` / `BRPOPLPUSH` with the source and the destination in different groups: the
/// wait is a `BLPOP`/`BRPOP` of the source on its group (so a cancelled wait puts its element
/// back like any pop), then the element is pushed to the destination on its group. The
/// destination's type is checked first (Redis's `WRONGTYPE` before anything changes), and if
/// the push fails the element goes back to the end of the source it came from (lost only if
/// the source's group fails too, which is logged). Not atomic across groups: another client
/// may see the element in neither list for a moment.
#[derive(Debug)]
struct Push {
    source: Bytes,
    destination: Bytes,
    from_left: bool,
    to_left: bool,
}

/// A blocking request, planned.
#[derive(Debug)]
struct Plan {
    kind: Kind,
    /// Per group: the group and the blocking request with that group's keys.
    parts: Vec<(usize, Bytes)>,
    /// Several groups: the non-blocking look-ups, one per key in argument order.
    lookups: Vec<(usize, Lookup)>,
    /// The command's timeout (`None`: wait forever; unparsable: the node will say so).
    timeout: Option<Duration>,
    /// A move across groups: where the popped element goes.
    push: Option<Push>,
}

/// One non-blocking look-up of phase 1.
#[derive(Debug)]
struct Lookup {
    key: Bytes,
    request: Bytes,
}

fn word(text: &'static str) -> Bytes {
    Bytes::from_static(text.as_bytes())
}

fn is(arg: &[u8], text: &str) -> bool {
    arg.eq_ignore_ascii_case(text.as_bytes())
}

/// A timeout argument in seconds (`0`: forever).
fn parse_timeout(arg: &[u8]) -> Option<Duration> {
    let seconds: f64 = std::str::from_utf8(arg).ok()?.parse().ok()?;
    (seconds.is_finite() && seconds > 0.0).then(|| Duration::from_secs_f64(seconds.min(1e9)))
}

/// Plans `args` (arity already checked) over the groups `group_of` gives its keys.
///
/// # Errors
/// `ERR syntax error` for a move across groups whose ends are not `LEFT`/`RIGHT`.
fn plan(
    name: &str,
    args: &[Bytes],
    keys: &[usize],
    group_of: impl Fn(&[u8]) -> usize,
) -> Result<Plan, Reply> {
    let kind = match name {
        "blpop" => Kind::Pop { left: true },
        "brpop" => Kind::Pop { left: false },
        "bzpopmin" => Kind::ZPop { min: true },
        "bzpopmax" => Kind::ZPop { min: false },
        "blmpop" => Kind::LMPop {
            left: keys
                .last()
                .and_then(|&k| args.get(k + 1))
                .is_some_and(|w| is(w, "left")),
        },
        "bzmpop" => Kind::ZMPop,
        _ => Kind::Move,
    };
    let multi = matches!(kind, Kind::LMPop { .. } | Kind::ZMPop);
    let timeout_arg = if multi {
        &args[1]
    } else {
        &args[args.len() - 1]
    };
    let timeout = parse_timeout(timeout_arg);
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for &k in keys {
        let group = group_of(&args[k]);
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, ks)) => ks.push(k),
            None => groups.push((group, vec![k])),
        }
    }
    if groups.len() <= 1 {
        let group = groups.first().map_or(0, |(g, _)| *g);
        return Ok(Plan {
            kind,
            parts: vec![(group, encode_args(args))],
            lookups: Vec::new(),
            timeout,
            push: None,
        });
    }
    if kind == Kind::Move {
        let (from_left, to_left) = if is(&args[0], "brpoplpush") {
            (false, true)
        } else {
            lmove_ends(args)?
        };
        let (source, destination) = (args[1].clone(), args[2].clone());
        let pop = word(if from_left { "BLPOP" } else { "BRPOP" });
        return Ok(Plan {
            kind: Kind::Pop { left: from_left },
            parts: vec![(
                group_of(&source),
                encode_args(&[pop, source.clone(), timeout_arg.clone()]),
            )],
            lookups: Vec::new(),
            timeout,
            push: Some(Push {
                source,
                destination,
                from_left,
                to_left,
            }),
        });
    }
    // For BLMPOP/BZMPOP: what follows the keys (LEFT|RIGHT|MIN|MAX [COUNT n]).
    let tail = keys.last().map_or(args.len(), |&k| k + 1);
    let parts = groups
        .iter()
        .map(|(group, ks)| {
            let mut request = vec![args[0].clone()];
            if multi {
                request.push(args[1].clone());
                request.push(Bytes::from(ks.len().to_string()));
            }
            request.extend(ks.iter().map(|&k| args[k].clone()));
            if multi {
                request.extend_from_slice(&args[tail..]);
            } else {
                request.push(args[args.len() - 1].clone());
            }
            (*group, encode_args(&request))
        })
        .collect();
    let lookups = keys
        .iter()
        .map(|&k| {
            let key = args[k].clone();
            let request = match kind {
                Kind::Pop { left } => vec![word(if left { "LPOP" } else { "RPOP" }), key.clone()],
                Kind::ZPop { min } => {
                    vec![word(if min { "ZPOPMIN" } else { "ZPOPMAX" }), key.clone()]
                }
                Kind::LMPop { .. } | Kind::ZMPop => {
                    let mut r = vec![
                        word(if kind == Kind::ZMPop {
                            "ZMPOP"
                        } else {
                            "LMPOP"
                        }),
                        word("1"),
                        key.clone(),
                    ];
                    r.extend_from_slice(&args[tail..]);
                    r
                }
                Kind::Move => unreachable!("moves across groups were refused above"),
            };
            (
                group_of(&key),
                Lookup {
                    key,
                    request: encode_args(&request),
                },
            )
        })
        .collect();
    Ok(Plan {
        kind,
        parts,
        lookups,
        timeout,
        push: None,
    })
}

/// Starts serving the blocking request `args` for the client; its reply is the returned
/// [`Pending`], ready when the task ends.
pub(crate) fn send(
    worker: &Arc<Worker>,
    conn: &ClientConn,
    command: &Resolved,
    args: &[Bytes],
) -> Pending {
    let keys = command.spec().key_indexes(args);
    let mut plan = match plan(command.name(), args, &keys, |key| {
        worker.slots.group_of_key(key)
    }) {
        Ok(plan) => plan,
        Err(reply) => return Pending::Ready(encode(&reply, conn.protocol)),
    };
    let push = plan.push.take();
    let group = (plan.parts.len() == 1 && push.is_none()).then(|| plan.parts[0].0);
    let (tx, rx) = oneshot::channel();
    let task = Task {
        handle: conn.handle.clone(),
        worker: worker.clone(),
        protocol: conn.protocol,
        db: conn.db,
        affinity: conn.id,
    };
    let stats = worker.stats.clone();
    stats.blocked_clients.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        let mut tx = tx;
        // Counted as blocked until the task ends, whichever way.
        let _blocked = Counted(stats);
        if let Some(push) = &push {
            if let Err(refused) = task.mover().check_list(&push.destination).await {
                let _ = tx.send(encode(&refused, task.protocol));
                return;
            }
        }
        let reply = task.run(plan, &mut tx).await;
        let reply = match (push, reply) {
            // Pushed even when the client has gone: the element left the source.
            (Some(push), Some(reply)) => Some(task.push(&push, reply).await),
            (_, reply) => reply,
        };
        if let Some(reply) = reply {
            let _ = tx.send(reply);
        }
    });
    Pending::Task {
        rx,
        result: None,
        group,
    }
}

/// One blocked client in the `INFO` count while it lives.
struct Counted(Arc<ProxyStats>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.blocked_clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the task needs of the client.
struct Task {
    /// The client in the registry: marked blocked while it waits, and woken by `CLIENT
    /// UNBLOCK`.
    handle: Option<Arc<ClientHandle>>,
    worker: Arc<Worker>,
    protocol: Protocol,
    db: usize,
    affinity: u64,
}

/// How a wait ended.
enum Outcome {
    /// A reply that carries an element, or an error.
    Won(Bytes),
    /// Every wait timed out (the node's nil reply).
    TimedOut(Bytes),
    /// The client went away, or the proxy's deadline passed.
    Abandoned,
    /// `CLIENT UNBLOCK` from another client.
    Unblocked(Unblock),
}

impl Task {
    /// One request on the group's primary through the shared pool, in the client's database.
    async fn call(&self, group: usize, request: Bytes) -> Result<Bytes, String> {
        let backend = self.worker.groups[group].primary();
        self.call_on(backend, request).await
    }

    async fn call_on(&self, backend: &Backend, request: Bytes) -> Result<Bytes, String> {
        let rx = backend.send(self.protocol, self.db, self.affinity, request, 1);
        match tokio::time::timeout(self.worker.config.request_timeout, rx).await {
            Ok(Ok(Ok(reply))) => Ok(reply),
            Ok(Ok(Err(err))) => Err(err.to_string()),
            Ok(Err(_)) => Err(format!("ERR connection to node {} lost", backend.addr)),
            Err(_) => Err(format!("ERR node {} timed out", backend.addr)),
        }
    }

    fn error(&self, text: String) -> Bytes {
        encode(&Reply::error_owned(text), self.protocol)
    }

    /// The mover that checks a move's destination and pushes its element (the same steps
    /// as `LMOVE` between groups).
    fn mover(&self) -> Mover {
        Mover::new(self.worker.clone(), self.db, self.affinity)
    }

    /// The client's answer to a move across groups, from the wait's `reply` (`[key,
    /// element]`, a null, or an error): the element pushed to the destination, or put back
    /// at the source when that push fails.
    async fn push(&self, push: &Push, reply: Bytes) -> Bytes {
        let element = match decode(&reply) {
            Ok(Reply::Array(mut items)) if items.len() == 2 => match items.pop() {
                Some(Reply::Bulk(element)) => element,
                _ => return reply,
            },
            Ok(Reply::Null | Reply::NullArray) => return encode(&Reply::Null, self.protocol),
            _ => return reply,
        };
        let moved = self
            .mover()
            .push_moved(
                &push.source,
                &push.destination,
                element,
                push.from_left,
                push.to_left,
            )
            .await;
        encode(&moved, self.protocol)
    }

    /// Serves the plan; `None` when the client went away.
    async fn run(&self, plan: Plan, tx: &mut oneshot::Sender<Bytes>) -> Option<Bytes> {
        for (group, lookup) in &plan.lookups {
            let reply = match self.call(*group, lookup.request.clone()).await {
                Ok(reply) => reply,
                Err(text) => return Some(self.error(text)),
            };
            if let Some(answer) = self.found(plan.kind, &lookup.key, &reply) {
                return Some(answer);
            }
        }
        let mut held: Vec<Waiting> = Vec::with_capacity(plan.parts.len());
        // Waits whose reply was read to the end: their connections are clean again.
        let mut ended: Vec<Waiting> = Vec::new();
        for (group, request) in &plan.parts {
            let backend = self.worker.groups[*group].primary().clone();
            let key = IdleKey {
                group: *group,
                addr: backend.addr,
                epoch: self.worker.groups[*group].epoch(),
                db: self.db,
                protocol: self.protocol,
            };
            let pinned = &self.worker.metrics.pinned;
            let opened = match self.worker.idle.take(
                key,
                |g| self.worker.primary_and_epoch(g),
                HoldReason::Blocking,
                pinned,
            ) {
                Some(connection) => Ok(connection),
                None => {
                    HeldConnection::open(
                        &backend,
                        self.protocol,
                        self.db,
                        HoldReason::Blocking,
                        pinned,
                    )
                    .await
                }
            };
            let failed = match opened {
                Ok(mut connection) => match connection.send(request).await {
                    Ok(()) => {
                        held.push(Waiting {
                            group: *group,
                            key,
                            backend,
                            connection,
                        });
                        continue;
                    }
                    Err(err) => err,
                },
                Err(err) => err,
            };
            self.drain(plan.kind, held, &mut ended).await;
            self.park(ended);
            return Some(self.error(format!("ERR node {} unavailable: {failed}", backend.addr)));
        }
        let deadline = plan
            .timeout
            .map(|t| tokio::time::Instant::now() + t + self.worker.config.request_timeout);
        if let Some(handle) = &self.handle {
            handle.blocked.store(true, Ordering::SeqCst);
        }
        let outcome = wait_first(&mut held, &mut ended, deadline, tx, self.handle.as_deref()).await;
        if let Some(handle) = &self.handle {
            handle.blocked.store(false, Ordering::SeqCst);
            let _ = handle.take_unblock();
        }
        self.drain(plan.kind, held, &mut ended).await;
        self.park(ended);
        match outcome {
            Outcome::Won(reply) | Outcome::TimedOut(reply) => Some(reply),
            Outcome::Unblocked(Unblock::Timeout) => Some(encode(&Reply::NullArray, self.protocol)),
            Outcome::Unblocked(Unblock::Error) => Some(encode(
                &Reply::error("UNBLOCKED client unblocked via CLIENT UNBLOCK"),
                self.protocol,
            )),
            Outcome::Abandoned => {
                (!tx.is_closed()).then(|| encode(&Reply::NullArray, self.protocol))
            }
        }
    }

    /// The client's answer when a phase-1 look-up on `key` found data (or failed).
    fn found(&self, kind: Kind, key: &Bytes, reply: &Bytes) -> Option<Bytes> {
        let decoded = decode(reply).ok()?;
        match decoded {
            Reply::Error(_) => Some(reply.clone()),
            Reply::Null | Reply::NullArray => None,
            Reply::Array(items) if items.is_empty() => None,
            Reply::Bulk(element) if matches!(kind, Kind::Pop { .. }) => Some(encode(
                &Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(element)]),
                self.protocol,
            )),
            Reply::Array(mut items) if matches!(kind, Kind::ZPop { .. }) => {
                items.insert(0, Reply::Bulk(key.clone()));
                Some(encode(&Reply::Array(items), self.protocol))
            }
            _ => Some(reply.clone()),
        }
    }

    /// Ends every wait still in `waiting` (unblocking it from another connection, again
    /// every [`UNBLOCK_RETRY`] since the request may not have reached the node yet), reads its
    /// reply, and puts any element it carries back where it was popped from. The held
    /// connections are dropped at the end, released.
    async fn drain(&self, kind: Kind, mut waiting: Vec<Waiting>, ended: &mut Vec<Waiting>) {
        let bound = tokio::time::Instant::now() + self.worker.config.request_timeout * 4;
        while !waiting.is_empty() {
            for wait in &waiting {
                let id = wait.connection.node_client_id.to_string();
                let request = encode_args(&[word("CLIENT"), word("UNBLOCK"), Bytes::from(id)]);
                // Its answer is not needed: the wait's own reply says how it ended.
                drop(
                    wait.backend
                        .send(self.protocol, self.db, self.affinity, request, 1),
                );
            }
            let first = tokio::time::timeout(UNBLOCK_RETRY, first_reply(&mut waiting)).await;
            let Ok((index, reply)) = first else {
                if tokio::time::Instant::now() > bound {
                    tracing::warn!("blocked waits did not end after CLIENT UNBLOCK; closing them");
                    return;
                }
                continue;
            };
            let wait = waiting.swap_remove(index);
            if let Ok(reply) = reply {
                self.put_back(kind, wait.group, &reply).await;
                ended.push(wait);
            }
        }
    }

    /// Parks the connections of `ended` (each wait's reply read to the end, so the node
    /// holds nothing for them) in the worker's idle cache, for the next wait or transaction
    /// of the same group, database and protocol: a blocking pop then costs no connect and
    /// greeting. A connection of a group that failed over meanwhile is closed instead.
    fn park(&self, ended: Vec<Waiting>) {
        for wait in ended {
            self.worker.idle.put(wait.key, wait.connection, |g| {
                self.worker.primary_and_epoch(g)
            });
        }
    }

    /// Pushes the element(s) of `reply` (a wait's reply in group `group`) back where they were
    /// popped from.
    async fn put_back(&self, kind: Kind, group: usize, reply: &Bytes) {
        let Some(request) = put_back_request(kind, reply) else {
            return;
        };
        if let Err(err) = self.call(group, encode_args(&request)).await {
            tracing::error!(%err, "an element popped by a cancelled wait could not be put back");
        }
    }
}

/// One wait under way on a held connection.
struct Waiting {
    group: usize,
    /// What its connection was opened for, to park it once clean.
    key: IdleKey,
    /// The node, for its shared connections (`CLIENT UNBLOCK`).
    backend: Arc<Backend>,
    connection: HeldConnection,
}

/// Waits for the first wait in `waiting` to end with an element or an error (removing it), for
/// every one to time out (removing them all), for the client to go away, or for `deadline`.
/// A wait whose reply was read is moved to `clean`.
async fn wait_first(
    waiting: &mut Vec<Waiting>,
    clean: &mut Vec<Waiting>,
    deadline: Option<tokio::time::Instant>,
    tx: &mut oneshot::Sender<Bytes>,
    handle: Option<&ClientHandle>,
) -> Outcome {
    let mut nil = None;
    loop {
        if waiting.is_empty() {
            return nil.map_or(Outcome::Abandoned, Outcome::TimedOut);
        }
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let unblocked = async {
            match handle {
                Some(handle) => handle.unblocked.notified().await,
                None => std::future::pending().await,
            }
        };
        let ended = tokio::select! {
            (index, reply) = first_reply(waiting) => Some((index, reply)),
            () = tx.closed() => None,
            () = sleep => None,
            () = unblocked => {
                if let Some(how) = handle.and_then(ClientHandle::take_unblock) {
                    return Outcome::Unblocked(how);
                }
                continue;
            }
        };
        let Some((index, reply)) = ended else {
            return Outcome::Abandoned;
        };
        let wait = waiting.swap_remove(index);
        match reply {
            Ok(reply) if is_nil(&reply) => {
                clean.push(wait);
                nil = Some(reply);
            }
            Ok(reply) => {
                clean.push(wait);
                return Outcome::Won(reply);
            }
            Err(err) => {
                let text = format!("ERR connection to node {} lost: {err}", wait.backend.addr);
                return Outcome::Won(encode(&Reply::error_owned(text), Protocol::Resp2));
            }
        }
    }
}

/// The first reply any of `waiting` gets, with its index (cancel-safe, as each read is).
async fn first_reply(waiting: &mut [Waiting]) -> (usize, Result<Bytes, NodeError>) {
    type Read<'a> = Pin<Box<dyn Future<Output = Result<Bytes, NodeError>> + Send + 'a>>;
    let mut reads: Vec<Read<'_>> = waiting
        .iter_mut()
        .map(|w| Box::pin(w.connection.reply()) as Read<'_>)
        .collect();
    std::future::poll_fn(|cx| {
        for (index, read) in reads.iter_mut().enumerate() {
            if let Poll::Ready(reply) = read.as_mut().poll(cx) {
                return Poll::Ready((index, reply));
            }
        }
        Poll::Pending
    })
    .await
}

/// True for a nil reply (`*-1`, `$-1`, RESP3 `_`): the wait timed out or was unblocked.
fn is_nil(reply: &[u8]) -> bool {
    matches!(reply, b"*-1\r\n" | b"$-1\r\n" | b"_\r\n")
}

/// The request that puts the element(s) of the wait reply `reply` back: `None` for a nil, an
/// error or a move.
fn put_back_request(kind: Kind, reply: &[u8]) -> Option<Vec<Bytes>> {
    let Ok(Reply::Array(items)) = decode(reply) else {
        return None;
    };
    let bulk = |reply: &Reply| -> Option<Bytes> {
        match reply {
            Reply::Bulk(b) => Some(b.clone()),
            Reply::Double(d) => Some(Bytes::from(format_double(*d))),
            Reply::Int(i) => Some(Bytes::from(i.to_string())),
            _ => None,
        }
    };
    let key = bulk(items.first()?)?;
    match kind {
        Kind::Pop { left } => Some(vec![
            word(if left { "LPUSH" } else { "RPUSH" }),
            key,
            bulk(items.get(1)?)?,
        ]),
        Kind::ZPop { .. } => Some(vec![
            word("ZADD"),
            key,
            bulk(items.get(2)?)?,
            bulk(items.get(1)?)?,
        ]),
        Kind::LMPop { left } => {
            let Reply::Array(elements) = items.get(1)? else {
                return None;
            };
            // Popped in order from one end: pushing them back in reverse restores the list.
            let mut request = vec![word(if left { "LPUSH" } else { "RPUSH" }), key];
            for element in elements.iter().rev() {
                request.push(bulk(element)?);
            }
            Some(request)
        }
        Kind::ZMPop => {
            let Reply::Array(pairs) = items.get(1)? else {
                return None;
            };
            let mut request = vec![word("ZADD"), key];
            for pair in pairs {
                let Reply::Array(pair) = pair else {
                    return None;
                };
                request.push(bulk(pair.get(1)?)?);
                request.push(bulk(pair.first()?)?);
            }
            Some(request)
        }
        Kind::Move => None,
    }
}
