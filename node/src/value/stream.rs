//! Stream values (Redis type `stream`): entries in ID order with their bookkeeping (length,
//! last generated ID, first ID, largest deleted ID, entries ever added) and consumer groups.
//!
//! Storage lives in [`entries`], IDs in [`id`], groups in [`group`]. The command cores
//! (`xadd`, `xrange`, `xgroup`, `xclaim`, `xinfo`) parse a command's arguments after the key
//! into a typed request, apply it to a stream the caller looked up, and return the reply plus
//! what the caller must propagate to replicas ([`Applied`]). Behaviour follows Redis 7.2's
//! `t_stream.c`; the caller owns key lookup, type checks, creation and notifications.

pub(crate) mod args;
pub(crate) mod entries;
pub(crate) mod group;
pub(crate) mod id;
pub(crate) mod xadd;
pub(crate) mod xclaim;
pub(crate) mod xgroup;
pub(crate) mod xinfo;
pub(crate) mod xrange;

use std::collections::BTreeMap;

use bytes::Bytes;
use redoubt_protocol::Reply;

pub(crate) use entries::Entries;
use entries::Entry;
use group::ConsumerGroup;
use id::{AddId, StreamId};

/// Redis's reply when an XADD ID does not exceed the stream's last ID.
pub(crate) const ID_TOO_SMALL: &str =
    "ERR The ID specified in XADD is equal or smaller than the target stream top item";
/// Redis's reply once the stream's last ID is the largest possible.
pub(crate) const ID_EXHAUSTED: &str =
    "ERR The stream has exhausted the last possible ID, unable to add more items";

/// What a command core hands back: its reply and what replicas must be sent.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Applied {
    /// The reply to the client.
    pub(crate) reply: Reply,
    /// What to propagate to replicas and the AOF.
    pub(crate) propagate: Propagate,
}

impl Applied {
    /// A reply that changed nothing.
    pub(crate) fn read(reply: Reply) -> Applied {
        Applied {
            reply,
            propagate: Propagate::Nothing,
        }
    }

    /// A reply to a write that replicas replay as the client sent it.
    pub(crate) fn verbatim(reply: Reply) -> Applied {
        Applied {
            reply,
            propagate: Propagate::Verbatim,
        }
    }
}

/// How a stream command reaches replicas (Redis: `alsoPropagate`, `rewriteClientCommandArgument`,
/// `preventCommandPropagation`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Propagate {
    /// Nothing changed (or the command never propagates itself).
    Nothing,
    /// The command as received.
    Verbatim,
    /// The command with arguments rewritten (full argv, command name first), e.g. XADD's `*`
    /// replaced by the ID it generated, or `MAXLEN ~ n` replaced by `MAXLEN = <length>`.
    Rewritten(Vec<Bytes>),
    /// Instead of the command, these commands (full argv each): XCLAIM ... FORCE JUSTID LASTID,
    /// XGROUP SETID ... ENTRIESREAD, XGROUP CREATECONSUMER.
    Effects(Vec<Vec<Bytes>>),
}

/// A trim rule: how many entries or which IDs to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TrimStrategy {
    /// Keep at most this many entries (`MAXLEN`).
    MaxLen(u64),
    /// Drop entries with IDs below this one (`MINID`).
    MinId(StreamId),
}

/// A trim request as XADD and XTRIM take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Trim {
    /// What to keep.
    pub(crate) strategy: TrimStrategy,
    /// `~`: remove whole blocks only.
    pub(crate) approx: bool,
    /// Most entries to remove (0: no limit; approximate trims only).
    pub(crate) limit: u64,
}

/// The bookkeeping a snapshot records beside a stream's entries (Redis 7.0's
/// `RDB_TYPE_STREAM_LISTPACKS_2` fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SnapshotIds {
    /// `last-generated-id`.
    pub(crate) last: StreamId,
    /// `recorded-first-entry-id`.
    pub(crate) first: StreamId,
    /// `max-deleted-entry-id`.
    pub(crate) max_deleted: StreamId,
    /// `entries-added`.
    pub(crate) entries_added: u64,
}

/// A stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct StreamValue {
    entries: Entries,
    length: u64,
    last_id: StreamId,
    first_id: StreamId,
    max_deleted_id: StreamId,
    entries_added: u64,
    groups: BTreeMap<Bytes, ConsumerGroup>,
}

impl StreamValue {
    /// An empty stream.
    pub(crate) fn new() -> StreamValue {
        StreamValue::default()
    }

    /// Number of entries (`XLEN`).
    pub(crate) fn len(&self) -> u64 {
        self.length
    }

    /// True when the stream holds no entries (it may still have groups).
    #[allow(dead_code)] // Kept beside `len`; key lifetime does not depend on it.
    pub(crate) fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// The last ID generated or set (`last-generated-id`).
    pub(crate) fn last_id(&self) -> StreamId {
        self.last_id
    }

    /// The first entry's ID as recorded (`recorded-first-entry-id`; 0-0 when empty).
    pub(crate) fn first_id(&self) -> StreamId {
        self.first_id
    }

    /// The largest ID deleted by XDEL (`max-deleted-entry-id`).
    pub(crate) fn max_deleted_id(&self) -> StreamId {
        self.max_deleted_id
    }

    /// Entries ever added (`entries-added`).
    pub(crate) fn entries_added(&self) -> u64 {
        self.entries_added
    }

    /// Storage blocks (XINFO STREAM's `radix-tree-keys`).
    pub(crate) fn block_count(&self) -> usize {
        self.entries.block_count()
    }

    /// The consumer groups by name.
    pub(crate) fn groups(&self) -> &BTreeMap<Bytes, ConsumerGroup> {
        &self.groups
    }

    /// The consumer groups by name, for changes.
    pub(crate) fn groups_mut(&mut self) -> &mut BTreeMap<Bytes, ConsumerGroup> {
        &mut self.groups
    }

    /// Heap bytes held by the entries and their index (groups not counted).
    #[allow(dead_code)] // For `MEMORY USAGE`, which the node does not serve yet.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.entries.heap_bytes()
    }

    /// Every block with its tombstones, for writing a snapshot.
    pub(crate) fn stored_blocks(&self) -> impl Iterator<Item = entries::StoredBlock<'_>> {
        self.entries.stored_blocks()
    }

    /// A stream rebuilt from a snapshot: its blocks, its bookkeeping as recorded, its groups.
    /// The caller checks that `length` is the number of live entries in `entries`.
    pub(crate) fn from_snapshot(
        entries: Entries,
        length: u64,
        ids: SnapshotIds,
        groups: BTreeMap<Bytes, ConsumerGroup>,
    ) -> StreamValue {
        StreamValue {
            entries,
            length,
            last_id: ids.last,
            first_id: ids.first,
            max_deleted_id: ids.max_deleted,
            entries_added: ids.entries_added,
            groups,
        }
    }

    /// Live entries with IDs in `start..=end`, ascending, or descending when `rev`.
    pub(crate) fn range(&self, start: StreamId, end: StreamId, rev: bool) -> entries::Range<'_> {
        self.entries.range(start, end, rev)
    }

    /// The live entry with this ID.
    pub(crate) fn get(&self, id: StreamId) -> Option<Entry<'_>> {
        self.entries.get(id)
    }

    /// True if a live entry has this ID.
    pub(crate) fn contains(&self, id: StreamId) -> bool {
        self.entries.contains(id)
    }

    /// The last live entry's ID (`streamLastValidID`), `None` when empty.
    pub(crate) fn last_entry_id(&self) -> Option<StreamId> {
        self.range(StreamId::MIN, StreamId::MAX, true)
            .next()
            .map(|e| e.id)
    }

    /// Appends an entry of field/value `pairs` (non-empty, even length) under an ID chosen as
    /// XADD chooses it (`streamAppendItem`; `*` takes `now_ms`, or the last ID plus one when
    /// the clock is behind).
    ///
    /// # Errors
    /// [`ID_EXHAUSTED`] once the last ID is the largest; [`ID_TOO_SMALL`] when the ID does
    /// not exceed the last one.
    pub(crate) fn append(
        &mut self,
        id: AddId,
        pairs: &[Bytes],
        now_ms: u64,
    ) -> Result<StreamId, &'static str> {
        if self.last_id == StreamId::MAX {
            return Err(ID_EXHAUSTED);
        }
        let last = self.last_id;
        let id = match id {
            AddId::Auto if now_ms > last.ms => StreamId::new(now_ms, 0),
            AddId::Auto => last.next().ok_or(ID_TOO_SMALL)?,
            AddId::AutoSeq(ms) if ms == last.ms => {
                StreamId::new(ms, last.seq.checked_add(1).ok_or(ID_TOO_SMALL)?)
            }
            AddId::AutoSeq(ms) => StreamId::new(ms, 0),
            AddId::Explicit(id) => id,
        };
        if id <= last {
            return Err(ID_TOO_SMALL);
        }
        self.entries.push(id, pairs);
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(id)
    }

    /// Deletes entries by ID as XDEL does, keeping the first and largest-deleted IDs current;
    /// returns how many existed.
    pub(crate) fn delete(&mut self, ids: &[StreamId]) -> u64 {
        let mut deleted = 0;
        let mut first_gone = false;
        for &id in ids {
            if self.entries.delete(id) {
                self.length -= 1;
                first_gone |= id == self.first_id;
                self.max_deleted_id = self.max_deleted_id.max(id);
                deleted += 1;
            }
        }
        if deleted > 0 {
            self.refresh_first_id(first_gone);
        }
        deleted
    }

    fn refresh_first_id(&mut self, changed: bool) {
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if changed {
            let first = self
                .range(StreamId::MIN, StreamId::MAX, false)
                .next()
                .map_or(StreamId::MIN, |e| e.id);
            self.first_id = first;
        }
    }

    /// Trims as `streamTrim` does: whole blocks from the front first; then, unless approximate,
    /// entries inside the first remaining block. Returns the entries removed. Costs
    /// O(blocks removed + one block).
    pub(crate) fn trim(&mut self, trim: Trim) -> u64 {
        let mut length = self.length;
        let (mut removed, refused) = match trim.strategy {
            TrimStrategy::MaxLen(max) => self.entries.drop_front_blocks(trim.limit, |live, _| {
                if length <= max || length - live < max {
                    return false;
                }
                length -= live;
                true
            }),
            TrimStrategy::MinId(min) => self
                .entries
                .drop_front_blocks(trim.limit, |_, last| last < min),
        };
        self.length -= removed;
        if refused && !trim.approx {
            let partial = match trim.strategy {
                TrimStrategy::MaxLen(max) => {
                    let mut length = self.length;
                    self.entries.delete_front_of_first_block(|_| {
                        let go = length > max;
                        length = length.saturating_sub(1);
                        go
                    })
                }
                TrimStrategy::MinId(min) => self.entries.delete_front_of_first_block(|id| id < min),
            };
            self.length -= partial;
            removed += partial;
        }
        if removed > 0 {
            self.refresh_first_id(true);
        }
        removed
    }

    /// The argument an approximate trim is replicated with: the resulting length for MAXLEN,
    /// the first stored ID for MINID (`streamRewriteTrimArgument`; the largest ID when empty).
    pub(crate) fn trim_rewrite_arg(&self, strategy: TrimStrategy) -> Bytes {
        match strategy {
            TrimStrategy::MaxLen(_) => Bytes::from(self.length.to_string()),
            TrimStrategy::MinId(_) => self
                .entries
                .first_raw_id()
                .unwrap_or(StreamId::MAX)
                .to_bytes(),
        }
    }

    /// Sets the last ID, entries-added counter and largest deleted ID (XSETID's effect; the
    /// checks live in the XSETID core).
    pub(crate) fn set_id(
        &mut self,
        last: StreamId,
        entries_added: Option<u64>,
        max_deleted: Option<StreamId>,
    ) {
        self.last_id = last;
        if let Some(added) = entries_added {
            self.entries_added = added;
        }
        if let Some(max) = max_deleted {
            self.max_deleted_id = max;
        }
    }

    /// True if an XDEL tombstone may lie in `start..` (`streamRangeHasTombstones` with no end).
    pub(crate) fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() || self.first_id > self.max_deleted_id
        {
            return false;
        }
        start <= self.max_deleted_id
    }

    /// The logical read counter of `id`: its distance from the first entry ever added, when
    /// it can be known (`streamEstimateDistanceFromFirstEverEntry`).
    pub(crate) fn estimate_distance(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added - self.length);
            }
            if id == self.first_id {
                return Some(self.entries_added - self.length + 1);
            }
        }
        None
    }

    /// A group's lag: entries not yet delivered, `None` when it cannot be known
    /// (`streamReplyWithCGLag`).
    pub(crate) fn lag(&self, group: &ConsumerGroup) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if let Some(read) = group.entries_read {
            if !self.has_tombstones_from(group.last_id) {
                return Some(self.entries_added.saturating_sub(read));
            }
        }
        self.estimate_distance(group.last_id)
            .map(|read| self.entries_added.saturating_sub(read))
    }

    /// Moves a group's last delivered ID to `id` (an entry being delivered past it), keeping
    /// its read counter as `streamReplyWithRange` does.
    pub(crate) fn advance_group(&self, group: &mut ConsumerGroup, id: StreamId) {
        match group.entries_read {
            Some(read) if !self.has_tombstones_from(id) => group.entries_read = Some(read + 1),
            _ if self.entries_added > 0 => group.entries_read = self.estimate_distance(id),
            _ => {}
        }
        group.last_id = id;
    }
}

#[cfg(test)]
mod tests;
