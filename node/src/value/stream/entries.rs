//! A stream's entries, stored as Redis stores them: in blocks of up to [`BLOCK_MAX_ENTRIES`]
//! entries (or about [`BLOCK_MAX_BYTES`] bytes), each one flat byte buffer, indexed by the
//! block's first ID in a `BTreeMap` (Redis: a radix tree of listpacks). Seeking an ID costs
//! O(log blocks + block size); appending is amortised O(1).
//!
//! A block's buffer starts with its master fields (the field names of its first entry); an
//! entry with exactly those fields stores only its values, as Redis's `SAMEFIELDS` flag does.
//! Each entry is: a flags byte, the ms delta from the block's first ID (varint), the sequence
//! (varint), then either the values (same fields) or a field count and field/value pairs.
//! Strings are a varint length then the bytes.
//!
//! Deleting marks the flags byte (Redis's tombstones); a block whose entries are all deleted
//! is dropped, and trimming drops whole blocks, so trimming a million entries is O(blocks).

use std::collections::BTreeMap;

use bytes::Bytes;

use super::id::StreamId;
use crate::value::varint::{get as get_varint, put as put_varint};

/// Most entries (live or deleted) in one block (Redis's `stream-node-max-entries`).
pub(crate) const BLOCK_MAX_ENTRIES: u32 = 100;
/// A block taking more bytes than this takes no more entries (`stream-node-max-bytes`).
pub(crate) const BLOCK_MAX_BYTES: usize = 4096;

const DELETED: u8 = 1;
const SAME_FIELDS: u8 = 2;

/// One block of entries.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Block {
    buf: Vec<u8>,
    /// Entries written, deleted ones included.
    total: u32,
    /// Entries not deleted.
    live: u32,
    /// ID of the last entry written (deleted or not).
    last: StreamId,
}

/// Iterator over a block's master field spans.
struct MasterFields<'a> {
    buf: &'a [u8],
    at: usize,
    left: usize,
}

impl Iterator for MasterFields<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(get_str_span(self.buf, &mut self.at))
    }
}

/// One entry's place in a block.
#[derive(Clone, Copy, Debug)]
struct Slot {
    id: StreamId,
    /// Offset of the flags byte.
    at: usize,
}

impl Block {
    fn new(fields: &[Bytes]) -> Block {
        let mut buf = Vec::with_capacity(64);
        put_varint(&mut buf, fields.len() as u64);
        for field in fields {
            put_str(&mut buf, field);
        }
        Block {
            buf,
            total: 0,
            live: 0,
            last: StreamId::MIN,
        }
    }

    /// The master fields' spans; once exhausted, `at` is the first entry's offset.
    fn master(&self) -> MasterFields<'_> {
        let mut at = 0;
        let left = get_varint(&self.buf, &mut at) as usize;
        MasterFields {
            buf: &self.buf,
            at,
            left,
        }
    }

    fn same_as_master(&self, pairs: &[Bytes]) -> bool {
        let master = self.master();
        master.left * 2 == pairs.len()
            && master
                .zip(pairs.iter().step_by(2))
                .all(|((s, e), f)| &self.buf[s..e] == f.as_ref())
    }

    fn push(&mut self, key: StreamId, id: StreamId, pairs: &[Bytes]) {
        let same = self.same_as_master(pairs);
        self.buf.push(if same { SAME_FIELDS } else { 0 });
        put_varint(&mut self.buf, id.ms - key.ms);
        put_varint(&mut self.buf, id.seq);
        if same {
            for value in pairs.iter().skip(1).step_by(2) {
                put_str(&mut self.buf, value);
            }
        } else {
            put_varint(&mut self.buf, (pairs.len() / 2) as u64);
            for item in pairs {
                put_str(&mut self.buf, item);
            }
        }
        self.total += 1;
        self.live += 1;
        self.last = id;
    }

    /// Every entry's ID and offset, deleted ones included, in order.
    fn slots(&self, key: StreamId) -> Vec<Slot> {
        let mut master = self.master();
        let master_len = master.left;
        master.by_ref().for_each(drop);
        let mut at = master.at;
        let mut slots = Vec::with_capacity(self.total as usize);
        while at < self.buf.len() {
            let start = at;
            let flags = self.buf[at];
            at += 1;
            let ms = key.ms + get_varint(&self.buf, &mut at);
            let seq = get_varint(&self.buf, &mut at);
            let strings = if flags & SAME_FIELDS != 0 {
                master_len
            } else {
                2 * get_varint(&self.buf, &mut at) as usize
            };
            for _ in 0..strings {
                get_str_span(&self.buf, &mut at);
            }
            slots.push(Slot {
                id: StreamId::new(ms, seq),
                at: start,
            });
        }
        slots
    }

    fn is_deleted(&self, slot: Slot) -> bool {
        self.buf[slot.at] & DELETED != 0
    }

    /// Marks an entry deleted; false if it already was.
    fn delete(&mut self, slot: Slot) -> bool {
        if self.is_deleted(slot) {
            return false;
        }
        self.buf[slot.at] |= DELETED;
        self.live -= 1;
        true
    }

    /// The field/value pairs of the entry at `slot`.
    fn fields(&self, slot: Slot) -> Vec<(&[u8], &[u8])> {
        let mut at = slot.at;
        let flags = self.buf[at];
        at += 1;
        get_varint(&self.buf, &mut at);
        get_varint(&self.buf, &mut at);
        let mut pairs = Vec::new();
        if flags & SAME_FIELDS != 0 {
            for (s, e) in self.master() {
                let (vs, ve) = get_str_span(&self.buf, &mut at);
                pairs.push((&self.buf[s..e], &self.buf[vs..ve]));
            }
        } else {
            let count = get_varint(&self.buf, &mut at);
            for _ in 0..count {
                let (fs, fe) = get_str_span(&self.buf, &mut at);
                let (vs, ve) = get_str_span(&self.buf, &mut at);
                pairs.push((&self.buf[fs..fe], &self.buf[vs..ve]));
            }
        }
        pairs
    }

    fn is_full(&self) -> bool {
        self.total >= BLOCK_MAX_ENTRIES || self.buf.len() >= BLOCK_MAX_BYTES
    }

    #[allow(dead_code)] // For `MEMORY USAGE`, which the node does not serve yet.
    fn heap_bytes(&self) -> usize {
        allocation_size(self.buf.capacity())
    }
}

/// An entry read from a stream: its ID and field/value pairs, borrowed from the block.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry<'a> {
    /// The entry's ID.
    pub(crate) id: StreamId,
    /// Field/value pairs in the order they were added.
    pub(crate) fields: Vec<(&'a [u8], &'a [u8])>,
}

/// The entries of one stream, in ID order.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Entries {
    blocks: BTreeMap<StreamId, Block>,
}

impl Entries {
    /// Appends an entry; `id` must exceed every ID appended before and `pairs` hold
    /// field, value, field, value...
    pub(crate) fn push(&mut self, id: StreamId, pairs: &[Bytes]) {
        debug_assert!(pairs.len() % 2 == 0);
        let open = self
            .blocks
            .last_key_value()
            .is_some_and(|(_, block)| !block.is_full());
        if !open {
            if let Some(mut sealed) = self.blocks.last_entry() {
                sealed.get_mut().buf.shrink_to_fit();
            }
            let fields: Vec<Bytes> = pairs.iter().step_by(2).cloned().collect();
            self.blocks.insert(id, Block::new(&fields));
        }
        let mut last = self.blocks.last_entry().expect("a block was ensured");
        let key = *last.key();
        last.get_mut().push(key, id, pairs);
    }

    /// Number of blocks (XINFO STREAM `radix-tree-keys`).
    pub(crate) fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// Bytes the allocator holds for the blocks and (estimated) their index.
    #[allow(dead_code)] // For `MEMORY USAGE`, which the node does not serve yet.
    pub(crate) fn heap_bytes(&self) -> usize {
        // A B-tree node has room for 11 keys and values; filled in ascending order, nodes end
        // up about half full.
        let per_slot = std::mem::size_of::<StreamId>() + std::mem::size_of::<Block>();
        let node = allocation_size(11 * per_slot + 16);
        let index = self.blocks.len().div_ceil(6) * node;
        index + self.blocks.values().map(Block::heap_bytes).sum::<usize>()
    }

    fn block_for(&self, id: StreamId) -> Option<(StreamId, &Block)> {
        self.blocks
            .range(..=id)
            .next_back()
            .map(|(key, block)| (*key, block))
    }

    /// True when a live entry has this ID (`streamEntryExists`).
    pub(crate) fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// The live entry with this ID.
    pub(crate) fn get(&self, id: StreamId) -> Option<Entry<'_>> {
        self.range(id, id, false).next()
    }

    /// Marks the live entry with this ID deleted, dropping its block once the block holds no
    /// live entry. Returns false if there was no such entry.
    pub(crate) fn delete(&mut self, id: StreamId) -> bool {
        let Some((key, _)) = self.block_for(id) else {
            return false;
        };
        let block = self.blocks.get_mut(&key).expect("found above");
        let Some(slot) = block.slots(key).into_iter().find(|s| s.id == id) else {
            return false;
        };
        if !block.delete(slot) {
            return false;
        }
        if block.live == 0 {
            self.blocks.remove(&key);
        }
        true
    }

    /// Live entries with IDs in `start..=end`, ascending, or descending when `rev`.
    pub(crate) fn range(&self, start: StreamId, end: StreamId, rev: bool) -> Range<'_> {
        let blocks: Box<dyn Iterator<Item = (&StreamId, &Block)> + '_> = if start > end {
            Box::new(std::iter::empty())
        } else if rev {
            Box::new(self.blocks.range(..=end).rev())
        } else {
            let from = self.block_for(start).map_or(start, |(key, _)| key);
            Box::new(self.blocks.range(from..))
        };
        Range {
            blocks,
            current: None,
            slots: Vec::new(),
            pos: 0,
            start,
            end,
            rev,
        }
    }

    /// Removes whole blocks from the front while `remove(live, last_id)` says so and `limit`
    /// (0 for none) allows; returns the entries removed and whether a block was refused by
    /// `remove` (rather than by the limit or by running out of blocks).
    pub(crate) fn drop_front_blocks(
        &mut self,
        limit: u64,
        mut remove: impl FnMut(u64, StreamId) -> bool,
    ) -> (u64, bool) {
        let mut removed = 0u64;
        while let Some(entry) = self.blocks.first_entry() {
            let block = entry.get();
            let live = u64::from(block.live);
            if limit != 0 && removed + live > limit {
                return (removed, false);
            }
            if !remove(live, block.last) {
                return (removed, true);
            }
            entry.remove();
            removed += live;
        }
        (removed, false)
    }

    /// Marks deleted the live entries at the front of the first block for which
    /// `remove(id)` holds (asked for live entries only, in order), stopping at the first for
    /// which it does not; returns how many.
    pub(crate) fn delete_front_of_first_block(
        &mut self,
        mut remove: impl FnMut(StreamId) -> bool,
    ) -> u64 {
        let Some(mut entry) = self.blocks.first_entry() else {
            return 0;
        };
        let key = *entry.key();
        let block = entry.get_mut();
        let mut deleted = 0;
        for slot in block.slots(key) {
            if block.is_deleted(slot) {
                continue;
            }
            if !remove(slot.id) {
                break;
            }
            block.delete(slot);
            deleted += 1;
        }
        if block.live == 0 {
            entry.remove();
        }
        deleted
    }

    /// The first ID in the first block, deleted or not (`streamGetEdgeID` without skipping
    /// tombstones); `None` when there are no blocks.
    pub(crate) fn first_raw_id(&self) -> Option<StreamId> {
        let (key, block) = self.blocks.first_key_value()?;
        block.slots(*key).first().map(|s| s.id)
    }
}

/// One stored entry as a snapshot sees it: deleted ones included (Redis keeps tombstones in
/// its listpacks until the whole block goes).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StoredEntry<'a> {
    /// The entry's ID.
    pub(crate) id: StreamId,
    /// Marked deleted by XDEL or a trim.
    pub(crate) deleted: bool,
    /// Field/value pairs in the order they were added.
    pub(crate) fields: Vec<(&'a [u8], &'a [u8])>,
}

/// One block as a snapshot sees it (Redis: one radix tree key and its listpack).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StoredBlock<'a> {
    /// The first ID written to the block: the radix tree key, base of the ID deltas.
    pub(crate) key: StreamId,
    /// The master fields: the field names of the block's first entry.
    pub(crate) master: Vec<&'a [u8]>,
    /// Entries not deleted.
    pub(crate) live: u32,
    /// Every entry, deleted ones included, in ID order.
    pub(crate) entries: Vec<StoredEntry<'a>>,
}

impl Entries {
    /// Every block in ID order, with its tombstones, for writing a snapshot.
    pub(crate) fn stored_blocks(&self) -> impl Iterator<Item = StoredBlock<'_>> {
        self.blocks.iter().map(|(key, block)| StoredBlock {
            key: *key,
            master: block.master().map(|(s, e)| &block.buf[s..e]).collect(),
            live: block.live,
            entries: block
                .slots(*key)
                .into_iter()
                .map(|slot| StoredEntry {
                    id: slot.id,
                    deleted: block.is_deleted(slot),
                    fields: block.fields(slot),
                })
                .collect(),
        })
    }

    /// Appends a block read from a snapshot: `master` field names, then entries as (ID,
    /// deleted, field/value pairs). IDs must ascend, start at `key` and exceed every ID
    /// stored before; the caller checks. A block with no live entry is not kept (Redis
    /// never stores one). Returns the live entries added.
    pub(crate) fn push_stored_block<'p>(
        &mut self,
        key: StreamId,
        master: &[Bytes],
        entries: impl IntoIterator<Item = (StreamId, bool, &'p [Bytes])>,
    ) -> u64 {
        if let Some(mut sealed) = self.blocks.last_entry() {
            sealed.get_mut().buf.shrink_to_fit();
        }
        let mut block = Block::new(master);
        for (id, deleted, pairs) in entries {
            let at = block.buf.len();
            block.push(key, id, pairs);
            if deleted {
                block.delete(Slot { id, at });
            }
        }
        let live = u64::from(block.live);
        if live > 0 {
            self.blocks.insert(key, block);
        }
        live
    }
}

/// Iterator over live entries in an ID range (see [`Entries::range`]).
pub(crate) struct Range<'a> {
    blocks: Box<dyn Iterator<Item = (&'a StreamId, &'a Block)> + 'a>,
    current: Option<&'a Block>,
    slots: Vec<Slot>,
    pos: usize,
    start: StreamId,
    end: StreamId,
    rev: bool,
}

impl<'a> Iterator for Range<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        loop {
            if let Some(block) = self.current {
                while self.pos < self.slots.len() {
                    let index = if self.rev {
                        self.slots.len() - 1 - self.pos
                    } else {
                        self.pos
                    };
                    self.pos += 1;
                    let slot = self.slots[index];
                    if (self.rev && slot.id < self.start) || (!self.rev && slot.id > self.end) {
                        self.blocks = Box::new(std::iter::empty());
                        self.slots.clear();
                        return None;
                    }
                    if slot.id < self.start || slot.id > self.end || block.is_deleted(slot) {
                        continue;
                    }
                    return Some(Entry {
                        id: slot.id,
                        fields: block.fields(slot),
                    });
                }
            }
            let (key, block) = self.blocks.next()?;
            self.current = Some(block);
            self.slots = block.slots(*key);
            self.pos = 0;
        }
    }
}

/// The bytes jemalloc hands out for a request of `n` (its size classes: multiples of 16 up to
/// 128, then four classes per doubling).
#[allow(dead_code)] // For `MEMORY USAGE`, which the node does not serve yet.
fn allocation_size(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    let spacing = 1usize << ((usize::BITS - 1 - (n - 1).leading_zeros()) - 2);
    n.div_ceil(spacing) * spacing
}

fn put_str(buf: &mut Vec<u8>, data: &[u8]) {
    put_varint(buf, data.len() as u64);
    buf.extend_from_slice(data);
}

fn get_str_span(buf: &[u8], at: &mut usize) -> (usize, usize) {
    let len = get_varint(buf, at) as usize;
    let start = *at;
    *at += len;
    (start, *at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn ids(range: Range<'_>) -> Vec<u64> {
        range.map(|e| e.id.seq).collect()
    }

    fn filled(n: u64) -> Entries {
        let mut entries = Entries::default();
        for seq in 1..=n {
            let pairs = if seq % 3 == 0 {
                vec![b("other"), b(&seq.to_string()), b("x"), b("y")]
            } else {
                vec![b("f"), b(&seq.to_string())]
            };
            entries.push(StreamId::new(1, seq), &pairs);
        }
        entries
    }

    #[test]
    fn entries_round_trip_with_and_without_master_fields() {
        let entries = filled(250);
        assert_eq!(entries.block_count(), 3);
        let got = entries.get(StreamId::new(1, 7)).unwrap();
        assert_eq!(got.fields, vec![(&b"f"[..], &b"7"[..])]);
        let got = entries.get(StreamId::new(1, 150)).unwrap();
        assert_eq!(
            got.fields,
            vec![(&b"other"[..], &b"150"[..]), (&b"x"[..], &b"y"[..])]
        );
        assert!(entries.get(StreamId::new(1, 251)).is_none());
    }

    #[test]
    fn ranges_cross_blocks_both_ways() {
        let entries = filled(250);
        let forward = ids(entries.range(StreamId::new(1, 98), StreamId::new(1, 103), false));
        assert_eq!(forward, vec![98, 99, 100, 101, 102, 103]);
        let backward = ids(entries.range(StreamId::new(1, 98), StreamId::new(1, 103), true));
        assert_eq!(backward, vec![103, 102, 101, 100, 99, 98]);
        assert_eq!(
            entries.range(StreamId::MIN, StreamId::MAX, false).count(),
            250
        );
        assert_eq!(
            entries.range(StreamId::MAX, StreamId::MIN, false).count(),
            0
        );
    }

    #[test]
    fn deletion_skips_entries_and_drops_empty_blocks() {
        let mut entries = filled(150);
        assert!(entries.delete(StreamId::new(1, 5)));
        assert!(!entries.delete(StreamId::new(1, 5)));
        assert!(!entries.delete(StreamId::new(9, 9)));
        assert!(!entries.contains(StreamId::new(1, 5)));
        assert_eq!(
            entries.range(StreamId::MIN, StreamId::MAX, false).count(),
            149
        );
        for seq in 101..=150 {
            assert!(entries.delete(StreamId::new(1, seq)));
        }
        assert_eq!(entries.block_count(), 1);
        assert_eq!(entries.first_raw_id(), Some(StreamId::new(1, 1)));
    }

    #[test]
    fn allocations_round_to_size_classes() {
        let sizes: Vec<usize> = [1, 16, 17, 129, 160, 161, 1100, 4096, 4097]
            .into_iter()
            .map(allocation_size)
            .collect();
        assert_eq!(sizes, [16, 16, 32, 160, 160, 192, 1280, 4096, 5120]);
    }

    #[test]
    fn whole_blocks_go_from_the_front() {
        let mut entries = filled(1000);
        let (removed, refused) = entries.drop_front_blocks(0, |_, last| last.seq <= 500);
        assert_eq!((removed, refused), (500, true));
        let (removed, _) = entries.drop_front_blocks(250, |_, _| true);
        assert_eq!(removed, 200);
        assert_eq!(entries.first_raw_id(), Some(StreamId::new(1, 701)));
        assert_eq!(entries.delete_front_of_first_block(|id| id.seq < 710), 9);
        assert_eq!(
            entries
                .range(StreamId::MIN, StreamId::MAX, false)
                .next()
                .unwrap()
                .id
                .seq,
            710
        );
    }
}
