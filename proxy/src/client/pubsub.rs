//! One client's pub/sub: its channels, patterns and shard channels, the commands that change
//! or query them, and the messages waiting for it in its mailbox.
//!
//! `(P|S)SUBSCRIBE` registers the client in the proxy's [`Hub`] at once and answers Redis's
//! confirmations (`subscribe channel count`, an array in RESP2, a push in RESP3) once the
//! groups' shared subscriber connections have subscribed, so a message published after the
//! confirmation reaches the client. Messages go to the client between replies, never before
//! a confirmation still queued; one for a subscription the client has since left is dropped.
//! In RESP2 a subscribed client may only send what Redis allows (the same error as Redis);
//! in RESP3 it keeps issuing commands and gets its messages as pushes.
//!
//! `PUBLISH` and `SPUBLISH` go to the primary of the group owning the channel's slot; their
//! reply is that node's count of receivers, where each proxy with subscribers counts once per
//! subscription (so 0 means nobody listens anywhere). `PUBSUB` asks every group: `CHANNELS`
//! and `SHARDCHANNELS` are the union, `NUMPAT` the largest count, `NUMSUB` and `SHARDNUMSUB`
//! count this proxy's clients plus every other subscriber connection at the nodes (another
//! proxy counts once).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use redoubt_protocol::command_table::Resolved;
use redoubt_protocol::reply_decoder::decode;
use redoubt_protocol::{Protocol, Reply};
use tokio::sync::oneshot;

use super::conn::ClientConn;
use super::pending::{encode, encode_args, NodeCall, Pending};
use crate::pubsub::{Hub, Kind, Mailbox, Run};
use crate::state::Worker;

/// Messages go to the output while it holds less than this (bytes); beyond, they wait in
/// the mailbox, where they count against the output limit.
pub(crate) const PUSH_AT: usize = 64 * 1024;

/// What a RESP2 client in subscribed mode may send (Redis's `processCommand`).
const ALLOWED_SUBSCRIBED: &[&str] = &[
    "subscribe",
    "ssubscribe",
    "psubscribe",
    "unsubscribe",
    "sunsubscribe",
    "punsubscribe",
    "ping",
    "quit",
    "reset",
];

/// Channel or pattern names, hashed with foldhash (each run of messages delivered looks its
/// name up).
type NameSet = HashSet<Bytes, foldhash::fast::RandomState>;

/// One client's subscriptions and mailbox.
#[derive(Debug)]
pub(crate) struct Subscriber {
    hub: Arc<Hub>,
    id: u64,
    /// Per [`Kind`]: what the client listens on (looked up for every run it is sent).
    names: [NameSet; 3],
    /// Opened with the first subscription.
    /// And the messages taken from it, not yet written.
    mailbox: Option<(Arc<Mailbox>, Taken)>,
    /// Confirmations queued and not yet written: messages wait behind them.
    confirming: usize,
    /// Set when the request just dispatched queued a confirmation.
    queued_confirmation: bool,
}

impl Subscriber {
    /// Client `id`'s pub/sub, in `hub`.
    pub(crate) fn new(hub: Arc<Hub>, id: u64) -> Subscriber {
        Subscriber {
            hub,
            id,
            names: Default::default(),
            mailbox: None,
            confirming: 0,
            queued_confirmation: false,
        }
    }

    /// Channels plus patterns: the count `(P)SUBSCRIBE` confirmations carry; shard channels
    /// for `SSUBSCRIBE`'s.
    fn count(&self, kind: Kind) -> i64 {
        match kind {
            Kind::Shard => self.names[Kind::Shard.index()].len() as i64,
            _ => (self.names[0].len() + self.names[1].len()) as i64,
        }
    }

    /// How many channels, patterns and shard channels the client listens on.
    pub(crate) fn counts(&self) -> [usize; 3] {
        [
            self.names[0].len(),
            self.names[1].len(),
            self.names[2].len(),
        ]
    }

    /// True while the client listens on anything (Redis's subscribed mode).
    pub(crate) fn is_subscribed(&self) -> bool {
        self.names.iter().any(|set| !set.is_empty())
    }

    /// Answers a pub/sub request, or the refusal of a RESP2 client in subscribed mode;
    /// `None` for a request that goes on as usual. `RESET` leaves every subscription first
    /// and goes on (the proxy answers it).
    pub(crate) fn handle(
        &mut self,
        conn: &ClientConn,
        state: &Worker,
        command: &Resolved,
        args: &[Bytes],
    ) -> Option<Pending> {
        let name = command.name();
        let protocol = conn.protocol;
        if protocol == Protocol::Resp2
            && self.is_subscribed()
            && !ALLOWED_SUBSCRIBED.contains(&name)
        {
            return Some(ready(
                &Reply::error_owned(format!(
                    "ERR Can't execute '{command}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
                )),
                protocol,
            ));
        }
        Some(match name {
            "subscribe" => self.subscribe(Kind::Channel, &args[1..], protocol),
            "psubscribe" => self.subscribe(Kind::Pattern, &args[1..], protocol),
            "ssubscribe" => self.subscribe(Kind::Shard, &args[1..], protocol),
            "unsubscribe" => self.unsubscribe(Kind::Channel, &args[1..], protocol),
            "punsubscribe" => self.unsubscribe(Kind::Pattern, &args[1..], protocol),
            "sunsubscribe" => self.unsubscribe(Kind::Shard, &args[1..], protocol),
            "publish" | "spublish" => publish(state, conn, args),
            "pubsub" => query(state, conn, command, args),
            // Redis answers a RESP2 subscriber's PING with an array: `pong` and the argument.
            "ping" if protocol == Protocol::Resp2 && self.is_subscribed() && args.len() <= 2 => {
                ready(
                    &Reply::Array(vec![
                        Reply::bulk_static("pong"),
                        Reply::Bulk(args.get(1).cloned().unwrap_or_default()),
                    ]),
                    protocol,
                )
            }
            "reset" => {
                self.leave_all();
                return None;
            }
            _ => return None,
        })
    }

    /// `(P|S)SUBSCRIBE name [name ...]`: one confirmation per name, `[verb, name, count]`,
    /// sent once the groups concerned subscribed.
    fn subscribe(&mut self, kind: Kind, names: &[Bytes], protocol: Protocol) -> Pending {
        let was_subscribed = self.is_subscribed();
        let mailbox = self
            .mailbox
            .get_or_insert_with(|| (Mailbox::new(), Taken::default()))
            .0
            .clone();
        let mut out = BytesMut::new();
        for name in names {
            self.names[kind.index()].insert(name.clone());
            confirmation(
                kind.subscribe(),
                Reply::Bulk(name.clone()),
                self.count(kind),
            )
            .encode(protocol, &mut out);
        }
        if !was_subscribed {
            self.hub.count_client(1);
        }
        let barrier = self.hub.subscribe(kind, names, self.id, &mailbox);
        self.confirming += 1;
        self.queued_confirmation = true;
        let out = out.freeze();
        if barrier.is_passed() {
            return Pending::Ready(out);
        }
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            barrier.wait().await;
            let _ = tx.send(out);
        });
        Pending::Task {
            rx,
            result: None,
            group: None,
        }
    }

    /// `(P|S)UNSUBSCRIBE [name ...]`: one confirmation per name (every subscription of the
    /// kind when none is named, `[verb, nil, count]` when there is none).
    fn unsubscribe(&mut self, kind: Kind, names: &[Bytes], protocol: Protocol) -> Pending {
        let was_subscribed = self.is_subscribed();
        let names: Vec<Bytes> = if names.is_empty() {
            self.names[kind.index()].iter().cloned().collect()
        } else {
            names.to_vec()
        };
        let mut out = BytesMut::new();
        if names.is_empty() {
            confirmation(kind.unsubscribe(), Reply::Null, self.count(kind))
                .encode(protocol, &mut out);
        }
        let mut left = Vec::with_capacity(names.len());
        for name in names {
            if self.names[kind.index()].remove(&name) {
                left.push(name.clone());
            }
            confirmation(kind.unsubscribe(), Reply::Bulk(name), self.count(kind))
                .encode(protocol, &mut out);
        }
        self.hub.unsubscribe(kind, &left, self.id);
        if was_subscribed && !self.is_subscribed() {
            self.hub.count_client(-1);
        }
        Pending::Ready(out.freeze())
    }

    /// Leaves every subscription without replies (`RESET`, disconnect).
    fn leave_all(&mut self) {
        let was_subscribed = self.is_subscribed();
        for kind in Kind::ALL {
            let names: Vec<Bytes> = self.names[kind.index()].drain().collect();
            self.hub.unsubscribe(kind, &names, self.id);
        }
        if was_subscribed {
            self.hub.count_client(-1);
        }
    }

    /// Whether the request just dispatched queued a confirmation (asked once per request).
    pub(crate) fn take_queued_confirmation(&mut self) -> bool {
        std::mem::take(&mut self.queued_confirmation)
    }

    /// A queued confirmation was written: messages may follow.
    pub(crate) fn confirmation_written(&mut self) {
        self.confirming = self.confirming.saturating_sub(1);
    }

    /// True once the client was cut off for exceeding its output limit.
    pub(crate) fn is_cut_off(&self) -> bool {
        self.mailbox.as_ref().is_some_and(|(m, _)| m.is_cut())
    }

    /// Moves waiting messages to `output` (in `protocol`) while it holds less than
    /// [`PUSH_AT`] and no confirmation is queued.
    pub(crate) fn deliver(&mut self, output: &mut BytesMut, protocol: Protocol) {
        if self.confirming > 0 {
            return;
        }
        let Some((mailbox, taken)) = &mut self.mailbox else {
            return;
        };
        let mut cost = 0;
        // Whether the client still listens on the front run's name (it may have unsubscribed
        // since the run was queued): looked up once per run in a call.
        let mut listening = None;
        while output.len() < PUSH_AT {
            if taken.runs.is_empty() {
                mailbox.take_all(&mut taken.runs);
            }
            let Some(run) = taken.runs.front() else {
                break;
            };
            if let Some(message) = run.messages().get(taken.next) {
                cost += message.cost();
                let listens = *listening
                    .get_or_insert_with(|| self.names[run.kind.index()].contains(&run.name));
                if listens {
                    output.extend_from_slice(message.encoded(protocol));
                }
                taken.next += 1;
            }
            if taken.next >= run.messages().len() {
                taken.runs.pop_front();
                taken.next = 0;
                listening = None;
            }
        }
        mailbox.taken(cost);
    }

    /// True when [`Subscriber::wait`] has something to wait for.
    pub(crate) fn has_mailbox(&self) -> bool {
        self.mailbox.is_some()
    }

    /// Waits for a message (when `take`, and none is held already) or for the mailbox to be
    /// cut off. Cancel-safe.
    pub(crate) async fn wait(&mut self, take: bool) {
        let Some((mailbox, taken)) = &mut self.mailbox else {
            return std::future::pending().await;
        };
        if take && taken.runs.is_empty() && self.confirming == 0 {
            tokio::select! {
                () = mailbox.ready() => mailbox.take_all(&mut taken.runs),
                () = mailbox.cut_off() => {}
            }
        } else {
            mailbox.cut_off().await;
        }
    }
}

/// The runs a subscriber took from its mailbox and has not written all of yet.
#[derive(Debug, Default)]
struct Taken {
    runs: VecDeque<Arc<Run>>,
    /// The first unwritten message of the front run.
    next: usize,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.leave_all();
    }
}

/// `[verb, name, count]`: a push (an array in RESP2).
fn confirmation(verb: &'static str, name: Reply, count: i64) -> Reply {
    Reply::Push(vec![Reply::bulk_static(verb), name, Reply::Int(count)])
}

fn ready(reply: &Reply, protocol: Protocol) -> Pending {
    Pending::Ready(encode(reply, protocol))
}

/// `PUBLISH channel message` / `SPUBLISH shardchannel message`: to the primary of the group
/// owning the channel's slot (where shard channels are subscribed; any group would do for
/// channels, which every group carries).
fn publish(state: &Worker, conn: &ClientConn, args: &[Bytes]) -> Pending {
    let group = state.slots.group_of_key(&args[1]);
    Pending::Node(NodeCall::send(
        state.groups[group].primary(),
        conn.protocol,
        conn.db,
        conn.id,
        encode_args(args),
        state.config.request_timeout,
    ))
}

/// `PUBSUB CHANNELS|SHARDCHANNELS|NUMPAT|NUMSUB|SHARDNUMSUB ...` over every group; `HELP`
/// from the first group's primary.
fn query(state: &Worker, conn: &ClientConn, command: &Resolved, args: &[Bytes]) -> Pending {
    let hub = state.pubsub.clone();
    let names: Vec<Bytes> = args.get(2..).unwrap_or_default().to_vec();
    let merge: Box<dyn FnOnce(Vec<Reply>) -> Reply + Send> = match command.sub.map(|s| s.name) {
        Some("channels" | "shardchannels") => Box::new(union),
        Some("numpat") => {
            Box::new(|replies| Reply::Int(replies.iter().map(int).max().unwrap_or(0)))
        }
        Some("numsub") => Box::new(move |replies| counts(&hub, Kind::Channel, &names, &replies)),
        Some("shardnumsub") => Box::new(move |replies| counts(&hub, Kind::Shard, &names, &replies)),
        _ => {
            return Pending::Node(NodeCall::send(
                state.groups[0].primary(),
                conn.protocol,
                conn.db,
                conn.id,
                encode_args(args),
                state.config.request_timeout,
            ))
        }
    };
    let request = encode_args(args);
    let calls: Vec<_> = state
        .groups
        .iter()
        .map(|group| {
            group
                .primary()
                .send(Protocol::Resp2, 0, conn.id, request.clone(), 1)
        })
        .collect();
    let timeout = state.config.request_timeout;
    let protocol = conn.protocol;
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let mut replies = Vec::with_capacity(calls.len());
        for call in calls {
            let reply = match tokio::time::timeout(timeout, call).await {
                Ok(Ok(Ok(raw))) => {
                    decode(&raw).unwrap_or(Reply::error("ERR malformed reply from node"))
                }
                Ok(Ok(Err(err))) => Reply::error_owned(err.to_string()),
                Ok(Err(_)) => Reply::error("ERR connection to node lost"),
                Err(_) => Reply::error("ERR node timed out"),
            };
            if reply.is_error() {
                let _ = tx.send(encode(&reply, protocol));
                return;
            }
            replies.push(reply);
        }
        let _ = tx.send(encode(&merge(replies), protocol));
    });
    Pending::Task {
        rx,
        result: None,
        group: None,
    }
}

fn int(reply: &Reply) -> i64 {
    match reply {
        Reply::Int(n) => *n,
        _ => 0,
    }
}

fn items(reply: Reply) -> Vec<Reply> {
    match reply {
        Reply::Array(items) | Reply::Set(items) => items,
        _ => Vec::new(),
    }
}

/// The groups' arrays of names, each name once, in the order first seen.
fn union(replies: Vec<Reply>) -> Reply {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for reply in replies {
        for item in items(reply) {
            if let Reply::Bulk(name) = &item {
                if seen.insert(name.clone()) {
                    out.push(item);
                }
            }
        }
    }
    Reply::Array(out)
}

/// `name count` pairs: this proxy's clients on each name, plus the largest count of other
/// subscriber connections any group reports (every group counts this proxy's shared
/// connection once while it has clients on the name).
fn counts(hub: &Hub, kind: Kind, names: &[Bytes], replies: &[Reply]) -> Reply {
    let mut out = Vec::with_capacity(names.len() * 2);
    for (i, name) in names.iter().enumerate() {
        let at_groups: Vec<i64> = replies
            .iter()
            .map(|reply| match reply {
                Reply::Array(items) => items.get(i * 2 + 1).map_or(0, int),
                _ => 0,
            })
            .collect();
        // A channel is subscribed on every group: until every group reports a subscriber,
        // this proxy's own subscription is not in effect there yet, and its clients are not
        // counted (a client that sees them counted can publish and be heard).
        let settled = kind != Kind::Channel || at_groups.iter().all(|&n| n >= 1);
        let local = if settled {
            hub.listeners(kind, name) as i64
        } else {
            0
        };
        let own = i64::from(local > 0);
        let others = at_groups
            .iter()
            .map(|n| (n - own).max(0))
            .max()
            .unwrap_or(0);
        out.push(Reply::Bulk(name.clone()));
        out.push(Reply::Int(local + others));
    }
    Reply::Array(out)
}
