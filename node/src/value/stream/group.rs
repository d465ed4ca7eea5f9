//! Consumer groups: a group's last delivered ID and read counter, its pending entries list
//! (PEL: entries delivered and not yet acknowledged) and its consumers, each of which owns part
//! of the PEL. Mirrors `streamCG`, `streamConsumer` and `streamNACK` in Redis's `stream.h`.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use super::id::StreamId;

/// One delivered, unacknowledged entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PendingEntry {
    /// The consumer that owns it.
    pub(crate) consumer: Bytes,
    /// When it was last delivered (Unix ms).
    pub(crate) delivery_time_ms: i64,
    /// How many times it was delivered.
    pub(crate) delivery_count: u64,
}

/// A consumer of a group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Consumer {
    /// Last time the consumer was seen by a command (Unix ms).
    pub(crate) seen_time_ms: i64,
    /// Last time it read or claimed an entry (Unix ms), -1 if never.
    pub(crate) active_time_ms: i64,
    /// IDs of the pending entries it owns.
    pub(crate) pel: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ConsumerGroup {
    /// Last ID delivered to any consumer.
    pub(crate) last_id: StreamId,
    /// Logical count of entries read (`entries-read`); `None` when unknown.
    pub(crate) entries_read: Option<u64>,
    /// Pending entries by ID.
    pub(crate) pel: BTreeMap<StreamId, PendingEntry>,
    /// Consumers by name, in name order (as Redis's radix tree lists them).
    pub(crate) consumers: BTreeMap<Bytes, Consumer>,
}

impl ConsumerGroup {
    /// A group starting after `last_id`.
    pub(crate) fn new(last_id: StreamId, entries_read: Option<u64>) -> ConsumerGroup {
        ConsumerGroup {
            last_id,
            entries_read,
            ..ConsumerGroup::default()
        }
    }

    /// The consumer `name`, created (seen now, never active) if missing; the flag says whether
    /// it was created.
    pub(crate) fn consumer_or_create(
        &mut self,
        name: &Bytes,
        now_ms: i64,
    ) -> (&mut Consumer, bool) {
        let created = !self.consumers.contains_key(name);
        let consumer = self.consumers.entry(name.clone()).or_insert(Consumer {
            seen_time_ms: now_ms,
            active_time_ms: -1,
            pel: BTreeSet::new(),
        });
        (consumer, created)
    }

    /// Creates consumer `name`; false if it exists.
    pub(crate) fn create_consumer(&mut self, name: &Bytes, now_ms: i64) -> bool {
        self.consumer_or_create(name, now_ms).1
    }

    /// Deletes consumer `name` and its pending entries; returns how many it had pending, or
    /// `None` if there was no such consumer.
    pub(crate) fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pel {
            self.pel.remove(id);
        }
        Some(consumer.pel.len())
    }

    /// Assigns pending entry `id` to `consumer` (creating it with no deliveries if missing),
    /// moving it from its previous owner. The consumer must exist.
    pub(crate) fn assign(&mut self, id: StreamId, consumer: &Bytes) -> &mut PendingEntry {
        let entry = self.pel.entry(id).or_insert_with(|| PendingEntry {
            consumer: consumer.clone(),
            delivery_time_ms: 0,
            delivery_count: 0,
        });
        if entry.consumer != *consumer {
            if let Some(old) = self.consumers.get_mut(&entry.consumer) {
                old.pel.remove(&id);
            }
            entry.consumer = consumer.clone();
        }
        if let Some(owner) = self.consumers.get_mut(consumer) {
            owner.pel.insert(id);
        }
        entry
    }

    /// Removes pending entry `id` from the group and its owner; false if it was not pending.
    pub(crate) fn acknowledge(&mut self, id: StreamId) -> bool {
        let Some(entry) = self.pel.remove(&id) else {
            return false;
        };
        if let Some(owner) = self.consumers.get_mut(&entry.consumer) {
            owner.pel.remove(&id);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_entries_move_between_consumers() {
        let (alice, bob) = (Bytes::from_static(b"alice"), Bytes::from_static(b"bob"));
        let mut group = ConsumerGroup::new(StreamId::MIN, Some(0));
        assert!(group.create_consumer(&alice, 5));
        assert!(!group.create_consumer(&alice, 6));
        group.create_consumer(&bob, 5);
        let id = StreamId::new(1, 0);
        group.assign(id, &alice).delivery_count = 1;
        group.assign(id, &bob).delivery_count += 1;
        assert!(group.consumers[&alice].pel.is_empty());
        assert!(group.consumers[&bob].pel.contains(&id));
        assert_eq!(group.pel[&id].delivery_count, 2);
        assert_eq!(group.delete_consumer(b"bob"), Some(1));
        assert!(group.pel.is_empty());
        assert!(!group.acknowledge(id));
        assert_eq!(group.delete_consumer(b"bob"), None);
    }
}
