//! `Table`: byte-string keys mapped to values, with a low cost per key. The keyspace keeps its
//! keys in one (`crate::keyspace::table`), and large hashes (field → value) and sets (member →
//! `()`) keep their elements in one once they outgrow their compact encodings.
//!
//! The entries live densely in insertion order in [`Blocks`] of `(CompactBytes, V)` slots (a
//! sequence in page-sized blocks, so none moves when the table grows), and the `i`-th entry
//! is an O(1) index (a uniformly random key for `RANDOMKEY`, `SPOP`, `HRANDFIELD`, eviction
//! and active expiry sampling; a stable cursor for `SCAN`, `SSCAN` and `HSCAN`). A
//! `hashbrown::HashTable<u32>` of positions in that sequence finds a key: 4 bytes and a
//! control byte per bucket. No hash is stored: growing the table rehashes each key from its
//! bytes (foldhash, a few ns for a short key). A key of up to 22 bytes lives inside its
//! [`CompactBytes`], so a set member or a hash field and value of that size cost no
//! allocation of their own (Redis spends a `dictEntry` and an sds string on each).
//!
//! What an entry costs: its `(key, value)` slot (24 bytes for a set member, 48 for a hash
//! field, 56 for a database entry), plus at most one partly empty block per table (3-4 KB),
//! plus 5 bytes times the buckets (hashbrown keeps them at most 7/8 full and doubles them).
//! For 1,000 fields of a hash that is about 60 KB against Redis's 70 KB; for 1M keys about
//! 67 MB against Redis's 84 MB. Removal moves the last entry into the hole (`swap_remove`),
//! a block that empties is freed, and the buckets of a table that falls below a tenth full
//! give memory back, as Redis shrinks its dicts.

use std::alloc::Layout;
use std::borrow::Borrow;
use std::fmt;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

mod blocks;
mod bulk;

use crate::memory::size_class;
use crate::value::CompactBytes;

use self::blocks::Blocks;
pub(crate) use self::bulk::Unindexed;

/// Capacity a table starts with once it gets its first entry.
const MIN_CAPACITY: usize = 4;
/// A table with no more room than this is never shrunk (a few KB at most).
const MIN_SHRINK: usize = 64;

/// Keys (byte strings) mapped to values of type `V`, in insertion order but for removals,
/// which move the last entry into the hole. See the module comment for the layout.
#[derive(Clone)]
pub(crate) struct Table<V> {
    /// The entries, densely; `slots` holds each one's position.
    entries: Blocks<(CompactBytes, V)>,
    /// Position in `entries` of each key, hashed by the key's bytes with `hasher`.
    slots: HashTable<u32>,
    hasher: RandomState,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table {
            entries: Blocks::default(),
            slots: HashTable::new(),
            hasher: RandomState::default(),
        }
    }
}

impl<V: fmt::Debug> fmt::Debug for Table<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The hash of a key's bytes.
fn hash_key(hasher: &RandomState, key: &[u8]) -> u64 {
    hasher.hash_one(key)
}

/// True when `a` and `b` hold the same bytes. Every lookup compares the key it finds with
/// the one asked for, most often a short one: compared here 8 bytes at a time in place (the
/// last word overlapping the one before), not through a call to `memcmp`.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    if !(8..=32).contains(&len) {
        return a == b;
    }
    let word = |s: &[u8], at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    (0..len - 8)
        .step_by(8)
        .chain(std::iter::once(len - 8))
        .all(|at| word(a, at) == word(b, at))
}

/// The capacity a full block of `capacity` slots of type `T` grows to while it is a table's
/// only one: the most slots that fit in the allocator's size class for at least an eighth
/// more slots (at least `MIN_CAPACITY` more). With four size classes per doubling this steps
/// one class at a time, 1.14x to 1.25x, and leaves no part of what jemalloc hands out unused.
fn grown_capacity<T>(capacity: usize) -> usize {
    let wanted = capacity + (capacity / 8).max(MIN_CAPACITY);
    let size = std::mem::size_of::<T>().max(1);
    match Layout::array::<T>(wanted) {
        Ok(layout) => (size_class(layout) / size).max(wanted),
        Err(_) => wanted,
    }
}

/// A position in `entries` as the table stores it.
fn slot(index: usize) -> u32 {
    // 2^32 keys would need over 200 GB for their entries alone.
    u32::try_from(index).expect("a key table holds fewer than 2^32 keys")
}

impl<V> Table<V> {
    /// An empty table with room for `capacity` keys.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let mut table = Table::default();
        table.reserve(capacity);
        table
    }

    /// Number of keys.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the table holds no keys.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    /// Position of `key`, if present.
    pub(crate) fn get_index_of(&self, key: &[u8]) -> Option<usize> {
        let hash = hash_key(&self.hasher, key);
        let entries = &self.entries;
        self.slots
            .find(hash, |&i| same_bytes(&entries[i as usize].0, key))
            .map(|&i| i as usize)
    }

    /// True when `key` is present.
    pub(crate) fn contains_key(&self, key: &[u8]) -> bool {
        self.get_index_of(key).is_some()
    }

    /// The value under `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&V> {
        let index = self.get_index_of(key)?;
        Some(&self.entries[index].1)
    }

    /// The value under `key`, for modification.
    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let index = self.get_index_of(key)?;
        Some(&mut self.entries[index].1)
    }

    /// The key and value at position `index` (below [`Table::len`]).
    pub(crate) fn get_index(&self, index: usize) -> Option<(&CompactBytes, &V)> {
        self.entries.get(index).map(|(k, v)| (k, v))
    }

    /// The key and value at position `index`, the value for modification.
    pub(crate) fn get_index_mut(&mut self, index: usize) -> Option<(&CompactBytes, &mut V)> {
        self.entries.get_mut(index).map(|(k, v)| (&*k, v))
    }

    /// Makes room for `additional` more keys at once (a snapshot's `RESIZEDB` count), so
    /// loading does not grow and rehash the table step by step.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let Table {
            entries,
            slots,
            hasher,
        } = self;
        entries.reserve(additional);
        slots.reserve(additional, |&i| hash_key(hasher, &entries[i as usize].0));
    }

    /// Stores `value` under `key`. A present key keeps its position (and its stored key) and
    /// gets the new value: the old one is returned. A new key goes last; a borrowed key
    /// (`&[u8]`) is copied into the table only then, so updating an element allocates nothing.
    pub(crate) fn insert<K>(&mut self, key: K, value: V) -> Option<V>
    where
        K: Borrow<[u8]> + Into<CompactBytes>,
    {
        self.insert_full(key, value).1
    }

    /// [`Table::insert`], also giving the key's position.
    pub(crate) fn insert_full<K>(&mut self, key: K, value: V) -> (usize, Option<V>)
    where
        K: Borrow<[u8]> + Into<CompactBytes>,
    {
        let hash = hash_key(&self.hasher, key.borrow());
        let Table {
            entries,
            slots,
            hasher,
        } = self;
        let found = slots.entry(
            hash,
            |&i| same_bytes(&entries[i as usize].0, key.borrow()),
            |&i| hash_key(hasher, &entries[i as usize].0),
        );
        match found {
            hashbrown::hash_table::Entry::Occupied(slot) => {
                let index = *slot.get() as usize;
                (index, Some(std::mem::replace(&mut entries[index].1, value)))
            }
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                let index = entries.len();
                vacant.insert(slot(index));
                entries.push((key.into(), value));
                (index, None)
            }
        }
    }

    /// Removes `key`, moving the last entry into its position; its value if it was present.
    pub(crate) fn swap_remove(&mut self, key: &[u8]) -> Option<V> {
        let index = self.get_index_of(key)?;
        self.swap_remove_index(index).map(|(_, v)| v)
    }

    /// Removes the entry at position `index`, moving the last entry into its place (the only
    /// entry whose position changes); the removed key and value, `None` when `index` is out
    /// of range.
    pub(crate) fn swap_remove_index(&mut self, index: usize) -> Option<(CompactBytes, V)> {
        let last = self.entries.len().checked_sub(1)?;
        if index > last {
            return None;
        }
        let removed = slot(index);
        let hash = hash_key(&self.hasher, &self.entries[index].0);
        let found = self.slots.find_entry(hash, |&i| i == removed);
        debug_assert!(found.is_ok(), "every entry has a slot");
        if let Ok(found) = found {
            found.remove();
        }
        if index != last {
            let moved = slot(last);
            let hash = hash_key(&self.hasher, &self.entries[last].0);
            let position = self.slots.find_mut(hash, |&i| i == moved);
            debug_assert!(position.is_some(), "every entry has a slot");
            if let Some(position) = position {
                *position = removed;
            }
        }
        let entry = self.entries.swap_remove(index);
        self.shrink_if_sparse();
        entry
    }

    /// Gives memory back when fewer than a tenth of the buckets are used (Redis shrinks a dict
    /// below 10% fill), keeping room for half as many keys again.
    fn shrink_if_sparse(&mut self) {
        // The entries free their blocks as they empty; the buckets are one allocation.
        let len = self.entries.len();
        let target = len + len / 2;
        if self.slots.capacity() > MIN_SHRINK && len * 10 < self.slots.capacity() {
            let Table {
                entries,
                slots,
                hasher,
            } = self;
            slots.shrink_to(target, |&i| hash_key(hasher, &entries[i as usize].0));
        }
    }

    /// The keys and values in position order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&CompactBytes, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The values in position order, for modification.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Bytes the table has allocated (entries and buckets), what it adds to `used_memory`
    /// beyond the keys' and values' own heap buffers.
    pub(crate) fn allocation_size(&self) -> usize {
        self.entries.allocation_size() + self.slots.allocation_size()
    }
}

/// The total of `len` elements' sizes estimated from `sampled`, the sizes of the first few:
/// their average times `len` (0 for no samples). How the collections estimate the heap bytes
/// of their elements in O(1), as `MEMORY USAGE` samples.
pub(crate) fn sampled_total(len: usize, sampled: impl Iterator<Item = usize>) -> usize {
    let (n, total) = sampled.fold((0, 0), |(n, total), size| (n + 1, total + size));
    (total * len).checked_div(n).unwrap_or(0)
}

impl<V> IntoIterator for Table<V> {
    type Item = (CompactBytes, V);
    type IntoIter = <Blocks<(CompactBytes, V)> as IntoIterator>::IntoIter;

    /// The keys and values in position order.
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    fn key(n: u64) -> CompactBytes {
        CompactBytes::from(format!("key:{n}").as_bytes())
    }

    /// Every entry's key finds its own position, and the table has no other slots.
    fn assert_consistent<V>(table: &Table<V>) {
        assert_eq!(table.slots.len(), table.entries.len());
        for (i, (k, _)) in table.entries.iter().enumerate() {
            assert_eq!(table.get_index_of(k), Some(i), "{k:?}");
        }
    }

    #[test]
    fn insert_get_replace_and_swap_remove() {
        let mut table = Table::default();
        assert!(table.is_empty());
        assert_eq!(table.insert(key(1), 10), None);
        assert_eq!(table.insert(key(2), 20), None);
        assert_eq!(table.insert(key(3), 30), None);
        // Replacing keeps the position and hands back the old value.
        assert_eq!(table.insert(key(1), 11), Some(10));
        assert_eq!(table.get_index_of(b"key:1"), Some(0));
        assert_eq!(table.get(b"key:1"), Some(&11));
        assert_eq!(table.get(b"key:4"), None);
        *table.get_mut(b"key:2").unwrap() += 1;
        *table.get_index_mut(1).unwrap().1 += 1;
        assert_eq!(table.get_index(1), Some((&key(2), &22)));
        assert_eq!(table.get_index(3), None);
        // Removing the first moves the last into its place; nothing else moves.
        assert_eq!(table.swap_remove(b"key:1"), Some(11));
        assert_eq!(table.swap_remove(b"key:1"), None);
        let order: Vec<_> = table.iter().map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(order, vec![(key(3), 30), (key(2), 22)]);
        assert_eq!(table.swap_remove_index(1), Some((key(2), 22)));
        assert_eq!(table.swap_remove_index(1), None);
        assert!(table.contains_key(b"key:3"));
        assert_consistent(&table);
        assert_eq!(Table::<u8>::default().allocation_size(), 0);
    }

    #[test]
    fn same_bytes_compares_every_byte() {
        for len in [0, 1, 7, 8, 9, 15, 16, 17, 20, 22, 24, 31, 32, 33, 40] {
            let a: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert!(same_bytes(&a, &a.clone()), "{len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x80;
                assert!(!same_bytes(&a, &b), "{len} {at}");
            }
            assert!(!same_bytes(&a, &a[..len.saturating_sub(1)]) || len == 0);
        }
    }

    #[test]
    fn long_keys_are_found_by_their_bytes() {
        let mut table = Table::default();
        let long = vec![b'x'; 100];
        table.insert(CompactBytes::from(&long[..]), 1u64);
        table.insert(CompactBytes::from(&long[..99]), 2);
        assert_eq!(table.get(&long), Some(&1));
        assert_eq!(table.get(&long[..99]), Some(&2));
        assert_eq!(table.get(&long[..98]), None);
    }

    #[test]
    fn memory_per_key_stays_low_and_is_given_back() {
        // The entries have room for at most one block (64 slots of 56 bytes) more than the
        // keys, or for 1.5x the keys while the first block grows; the buckets at most 2 * 8/7
        // per key, 5 bytes each; the list of blocks 24 bytes per block, doubled.
        let slot = std::mem::size_of::<(CompactBytes, [u64; 4])>();
        assert_eq!(slot, 56);
        let per_block = Blocks::<(CompactBytes, [u64; 4])>::PER_BLOCK;
        assert_eq!(per_block, 64);
        let mut table = Table::default();
        for n in 0..200_000u64 {
            table.insert(key(n), [n; 4]);
            if n.is_power_of_two() || n % 9_999 == 0 {
                let len = table.len();
                let room = (len / 2 + MIN_CAPACITY).max(per_block);
                assert!(table.entries.capacity() <= len + room, "{len} keys");
                let bound = (len + room) * slot + len * 2 * 8 / 7 * 5 + len / 16 * 2 + 1024;
                assert!(table.allocation_size() <= bound, "{len} keys");
            }
        }
        // At worst 96 bytes a key (here 63); IndexMap reserved 1.835 64-byte slots (the key, the value
        // and a stored hash) per key, 117 bytes, plus 8-byte indices in its hash table.
        assert!(table.allocation_size() <= 200_000 * 64);
        for n in 0..199_000u64 {
            table.swap_remove(key(n).as_slice());
        }
        assert_consistent(&table);
        assert_eq!(table.len(), 1_000);
        // Below a tenth full it shrinks: at most ten times what 1,000 keys need (the 18 MB
        // of 200k keys would otherwise stay).
        assert!(table.allocation_size() <= 1_000 * 10 * (slot + 12));
        // Shrunk, it still finds, replaces and grows.
        for n in 198_000..202_000u64 {
            table.insert(key(n), [0; 4]);
        }
        assert_eq!(table.len(), 4_000);
        assert_eq!(table.get(b"key:199500"), Some(&[0; 4]));
        assert_consistent(&table);
    }

    /// One step of the model test: what to do to the table and to the reference map.
    #[derive(Clone, Debug)]
    enum Op {
        Insert(u64, u32),
        Remove(u64),
        RemoveIndex(usize),
        Get(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few distinct keys so that inserts replace and removes hit.
        prop_oneof![
            4 => (0..200u64, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            3 => (0..200u64).prop_map(Op::Remove),
            1 => (0..256usize).prop_map(Op::RemoveIndex),
            2 => (0..200u64).prop_map(Op::Get),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_a_hash_map(ops in proptest::collection::vec(op(), 1..600)) {
            let mut table = Table::default();
            let mut model: HashMap<Vec<u8>, u32> = HashMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        let k = key(k);
                        prop_assert_eq!(table.insert(k.clone(), v), model.insert(k.to_vec(), v));
                    }
                    Op::Remove(k) => {
                        let k = key(k);
                        prop_assert_eq!(table.swap_remove(&k), model.remove(&k[..]));
                    }
                    Op::RemoveIndex(i) => {
                        let last = table.get_index(table.len().wrapping_sub(1)).map(|(k, _)| k.clone());
                        let removed = table.swap_remove_index(i);
                        prop_assert_eq!(removed.is_some(), i < model.len());
                        if let Some((k, v)) = removed {
                            prop_assert_eq!(model.remove(&k[..]), Some(v));
                            // The last entry, unless it was the one removed, now sits at `i`.
                            if let Some(last) = last.filter(|l| *l != k) {
                                prop_assert_eq!(table.get_index_of(&last), Some(i));
                            }
                        }
                    }
                    Op::Get(k) => {
                        let k = key(k);
                        prop_assert_eq!(table.get(&k), model.get(&k[..]));
                    }
                }
                prop_assert_eq!(table.len(), model.len());
            }
            assert_consistent(&table);
            let mut listed: Vec<_> = table.iter().map(|(k, v)| (k.to_vec(), *v)).collect();
            let mut expected: Vec<_> = model.into_iter().collect();
            listed.sort();
            expected.sort();
            prop_assert_eq!(listed, expected);
        }
    }
}
