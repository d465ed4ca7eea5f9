//! Publish/subscribe: who listens on which channel, pattern and shard channel, and each
//! subscriber's [`Outbox`], the queue between a publisher and the subscriber's connection.
//!
//! `PUBLISH` runs under the store lock but only queues the message: the subscriber's own
//! connection task encodes and writes it (in its protocol: an array in RESP2, a `>` push in
//! RESP3). An outbox holding more than the `client-output-buffer-limit pubsub` hard limit, or
//! more than the soft limit for longer than its seconds, is closed and its connection ends,
//! as Redis disconnects a slow subscriber. Source of the semantics: Redis's `pubsub.c`.

pub(crate) mod events;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use foldhash::fast::RandomState;
use indexmap::{IndexMap, IndexSet};
use parking_lot::Mutex;
use redoubt_protocol::Reply;
use tokio::sync::Notify;

use crate::glob::glob_match;

/// Bytes a queued message is charged on top of its channel, pattern and payload.
const MESSAGE_OVERHEAD: usize = 48;

/// What a message was published to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// A channel (`SUBSCRIBE`, `PUBLISH`).
    Channel,
    /// A glob pattern of channels (`PSUBSCRIBE`).
    Pattern,
    /// A shard channel (`SSUBSCRIBE`, `SPUBLISH`).
    Shard,
    /// Not a subscription: a `MONITOR` line (the payload), sent as a status reply.
    Monitor,
}

/// One message on its way to a subscriber.
#[derive(Clone, Debug)]
pub(crate) struct Message {
    /// How the subscriber matched it.
    pub(crate) kind: Kind,
    /// The pattern that matched (for [`Kind::Pattern`]).
    pub(crate) pattern: Bytes,
    /// The channel published to.
    pub(crate) channel: Bytes,
    /// The payload.
    pub(crate) payload: Bytes,
    /// A frame made by its sender, sent as is in place of one built from the fields above
    /// (client-side caching invalidations, see `crate::tracking`).
    pub(crate) ready: Option<Reply>,
}

impl Message {
    /// A message carrying a ready-made `frame`.
    pub(crate) fn ready(frame: Reply) -> Message {
        Message {
            kind: Kind::Channel,
            pattern: Bytes::new(),
            channel: Bytes::new(),
            payload: Bytes::new(),
            ready: Some(frame),
        }
    }

    fn cost(&self) -> usize {
        let ready = self.ready.as_ref().map_or(0, frame_bytes);
        self.pattern.len() + self.channel.len() + self.payload.len() + ready + MESSAGE_OVERHEAD
    }

    /// The frame a subscriber receives: `message channel payload`, `pmessage pattern
    /// channel payload` or `smessage channel payload`.
    pub(crate) fn frame(&self) -> Reply {
        if let Some(frame) = &self.ready {
            return frame.clone();
        }
        let mut items = Vec::with_capacity(4);
        match self.kind {
            Kind::Monitor => {
                let line = String::from_utf8_lossy(&self.payload).into_owned();
                return Reply::Simple(line.into());
            }
            Kind::Channel => items.push(Reply::bulk_static("message")),
            Kind::Shard => items.push(Reply::bulk_static("smessage")),
            Kind::Pattern => {
                items.push(Reply::bulk_static("pmessage"));
                items.push(Reply::Bulk(self.pattern.clone()));
            }
        }
        items.push(Reply::Bulk(self.channel.clone()));
        items.push(Reply::Bulk(self.payload.clone()));
        Reply::Push(items)
    }
}

/// Bytes of the strings in `frame`, plus a little for each element.
fn frame_bytes(frame: &Reply) -> usize {
    match frame {
        Reply::Bulk(b) => b.len() + 8,
        Reply::Array(items) | Reply::Push(items) | Reply::Set(items) => {
            items.iter().map(frame_bytes).sum::<usize>() + 8
        }
        _ => 8,
    }
}

/// `client-output-buffer-limit` for pub/sub clients: hard and soft limits in bytes (0: none)
/// and how long the soft limit may be exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OutputLimit {
    /// Bytes past which the client is closed at once.
    pub(crate) hard: u64,
    /// Bytes past which the client is closed after `soft_for`.
    pub(crate) soft: u64,
    /// How long the soft limit may be exceeded.
    pub(crate) soft_for: Duration,
}

#[derive(Debug, Default)]
struct Queue {
    messages: VecDeque<Message>,
    bytes: usize,
    over_soft_since: Option<Instant>,
}

/// Messages waiting for one subscriber's connection.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    queue: Mutex<Queue>,
    closed: AtomicBool,
    /// Woken when a message is queued or the outbox is closed.
    pub(crate) ready: Notify,
}

impl Outbox {
    /// Queues `message` unless that takes the outbox past `limit`; then the outbox is closed
    /// (its connection ends) and false is returned.
    pub(crate) fn push(&self, message: Message, limit: OutputLimit, now: Instant) -> bool {
        if self.is_closed() {
            return false;
        }
        let mut queue = self.queue.lock();
        queue.bytes += message.cost();
        let bytes = queue.bytes as u64;
        let over_hard = limit.hard > 0 && bytes > limit.hard;
        let over_soft = limit.soft > 0 && bytes > limit.soft;
        let soft_expired = match (over_soft, queue.over_soft_since) {
            (false, _) => {
                queue.over_soft_since = None;
                false
            }
            (true, None) => {
                queue.over_soft_since = Some(now);
                limit.soft_for.is_zero()
            }
            (true, Some(since)) => now.duration_since(since) >= limit.soft_for,
        };
        if over_hard || soft_expired {
            queue.messages.clear();
            queue.bytes = 0;
            drop(queue);
            self.closed.store(true, Ordering::Relaxed);
            self.ready.notify_one();
            return false;
        }
        queue.messages.push_back(message);
        drop(queue);
        self.ready.notify_one();
        true
    }

    /// Takes every queued message.
    pub(crate) fn take(&self) -> VecDeque<Message> {
        let mut queue = self.queue.lock();
        queue.bytes = 0;
        queue.over_soft_since = None;
        std::mem::take(&mut queue.messages)
    }

    /// Bytes queued (`CLIENT LIST` `omem`).
    pub(crate) fn queued_bytes(&self) -> usize {
        self.queue.lock().bytes
    }

    /// True once the subscriber was cut off for exceeding its output limit.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }
}

type Listeners = IndexMap<u64, Arc<Outbox>, RandomState>;

/// Every subscription of the node.
#[derive(Debug, Default)]
pub(crate) struct PubSub {
    channels: HashMap<Bytes, Listeners>,
    patterns: HashMap<Bytes, Listeners>,
    shard: HashMap<Bytes, Listeners>,
}

impl PubSub {
    fn map(&mut self, kind: Kind) -> &mut HashMap<Bytes, Listeners> {
        match kind {
            Kind::Channel | Kind::Monitor => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// Subscribes client `id` to `name`.
    pub(crate) fn subscribe(&mut self, kind: Kind, name: &Bytes, id: u64, outbox: &Arc<Outbox>) {
        self.map(kind)
            .entry(name.clone())
            .or_default()
            .insert(id, outbox.clone());
    }

    /// Unsubscribes client `id` from `name`.
    pub(crate) fn unsubscribe(&mut self, kind: Kind, name: &Bytes, id: u64) {
        let map = self.map(kind);
        if let Some(listeners) = map.get_mut(name) {
            listeners.swap_remove(&id);
            if listeners.is_empty() {
                map.remove(name);
            }
        }
    }

    /// Queues `payload` for every subscriber of `channel` and of the patterns matching it
    /// (or, for [`Kind::Shard`], of the shard channel); returns how many received it.
    pub(crate) fn publish(
        &self,
        kind: Kind,
        channel: &Bytes,
        payload: &Bytes,
        limit: OutputLimit,
    ) -> usize {
        let now = Instant::now();
        let mut receivers = 0;
        let direct = if kind == Kind::Shard {
            &self.shard
        } else {
            &self.channels
        };
        let message = Message {
            kind,
            pattern: Bytes::new(),
            channel: channel.clone(),
            payload: payload.clone(),
            ready: None,
        };
        if let Some(listeners) = direct.get(channel) {
            for outbox in listeners.values() {
                outbox.push(message.clone(), limit, now);
                receivers += 1;
            }
        }
        if kind == Kind::Channel {
            for (pattern, listeners) in &self.patterns {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                let message = Message {
                    kind: Kind::Pattern,
                    pattern: pattern.clone(),
                    ..message.clone()
                };
                for outbox in listeners.values() {
                    outbox.push(message.clone(), limit, now);
                    receivers += 1;
                }
            }
        }
        receivers
    }

    /// Channels (or shard channels) with subscribers matching the glob `pattern` (all when
    /// `None`): `PUBSUB CHANNELS` / `PUBSUB SHARDCHANNELS`.
    pub(crate) fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let map = if kind == Kind::Shard {
            &self.shard
        } else {
            &self.channels
        };
        map.keys()
            .filter(|name| pattern.is_none_or(|p| glob_match(p, name, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of a channel or shard channel (`PUBSUB NUMSUB`, `SHARDNUMSUB`).
    pub(crate) fn subscribers(&self, kind: Kind, name: &[u8]) -> usize {
        let map = match kind {
            Kind::Channel | Kind::Monitor => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        };
        map.get(name).map_or(0, |l| l.len())
    }

    /// Number of channels, patterns or shard channels with subscribers (INFO
    /// `pubsub_channels`, `pubsub_patterns`, `pubsubshard_channels`; `PUBSUB NUMPAT`).
    pub(crate) fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Channel | Kind::Monitor => self.channels.len(),
            Kind::Pattern => self.patterns.len(),
            Kind::Shard => self.shard.len(),
        }
    }

    /// True when nobody subscribes to anything (publishing is then free).
    pub(crate) fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty()
    }
}

/// One client's subscriptions.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    /// Channels.
    pub(crate) channels: IndexSet<Bytes>,
    /// Patterns.
    pub(crate) patterns: IndexSet<Bytes>,
    /// Shard channels.
    pub(crate) shard: IndexSet<Bytes>,
}

impl Subscriptions {
    /// The set of one kind.
    pub(crate) fn of(&mut self, kind: Kind) -> &mut IndexSet<Bytes> {
        match kind {
            Kind::Channel | Kind::Monitor => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// The count `(P)SUBSCRIBE` replies carry: channels plus patterns.
    pub(crate) fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// True when the client subscribes to anything (RESP2 subscribed mode).
    pub(crate) fn any(&self) -> bool {
        self.count() + self.shard.len() > 0
    }
}
