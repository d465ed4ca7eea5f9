//! `Unindexed<V>`: the entries of a [`Table`] appended in bulk (a snapshot being loaded) and
//! indexed once at the end.
//!
//! Inserting a million keys one by one probes the hash table at a million random places, a
//! cache miss each (the buckets of a million keys take about 10 MB). Here the entries are
//! appended with their hashes (sequential writes only), and [`Unindexed::index`] then inserts
//! them in the order of the bucket each hash starts probing at, sorted by a counting sort on
//! the bucket's top bits: consecutive insertions touch neighbouring buckets, which the cache
//! already holds.

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use super::blocks::Blocks;
use super::{hash_key, same_bytes, slot, Table};
use crate::value::CompactBytes;

/// Bucket ranges the counting sort spreads hashes over at most (2^12: each range of a
/// million-key table holds a few hundred buckets, a few KB).
const MAX_RANGE_BITS: u32 = 12;
/// Below this many entries the buckets fit in the cache anyway: no sort.
const MIN_SORTED: usize = 1 << 14;

/// Entries appended without an index; [`Unindexed::index`] makes them a [`Table`].
pub(crate) struct Unindexed<V> {
    entries: Blocks<(CompactBytes, V)>,
    /// The hash of each entry's key, by position.
    hashes: Vec<u64>,
    hasher: RandomState,
}

impl<V> Default for Unindexed<V> {
    fn default() -> Self {
        Unindexed {
            entries: Blocks::default(),
            hashes: Vec::new(),
            hasher: RandomState::default(),
        }
    }
}

impl<V> Unindexed<V> {
    /// Makes room for `additional` more entries.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
        self.hashes.reserve(additional);
    }

    /// Appends `key` → `value`; whether `key` was appended before is found out by
    /// [`Unindexed::index`].
    pub(crate) fn push(&mut self, key: CompactBytes, value: V) {
        self.hashes.push(hash_key(&self.hasher, &key));
        self.entries.push((key, value));
    }

    /// The entries in the order they were appended.
    pub(crate) fn into_entries(self) -> impl Iterator<Item = (CompactBytes, V)> {
        self.entries.into_iter()
    }

    /// The entries as a [`Table`], in the order they were appended; `Err(self)`, unchanged,
    /// when a key was appended twice (the caller then inserts them one by one).
    pub(crate) fn index(self) -> Result<Table<V>, Self> {
        let Unindexed {
            entries,
            mut hashes,
            hasher,
        } = self;
        let mut slots: HashTable<u32> = HashTable::with_capacity(entries.len());
        // hashbrown keeps buckets at most 7/8 full, a power of two of them; a probe starts at
        // the bucket the hash's low bits name.
        let buckets = (slots.capacity() / 7 * 8).next_power_of_two() as u64;
        let unique = {
            let mut add = |index: usize, hash: u64| {
                let found = slots.entry(
                    hash,
                    |&i| same_bytes(&entries[i as usize].0, &entries[index].0),
                    |&i| hash_key(&hasher, &entries[i as usize].0),
                );
                match found {
                    hashbrown::hash_table::Entry::Occupied(_) => false,
                    hashbrown::hash_table::Entry::Vacant(vacant) => {
                        vacant.insert(slot(index));
                        true
                    }
                }
            };
            if hashes.len() < MIN_SORTED {
                hashes.iter().enumerate().all(|(i, &h)| add(i, h))
            } else {
                let bits = buckets.trailing_zeros();
                let range_bits = bits.min(MAX_RANGE_BITS);
                let shift = bits - range_bits;
                let range = |h: u64| ((h & (buckets - 1)) >> shift) as usize;
                let mut starts = vec![0usize; (1 << range_bits) + 1];
                for &h in &hashes {
                    starts[range(h) + 1] += 1;
                }
                for r in 1..starts.len() {
                    starts[r] += starts[r - 1];
                }
                let mut order = vec![(0u64, 0u32); hashes.len()];
                for (i, &h) in hashes.iter().enumerate() {
                    let at = &mut starts[range(h)];
                    order[*at] = (h, slot(i));
                    *at += 1;
                }
                // The hashes are in `order` now: their memory goes back before the index's.
                hashes = Vec::new();
                order.iter().all(|&(h, i)| add(i as usize, h))
            }
        };
        if unique {
            Ok(Table {
                entries,
                slots,
                hasher,
            })
        } else {
            if hashes.len() != entries.len() {
                hashes = entries.iter().map(|(k, _)| hash_key(&hasher, k)).collect();
            }
            Err(Unindexed {
                entries,
                hashes,
                hasher,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> CompactBytes {
        CompactBytes::from(format!("key:{n:012}").as_bytes())
    }

    /// Indexed in bulk, sorted or not, every key finds its own position, in appending order.
    #[test]
    fn index_finds_every_key_in_order() {
        for n in [0, 1, 7, 1000, MIN_SORTED + 1234] {
            let mut bulk = Unindexed::default();
            bulk.reserve(n / 2);
            for i in 0..n {
                bulk.push(key(i), i);
            }
            let table = bulk.index().unwrap_or_else(|_| panic!("no duplicates"));
            assert_eq!(table.len(), n);
            assert_eq!(table.slots.len(), n);
            for i in 0..n {
                assert_eq!(table.get_index_of(&key(i)), Some(i));
                assert_eq!(table.get_index(i).map(|(_, v)| *v), Some(i));
            }
            assert_eq!(table.get_index_of(b"key:missing"), None);
        }
    }

    /// A key appended twice is reported, and the entries come back as they were appended.
    #[test]
    fn duplicate_keys_hand_the_entries_back() {
        for n in [10, MIN_SORTED + 10] {
            let mut bulk = Unindexed::default();
            for i in 0..n {
                bulk.push(key(i), i);
            }
            bulk.push(key(3), n);
            let Err(back) = bulk.index() else {
                panic!("a duplicate must be refused");
            };
            let entries: Vec<_> = back.into_entries().collect();
            assert_eq!(entries.len(), n + 1);
            assert_eq!(entries[3], (key(3), 3));
            assert_eq!(entries[n], (key(3), n));
        }
    }
}
