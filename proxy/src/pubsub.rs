//! Pub/sub across groups: one [`Hub`] per proxy holds every client's channels, patterns and
//! shard channels, keeps each group's shared subscriber connection ([`link`]) subscribed to
//! their union, and fans each message the links receive out to the clients' [`Mailbox`]es.
//!
//! Why one shared subscription per group: `PUBLISH` is keyless and runs on exactly one group
//! (the proxy routes it by the channel's slot; a transaction or script publishes on its own
//! group), so subscribing every channel and pattern on every group's primary delivers each
//! message to the proxy exactly once, whichever group it was published on; keyspace
//! notifications (`__keyspace@N__:*`) come from every group the same way. Shard channels are
//! subscribed on the group owning their slot only, where `SPUBLISH` goes. Ten thousand
//! clients on one channel cost one subscription per group, not ten thousand connections.
//!
//! A subscription takes effect at the nodes before the client's confirmation leaves (a
//! [`Barrier`]): changes are numbered per group when queued, each link publishes the number
//! it has applied, and a confirmation waits until every group concerned has applied it (or
//! for the request timeout, when a group is unreachable: its link subscribes again on
//! reconnecting). A mailbox holding more than the `client-output-buffer-limit-pubsub` hard
//! limit, or more than the soft limit for longer than its seconds, is cut off and its client
//! disconnected, as Redis disconnects a slow subscriber.

pub(crate) mod link;

use std::cell::OnceCell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use redoubt_protocol::Protocol;
use tokio::sync::{mpsc, watch, Notify};

use crate::config::OutputLimit;
use crate::routing::slot_table::SlotTable;

/// What a subscription names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// A channel (`SUBSCRIBE`, `PUBLISH`).
    Channel,
    /// A glob pattern of channels (`PSUBSCRIBE`).
    Pattern,
    /// A shard channel (`SSUBSCRIBE`, `SPUBLISH`).
    Shard,
}

impl Kind {
    /// Every kind, in index order.
    pub(crate) const ALL: [Kind; 3] = [Kind::Channel, Kind::Pattern, Kind::Shard];

    /// Its index in per-kind arrays.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The command that subscribes (`subscribe`, `psubscribe`, `ssubscribe`), also the verb
    /// of its confirmations.
    pub(crate) fn subscribe(self) -> &'static str {
        ["subscribe", "psubscribe", "ssubscribe"][self.index()]
    }

    /// The command that unsubscribes, also the verb of its confirmations.
    pub(crate) fn unsubscribe(self) -> &'static str {
        ["unsubscribe", "punsubscribe", "sunsubscribe"][self.index()]
    }

    fn label(self) -> &'static str {
        ["channel", "pattern", "shard"][self.index()]
    }
}

/// One message on its way to subscribers, encoded once for both protocols.
#[derive(Debug)]
pub(crate) struct Message {
    /// `*3 message channel payload` (or `pmessage`, `smessage`), as the node sent it.
    resp2: Bytes,
    /// The same as a RESP3 push (`>`).
    resp3: Bytes,
}

impl Message {
    /// A message from its RESP2 frame as a node sends it (an array): the RESP3 push differs
    /// only in its first byte.
    pub(crate) fn from_frame(frame: Bytes) -> Message {
        let mut push = BytesMut::with_capacity(frame.len());
        push.extend_from_slice(b">");
        push.extend_from_slice(&frame[1..]);
        Message {
            resp2: frame,
            resp3: push.freeze(),
        }
    }

    /// The frame for a client speaking `protocol`.
    pub(crate) fn encoded(&self, protocol: Protocol) -> &Bytes {
        match protocol {
            Protocol::Resp2 => &self.resp2,
            Protocol::Resp3 => &self.resp3,
        }
    }

    /// What it counts against its subscriber's output limit (bytes).
    pub(crate) fn cost(&self) -> usize {
        self.resp2.len()
    }
}

/// Messages that arrived in a row for one name (a burst of `PUBLISH`es to one channel read
/// from the node at once), queued to each listener as one entry: a mailbox takes one lock and
/// one reference per run, not per message.
#[derive(Debug)]
pub(crate) struct Run {
    /// How the subscribers matched them.
    pub(crate) kind: Kind,
    /// The channel, pattern or shard channel they subscribed to.
    pub(crate) name: Bytes,
    messages: Box<[Message]>,
    /// The messages' cost together (bytes).
    cost: usize,
}

impl Run {
    /// A run of `messages` for `name` (of `kind`).
    pub(crate) fn new(kind: Kind, name: Bytes, messages: Box<[Message]>) -> Arc<Run> {
        let cost = messages.iter().map(Message::cost).sum();
        Arc::new(Run {
            kind,
            name,
            messages,
            cost,
        })
    }

    /// Its messages, in the order they were published.
    pub(crate) fn messages(&self) -> &[Message] {
        &self.messages
    }
}

/// Messages waiting for one client's connection, shared by the [`Hub`] (which pushes runs of
/// them) and the connection (which takes them all at once, [`Mailbox::take_all`]). The
/// connection is woken only when the queue turns non-empty, so one wake-up serves many.
#[derive(Debug)]
pub(crate) struct Mailbox {
    queue: Mutex<VecDeque<Arc<Run>>>,
    /// Woken when the queue turns non-empty.
    ready: Notify,
    /// Bytes sent and not yet taken by the connection.
    queued: AtomicUsize,
    over_soft_since: Mutex<Option<Instant>>,
    /// `over_soft_since` may be set: below the soft limit with this clear, a push takes no lock.
    over_soft: AtomicBool,
    cut: AtomicBool,
    /// Woken when the mailbox is cut off.
    cut_off: Notify,
}

impl Mailbox {
    /// An empty mailbox.
    pub(crate) fn new() -> Arc<Mailbox> {
        let mailbox = Mailbox {
            queue: Mutex::new(VecDeque::new()),
            ready: Notify::new(),
            queued: AtomicUsize::new(0),
            over_soft_since: Mutex::new(None),
            over_soft: AtomicBool::new(false),
            cut: AtomicBool::new(false),
            cut_off: Notify::new(),
        };
        Arc::new(mailbox)
    }

    /// Sends `run` unless that takes the mailbox past `limit`: it is then cut off and false
    /// returned.
    /// `now` is read (once for a run of pushes) only past the soft limit.
    fn push(&self, run: &Arc<Run>, limit: &OutputLimit, now: &OnceCell<Instant>) -> bool {
        if self.is_cut() {
            return false;
        }
        let bytes = (self.queued.fetch_add(run.cost, Ordering::Relaxed) + run.cost) as u64;
        let over_hard = limit.hard > 0 && bytes > limit.hard;
        let over_soft = limit.soft > 0 && bytes > limit.soft;
        let soft_expired = if over_soft || self.over_soft.load(Ordering::Relaxed) {
            let mut since = self.over_soft_since.lock();
            if over_soft {
                self.over_soft.store(true, Ordering::Relaxed);
                let now = *now.get_or_init(Instant::now);
                let start = *since.get_or_insert(now);
                now.duration_since(start) >= limit.soft_for
            } else {
                *since = None;
                self.over_soft.store(false, Ordering::Relaxed);
                false
            }
        } else {
            false
        };
        if over_hard || soft_expired {
            self.cut.store(true, Ordering::Relaxed);
            self.cut_off.notify_one();
            return false;
        }
        let was_empty = {
            let mut queue = self.queue.lock();
            let was_empty = queue.is_empty();
            queue.push_back(run.clone());
            was_empty
        };
        if was_empty {
            self.ready.notify_one();
        }
        true
    }

    /// Moves every queued run to the end of `into`, in order.
    pub(crate) fn take_all(&self, into: &mut VecDeque<Arc<Run>>) {
        into.append(&mut self.queue.lock());
    }

    /// Waits until a message may have been queued since the last [`Mailbox::take_all`] (a
    /// wake-up can find the queue already emptied). Cancel-safe.
    pub(crate) async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Records that the connection took messages of `cost` bytes.
    pub(crate) fn taken(&self, cost: usize) {
        self.queued.fetch_sub(cost, Ordering::Relaxed);
    }

    /// True once cut off for exceeding the output limit.
    pub(crate) fn is_cut(&self) -> bool {
        self.cut.load(Ordering::Relaxed)
    }

    /// Waits until the mailbox is cut off.
    pub(crate) async fn cut_off(&self) {
        self.cut_off.notified().await;
    }
}

/// One change of a group's subscriptions, numbered in the order it was queued.
#[derive(Debug)]
pub(crate) struct Change {
    /// Its number on its group's link.
    pub(crate) seq: u64,
    /// Subscribe (true) or unsubscribe.
    pub(crate) subscribe: bool,
    pub(crate) kind: Kind,
    pub(crate) names: Vec<Bytes>,
}

/// The proxy's side of one group's link: where changes go and what it has applied.
#[derive(Debug)]
struct LinkHandle {
    changes: mpsc::UnboundedSender<Change>,
    applied: watch::Receiver<u64>,
}

/// The link task's ends, until [`Hub::start`] spawns it.
#[derive(Debug)]
struct LinkEnds {
    changes: mpsc::UnboundedReceiver<Change>,
    applied: watch::Sender<u64>,
}

type Listeners = HashMap<u64, Arc<Mailbox>>;

#[derive(Debug)]
struct Subscriptions {
    /// Per kind: name → listening clients (by id).
    maps: [HashMap<Bytes, Listeners>; 3],
    /// Per group: the number of the last change queued to its link.
    queued: Vec<u64>,
}

/// What a subscription's confirmation waits for: every group concerned applied the changes
/// queued up to it.
#[derive(Debug)]
pub(crate) struct Barrier {
    waits: Vec<(watch::Receiver<u64>, u64)>,
    limit: Duration,
}

impl Barrier {
    /// True when nothing is left to wait for.
    pub(crate) fn is_passed(&self) -> bool {
        self.waits.iter().all(|(rx, seq)| *rx.borrow() >= *seq)
    }

    /// Waits until every group applied its changes, or for the request timeout at most (a
    /// group that cannot be reached then gets the subscription when its link reconnects).
    pub(crate) async fn wait(mut self) {
        let deadline = tokio::time::Instant::now() + self.limit;
        for (rx, seq) in &mut self.waits {
            let seq = *seq;
            let _ = tokio::time::timeout_at(deadline, rx.wait_for(|applied| *applied >= seq)).await;
        }
    }
}

/// Labels of `redoubt_proxy_pubsub_subscriptions`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// The hub's figures in `/metrics`.
#[derive(Debug, Default)]
struct Figures {
    clients: Gauge,
    names: Family<KindLabels, Gauge>,
    disconnections: Counter,
    links_up: Gauge,
}

/// Every subscription of this proxy's clients and the links that carry them.
#[derive(Debug)]
pub(crate) struct Hub {
    registry: Mutex<Subscriptions>,
    links: Vec<LinkHandle>,
    ends: Mutex<Vec<LinkEnds>>,
    slots: Arc<SlotTable>,
    limit: OutputLimit,
    /// How long a confirmation waits for the links.
    wait: Duration,
    figures: Figures,
}

impl Hub {
    /// A hub for `groups` groups whose shard channels go by `slots`; its links start with
    /// [`Hub::start`].
    pub(crate) fn new(
        groups: usize,
        slots: Arc<SlotTable>,
        limit: OutputLimit,
        wait: Duration,
    ) -> Hub {
        let mut links = Vec::with_capacity(groups);
        let mut ends = Vec::with_capacity(groups);
        for _ in 0..groups {
            let (changes_tx, changes) = mpsc::unbounded_channel();
            let (applied, applied_rx) = watch::channel(0);
            links.push(LinkHandle {
                changes: changes_tx,
                applied: applied_rx,
            });
            ends.push(LinkEnds { changes, applied });
        }
        let figures = Figures::default();
        for kind in Kind::ALL {
            let _ = figures
                .names
                .get_or_create(&KindLabels { kind: kind.label() });
        }
        Hub {
            registry: Mutex::new(Subscriptions {
                maps: Default::default(),
                queued: vec![0; groups],
            }),
            links,
            ends: Mutex::new(ends),
            slots,
            limit,
            wait,
            figures,
        }
    }

    /// Registers the hub's figures: subscribed clients, channels/patterns/shard channels
    /// with subscribers, slow subscribers disconnected, links up.
    pub(crate) fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        registry.register(
            "redoubt_proxy_pubsub_clients",
            "Clients of this proxy subscribed to at least one channel, pattern or shard channel.",
            self.figures.clients.clone(),
        );
        registry.register(
            "redoubt_proxy_pubsub_subscriptions",
            "Channels, patterns and shard channels (kind) this proxy's clients subscribe to; each is one subscription per group at the nodes, whatever the number of clients.",
            self.figures.names.clone(),
        );
        registry.register(
            "redoubt_proxy_pubsub_disconnections",
            "Subscribers disconnected for exceeding client-output-buffer-limit-pubsub.",
            self.figures.disconnections.clone(),
        );
        registry.register(
            "redoubt_proxy_pubsub_links_up",
            "Groups whose shared subscriber connection is up.",
            self.figures.links_up.clone(),
        );
    }

    /// Starts one link task per group on the current runtime (once).
    pub(crate) fn start(self: &Arc<Hub>, setup: link::LinkSetup) {
        let ends = std::mem::take(&mut *self.ends.lock());
        for (group, ends) in ends.into_iter().enumerate() {
            tokio::spawn(link::run(
                self.clone(),
                setup.clone(),
                group,
                ends.changes,
                ends.applied,
            ));
        }
    }

    /// The groups where `name` is subscribed: every group, or for a shard channel the one
    /// owning its slot.
    fn groups_of(&self, kind: Kind, name: &[u8]) -> std::ops::Range<usize> {
        match kind {
            Kind::Shard => {
                let group = self.slots.group_of_key(name);
                group..group + 1
            }
            _ => 0..self.links.len(),
        }
    }

    /// Adds client `id` (its `mailbox`) to the listeners of `names`; the links of the groups
    /// concerned subscribe to the names that had none. The barrier tells when the names are
    /// subscribed at the nodes.
    pub(crate) fn subscribe(
        &self,
        kind: Kind,
        names: &[Bytes],
        id: u64,
        mailbox: &Arc<Mailbox>,
    ) -> Barrier {
        let mut registry = self.registry.lock();
        let mut new: Vec<Vec<Bytes>> = vec![Vec::new(); self.links.len()];
        let mut concerned = vec![false; self.links.len()];
        for name in names {
            let listeners = registry.maps[kind.index()].entry(name.clone()).or_default();
            let first = listeners.is_empty();
            listeners.insert(id, mailbox.clone());
            for group in self.groups_of(kind, name) {
                concerned[group] = true;
                if first {
                    new[group].push(name.clone());
                }
            }
        }
        self.queue(&mut registry, true, kind, new);
        self.figures
            .names
            .get_or_create(&KindLabels { kind: kind.label() })
            .set(registry.maps[kind.index()].len() as i64);
        let waits = concerned
            .iter()
            .enumerate()
            .filter(|(_, &c)| c)
            .map(|(group, _)| (self.links[group].applied.clone(), registry.queued[group]))
            .collect();
        Barrier {
            waits,
            limit: self.wait,
        }
    }

    /// Removes client `id` from the listeners of `names`; the links unsubscribe the names
    /// left without listeners.
    pub(crate) fn unsubscribe(&self, kind: Kind, names: &[Bytes], id: u64) {
        let mut registry = self.registry.lock();
        let mut gone: Vec<Vec<Bytes>> = vec![Vec::new(); self.links.len()];
        for name in names {
            let map = &mut registry.maps[kind.index()];
            let Some(listeners) = map.get_mut(name) else {
                continue;
            };
            listeners.remove(&id);
            if listeners.is_empty() {
                map.remove(name);
                for group in self.groups_of(kind, name) {
                    gone[group].push(name.clone());
                }
            }
        }
        self.queue(&mut registry, false, kind, gone);
        self.figures
            .names
            .get_or_create(&KindLabels { kind: kind.label() })
            .set(registry.maps[kind.index()].len() as i64);
    }

    /// Queues each group's names to its link, numbered (under the registry lock, so the
    /// numbers follow the registry's changes).
    fn queue(
        &self,
        registry: &mut Subscriptions,
        subscribe: bool,
        kind: Kind,
        names: Vec<Vec<Bytes>>,
    ) {
        for (group, names) in names.into_iter().enumerate() {
            if names.is_empty() {
                continue;
            }
            registry.queued[group] += 1;
            let _ = self.links[group].changes.send(Change {
                seq: registry.queued[group],
                subscribe,
                kind,
                names,
            });
        }
    }

    /// What group `group`'s link must subscribe to on (re)connecting: per kind the names, and
    /// the number of the last change they include.
    pub(crate) fn snapshot(&self, group: usize) -> (u64, [Vec<Bytes>; 3]) {
        let registry = self.registry.lock();
        let names = Kind::ALL.map(|kind| {
            registry.maps[kind.index()]
                .keys()
                .filter(|name| self.groups_of(kind, name).contains(&group))
                .cloned()
                .collect()
        });
        (registry.queued[group], names)
    }

    /// Sends messages that arrived in a row for `name` (of `kind`), their frames in order, to
    /// its listeners as one [`Run`], cutting off those past their output limit.
    pub(crate) fn deliver(&self, kind: Kind, name: &[u8], frames: Vec<Bytes>) {
        if frames.is_empty() {
            return;
        }
        let registry = self.registry.lock();
        let Some((name, listeners)) = registry.maps[kind.index()].get_key_value(name) else {
            return;
        };
        let run = Run::new(
            kind,
            name.clone(),
            frames.into_iter().map(Message::from_frame).collect(),
        );
        let now = OnceCell::new();
        for mailbox in listeners.values() {
            if !mailbox.is_cut() && !mailbox.push(&run, &self.limit, &now) {
                self.figures.disconnections.inc();
            }
        }
    }

    /// This proxy's clients listening on `name`.
    pub(crate) fn listeners(&self, kind: Kind, name: &[u8]) -> usize {
        self.registry.lock().maps[kind.index()]
            .get(name)
            .map_or(0, HashMap::len)
    }

    /// Counts a client that started (`1`) or stopped (`-1`) subscribing.
    pub(crate) fn count_client(&self, change: i64) {
        self.figures.clients.inc_by(change);
    }

    /// Counts a link going up (`1`) or down (`-1`).
    fn count_link(&self, change: i64) {
        self.figures.links_up.inc_by(change);
    }
}

#[cfg(test)]
mod tests;
