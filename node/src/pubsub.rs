//! Publish/subscribe: who listens on which channel, pattern and shard channel, and each
//! subscriber's [`Outbox`], the queue between a publisher and the subscriber's connection.
//!
//! `PUBLISH` runs under the store lock but only queues the message: it encodes the message
//! frame once and appends the bytes to each subscriber's outbox, and the subscriber's own
//! connection task writes them (in its protocol: an array in RESP2, a `>` push in RESP3, the
//! two differing only in the frame's first byte). A subscriber is woken when its outbox turns
//! non-empty, not once per message, so a pipeline of publishes reaches it in one write. An
//! outbox holding more than the `client-output-buffer-limit pubsub` hard limit, or more than
//! the soft limit for longer than its seconds, is closed and its connection ends, as Redis
//! disconnects a slow subscriber. Source of the semantics: Redis's `pubsub.c`.

pub(crate) mod events;

use std::cell::OnceCell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use foldhash::fast::RandomState;
use indexmap::{IndexMap, IndexSet};
use parking_lot::Mutex;
use redoubt_protocol::{Protocol, Reply};
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

/// What an outbox holds, in the order it was queued.
#[derive(Debug)]
enum Entry {
    /// Messages published to channels, patterns or shard channels, encoded back to back as
    /// RESP2 arrays; `starts` holds the offset of each frame's first byte (`*`, which RESP3
    /// writes as `>`).
    Published {
        frames: BytesMut,
        starts: Vec<usize>,
    },
    /// A message encoded when it is written (monitor lines, ready-made frames).
    Message(Message),
}

#[derive(Debug, Default)]
struct Queue {
    entries: VecDeque<Entry>,
    bytes: usize,
    over_soft_since: Option<Instant>,
}

impl Queue {
    /// Charges `cost` bytes; false (and the queue emptied) when that passes `limit`. The clock
    /// (`now`, read at most once for a run of charges) is read only past the soft limit.
    fn charge(&mut self, cost: usize, limit: OutputLimit, now: &OnceCell<Instant>) -> bool {
        self.bytes += cost;
        let bytes = self.bytes as u64;
        let over_hard = limit.hard > 0 && bytes > limit.hard;
        let over_soft = limit.soft > 0 && bytes > limit.soft;
        let soft_expired = match (over_soft, self.over_soft_since) {
            (false, _) => {
                self.over_soft_since = None;
                false
            }
            (true, None) => {
                self.over_soft_since = Some(*now.get_or_init(Instant::now));
                limit.soft_for.is_zero()
            }
            (true, Some(since)) => {
                now.get_or_init(Instant::now).duration_since(since) >= limit.soft_for
            }
        };
        if over_hard || soft_expired {
            self.entries.clear();
            self.bytes = 0;
            return false;
        }
        true
    }
}

/// A published message encoded once for all its receivers: the RESP2 frame and what it is
/// charged against a receiver's output limit.
struct Encoded {
    frame: BytesMut,
    cost: usize,
}

impl Encoded {
    /// `message channel payload`, `smessage channel payload` or `pmessage pattern channel
    /// payload` (`pattern` given) as a RESP2 array.
    fn new(kind: Kind, pattern: Option<&[u8]>, channel: &[u8], payload: &[u8]) -> Encoded {
        let verb: &[u8] = match kind {
            Kind::Shard => b"smessage",
            Kind::Pattern => b"pmessage",
            Kind::Channel | Kind::Monitor => b"message",
        };
        let parts = [Some(verb), pattern, Some(channel), Some(payload)];
        let mut frame = BytesMut::with_capacity(
            48 + verb.len() + pattern.map_or(0, <[u8]>::len) + channel.len() + payload.len(),
        );
        let count = parts.iter().flatten().count();
        put_line(&mut frame, b'*', count);
        for part in parts.into_iter().flatten() {
            put_line(&mut frame, b'$', part.len());
            frame.extend_from_slice(part);
            frame.extend_from_slice(b"\r\n");
        }
        let cost =
            pattern.map_or(0, <[u8]>::len) + channel.len() + payload.len() + MESSAGE_OVERHEAD;
        Encoded { frame, cost }
    }
}

/// Writes `<kind><n>\r\n`.
fn put_line(out: &mut BytesMut, kind: u8, n: usize) {
    out.put_u8(kind);
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Messages waiting for one subscriber's connection.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    queue: Mutex<Queue>,
    closed: AtomicBool,
    /// Woken when the outbox turns non-empty or is closed.
    pub(crate) ready: Notify,
}

impl Outbox {
    /// Queues `message` unless that takes the outbox past `limit`; then the outbox is closed
    /// (its connection ends) and false is returned.
    ///
    /// The connection is woken only when the outbox turns non-empty: it takes everything
    /// queued when it wakes ([`Outbox::write_to`]), so one wakeup serves a run of messages.
    pub(crate) fn push(&self, message: Message, limit: OutputLimit, now: Instant) -> bool {
        self.queue_entry(message.cost(), limit, &OnceCell::from(now), |entries| {
            entries.push_back(Entry::Message(message));
        })
    }

    /// Queues a published message encoded once for all receivers, as [`Outbox::push`].
    fn push_encoded(&self, message: &Encoded, limit: OutputLimit, now: &OnceCell<Instant>) -> bool {
        self.queue_entry(message.cost, limit, now, |entries| {
            if let Some(Entry::Published { frames, starts }) = entries.back_mut() {
                starts.push(frames.len());
                frames.extend_from_slice(&message.frame);
            } else {
                entries.push_back(Entry::Published {
                    frames: message.frame.clone(),
                    starts: vec![0],
                });
            }
        })
    }

    fn queue_entry(
        &self,
        cost: usize,
        limit: OutputLimit,
        now: &OnceCell<Instant>,
        add: impl FnOnce(&mut VecDeque<Entry>),
    ) -> bool {
        if self.is_closed() {
            return false;
        }
        let mut queue = self.queue.lock();
        if !queue.charge(cost, limit, now) {
            drop(queue);
            self.closed.store(true, Ordering::Relaxed);
            self.ready.notify_one();
            return false;
        }
        let was_empty = queue.entries.is_empty();
        add(&mut queue.entries);
        drop(queue);
        if was_empty {
            self.ready.notify_one();
        }
        true
    }

    /// Takes every queued message and appends its frame to `out` in `protocol`.
    pub(crate) fn write_to(&self, protocol: Protocol, out: &mut BytesMut) {
        let entries = {
            let mut queue = self.queue.lock();
            if queue.entries.is_empty() {
                return;
            }
            queue.bytes = 0;
            queue.over_soft_since = None;
            std::mem::take(&mut queue.entries)
        };
        for entry in entries {
            match entry {
                Entry::Published { frames, starts } => {
                    let at = out.len();
                    out.extend_from_slice(&frames);
                    if protocol == Protocol::Resp3 {
                        for start in starts {
                            out[at + start] = b'>';
                        }
                    }
                }
                Entry::Message(message) => message.frame().encode(protocol, out),
            }
        }
    }

    /// Takes every queued message that was queued as a [`Message`] (published messages,
    /// queued as frames, are dropped).
    #[cfg(test)]
    pub(crate) fn take(&self) -> VecDeque<Message> {
        let mut queue = self.queue.lock();
        queue.bytes = 0;
        queue.over_soft_since = None;
        std::mem::take(&mut queue.entries)
            .into_iter()
            .filter_map(|entry| match entry {
                Entry::Message(message) => Some(message),
                Entry::Published { .. } => None,
            })
            .collect()
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
        // Read only if a receiver is past its soft output limit.
        let now = OnceCell::new();
        let mut receivers = 0;
        let direct = if kind == Kind::Shard {
            &self.shard
        } else {
            &self.channels
        };
        if let Some(listeners) = direct.get(channel) {
            let message = Encoded::new(kind, None, channel, payload);
            for outbox in listeners.values() {
                outbox.push_encoded(&message, limit, &now);
                receivers += 1;
            }
        }
        if kind == Kind::Channel {
            for (pattern, listeners) in &self.patterns {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                let message = Encoded::new(Kind::Pattern, Some(pattern), channel, payload);
                for outbox in listeners.values() {
                    outbox.push_encoded(&message, limit, &now);
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

#[cfg(test)]
mod tests {
    use super::*;

    const NO_LIMIT: OutputLimit = OutputLimit {
        hard: 0,
        soft: 0,
        soft_for: Duration::ZERO,
    };

    fn bytes(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    /// What the subscriber's connection writes for everything queued, in `protocol`.
    fn written(outbox: &Outbox, protocol: Protocol) -> Vec<u8> {
        let mut out = BytesMut::new();
        outbox.write_to(protocol, &mut out);
        out.to_vec()
    }

    fn frame(items: &[&str], protocol: Protocol) -> Vec<u8> {
        let mut out = BytesMut::new();
        Reply::Push(items.iter().map(|s| Reply::bulk(*s)).collect()).encode(protocol, &mut out);
        out.to_vec()
    }

    #[test]
    fn published_frames_match_each_protocol_and_keep_their_order() {
        let mut pubsub = PubSub::default();
        let resp2 = Arc::new(Outbox::default());
        let resp3 = Arc::new(Outbox::default());
        pubsub.subscribe(Kind::Channel, &bytes("news"), 1, &resp2);
        pubsub.subscribe(Kind::Pattern, &bytes("n*"), 1, &resp2);
        pubsub.subscribe(Kind::Channel, &bytes("news"), 2, &resp3);
        let receivers = pubsub.publish(Kind::Channel, &bytes("news"), &bytes("a"), NO_LIMIT);
        assert_eq!(receivers, 3);
        // A monitor line between two publishes stays between them.
        let line = Message {
            kind: Kind::Monitor,
            pattern: Bytes::new(),
            channel: Bytes::new(),
            payload: bytes("line"),
            ready: None,
        };
        assert!(resp3.push(line, NO_LIMIT, Instant::now()));
        pubsub.publish(Kind::Channel, &bytes("news"), &bytes("b\r\nc"), NO_LIMIT);

        let mut expected = frame(&["message", "news", "a"], Protocol::Resp2);
        expected.extend(frame(&["pmessage", "n*", "news", "a"], Protocol::Resp2));
        expected.extend(frame(&["message", "news", "b\r\nc"], Protocol::Resp2));
        expected.extend(frame(
            &["pmessage", "n*", "news", "b\r\nc"],
            Protocol::Resp2,
        ));
        assert_eq!(written(&resp2, Protocol::Resp2), expected);

        let mut expected = frame(&["message", "news", "a"], Protocol::Resp3);
        expected.extend_from_slice(b"+line\r\n");
        expected.extend(frame(&["message", "news", "b\r\nc"], Protocol::Resp3));
        assert_eq!(written(&resp3, Protocol::Resp3), expected);
        assert!(written(&resp3, Protocol::Resp3).is_empty());
        assert_eq!(resp3.queued_bytes(), 0);
    }

    #[test]
    fn shard_messages_use_their_verb() {
        let mut pubsub = PubSub::default();
        let outbox = Arc::new(Outbox::default());
        pubsub.subscribe(Kind::Shard, &bytes("s"), 1, &outbox);
        assert_eq!(
            pubsub.publish(Kind::Shard, &bytes("s"), &bytes("x"), NO_LIMIT),
            1
        );
        assert_eq!(
            pubsub.publish(Kind::Channel, &bytes("s"), &bytes("y"), NO_LIMIT),
            0
        );
        assert_eq!(
            written(&outbox, Protocol::Resp2),
            frame(&["smessage", "s", "x"], Protocol::Resp2)
        );
    }

    #[test]
    fn a_subscriber_past_the_hard_limit_is_cut_off() {
        let mut pubsub = PubSub::default();
        let outbox = Arc::new(Outbox::default());
        pubsub.subscribe(Kind::Channel, &bytes("c"), 1, &outbox);
        let limit = OutputLimit {
            hard: 200,
            soft: 0,
            soft_for: Duration::ZERO,
        };
        let payload = Bytes::from(vec![b'x'; 60]);
        pubsub.publish(Kind::Channel, &bytes("c"), &payload, limit);
        assert!(!outbox.is_closed());
        assert_eq!(outbox.queued_bytes(), 1 + 60 + MESSAGE_OVERHEAD);
        pubsub.publish(Kind::Channel, &bytes("c"), &payload, limit);
        assert!(outbox.is_closed());
        assert!(written(&outbox, Protocol::Resp2).is_empty());
        pubsub.publish(Kind::Channel, &bytes("c"), &payload, limit);
        assert_eq!(outbox.queued_bytes(), 0);
    }
}
