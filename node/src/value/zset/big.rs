//! The `skiplist` encoding of a sorted set (Redis's name for it; here it is no skip list).
//!
//! Each element `(member, score)` is stored once, densely, in a `Vec<Element>`: its position
//! there is its id. A `hashbrown::HashTable<u32>` of ids finds a member (`ZSCORE` in O(1); 4
//! bytes and a control byte per bucket, no stored hash), and a counted B+tree of
//! `(score, id)` pairs ([`Tree`]) keeps the order (ranks and ranges in O(log n)). Members are
//! [`CompactBytes`]: inline up to 22 bytes, else one exact-size heap buffer. An element costs
//! its 32-byte slot, about 12 bytes of leaf and 5 to 10 bytes of table, against Redis's
//! skip-list node, dict entry and sds string (about 100 bytes).
//!
//! Removal moves the last element into the hole (`swap_remove`), so positions stay dense: a
//! uniformly random member is an O(1) index, and `ZSCAN` walks the positions downwards (the
//! moved element was already visited), which returns every member present for the whole scan.

use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

use super::tree::{Cursor, Element, Tree};
use crate::value::CompactBytes;

/// A table with no more room than this is never shrunk.
const MIN_SHRINK: usize = 64;

/// A big sorted set: elements, a member index and the order. See the module comment.
#[derive(Clone, Debug, Default)]
pub(crate) struct Big {
    elements: Vec<Element>,
    /// Position in `elements` of each member, hashed by the member's bytes with `hasher`.
    index: HashTable<u32>,
    hasher: RandomState,
    order: Tree,
    /// Bytes of the members too long to be kept inline, on the heap.
    long_bytes: usize,
}

/// An element's id as the index and the tree store it.
fn id(position: usize) -> u32 {
    // 2^32 members would need over 128 GB for their slots alone.
    u32::try_from(position).expect("a sorted set holds fewer than 2^32 members")
}

impl Big {
    /// An empty set with room for `capacity` members.
    pub(crate) fn with_capacity(capacity: usize) -> Big {
        let mut big = Big::default();
        big.elements.reserve_exact(capacity);
        big.index.reserve(capacity, |_| 0);
        big
    }

    /// Number of members.
    pub(crate) fn len(&self) -> usize {
        self.elements.len()
    }

    fn position(&self, member: &[u8]) -> Option<usize> {
        let hash = self.hasher.hash_one(member);
        let elements = &self.elements;
        self.index
            .find(hash, |&i| elements[i as usize].member.as_slice() == member)
            .map(|&i| i as usize)
    }

    /// The score of `member`.
    pub(crate) fn score(&self, member: &[u8]) -> Option<f64> {
        self.position(member).map(|i| self.elements[i].score)
    }

    /// The 0-based rank of `member` in ascending order, with its score.
    pub(crate) fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        let score = self.score(member)?;
        let rank = self.order.rank(score, member, &self.elements)?;
        Some((rank, score))
    }

    /// Looks `member` up once and lets `decide` pick its new score from the current one
    /// (`None` in, absent; `None` out, leave the set as it is); returns `decide`'s verdict.
    /// A new member is copied into the set's own storage.
    pub(crate) fn update<T>(
        &mut self,
        member: &[u8],
        decide: impl FnOnce(Option<f64>) -> (Option<f64>, T),
    ) -> T {
        let hash = self.hasher.hash_one(member);
        let Big {
            elements,
            index,
            hasher,
            order,
            long_bytes,
        } = self;
        let found = index.entry(
            hash,
            |&i| elements[i as usize].member.as_slice() == member,
            |&i| hasher.hash_one(elements[i as usize].member.as_slice()),
        );
        match found {
            Entry::Occupied(slot) => {
                let i = *slot.get();
                let old = elements[i as usize].score;
                let (score, verdict) = decide(Some(old));
                // Redis compares doubles here, so 0 and -0 count as the same score.
                if let Some(score) = score.filter(|s| *s != old) {
                    order.rescore(old, score, member, elements);
                    elements[i as usize].score = score;
                }
                verdict
            }
            Entry::Vacant(slot) => {
                let (score, verdict) = decide(None);
                if let Some(score) = score {
                    let i = id(elements.len());
                    slot.insert(i);
                    let member = CompactBytes::from(member);
                    if member.is_heap() {
                        *long_bytes += member.len();
                    }
                    elements.push(Element { member, score });
                    order.insert(score, i, elements);
                }
                verdict
            }
        }
    }

    /// Sets `member`'s score; true when the member is new.
    pub(crate) fn insert(&mut self, member: &[u8], score: f64) -> bool {
        self.update(member, |old| (Some(score), old.is_none()))
    }

    /// Removes `member`; its score if it was present.
    pub(crate) fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let hash = self.hasher.hash_one(member);
        let Big {
            elements,
            index,
            hasher,
            order,
            long_bytes,
        } = self;
        let slot = index
            .find_entry(hash, |&i| elements[i as usize].member.as_slice() == member)
            .ok()?;
        let gone = *slot.get() as usize;
        slot.remove();
        let score = elements[gone].score;
        if elements[gone].member.is_heap() {
            *long_bytes -= member.len();
        }
        order.remove(score, member, elements);
        let last = elements.len() - 1;
        if gone != last {
            // The last element takes the hole: give it its new id in the tree and the index.
            let moved = &elements[last];
            order.relabel(moved.score, &moved.member, id(gone), elements);
            let hash = hasher.hash_one(moved.member.as_slice());
            let from = id(last);
            if let Some(i) = index.find_mut(hash, |&i| i == from) {
                *i = id(gone);
            }
        }
        elements.swap_remove(gone);
        self.shrink_if_sparse();
        Some(score)
    }

    /// Gives memory back when fewer than a quarter of the slots are used.
    fn shrink_if_sparse(&mut self) {
        let len = self.elements.len();
        if self.elements.capacity() > MIN_SHRINK && len * 4 < self.elements.capacity() {
            self.elements.shrink_to(len + len / 2);
            let Big {
                elements,
                index,
                hasher,
                ..
            } = self;
            index.shrink_to(len, |&i| {
                hasher.hash_one(elements[i as usize].member.as_slice())
            });
        }
    }

    /// How many leading members satisfy `before`, which holds for a prefix of the order.
    pub(crate) fn count_while(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        self.order.count_while(&self.elements, before)
    }

    fn at(&self, at: Cursor) -> (&[u8], f64) {
        let (score, i) = self.order.get(at);
        (&self.elements[i as usize].member, score)
    }

    /// The member with the lowest score.
    pub(crate) fn first(&self) -> Option<(&[u8], f64)> {
        self.order.first().map(|at| self.at(at))
    }

    /// The member with the highest score.
    pub(crate) fn last(&self) -> Option<(&[u8], f64)> {
        self.order.last().map(|at| self.at(at))
    }

    /// Walks the members from rank `rank` on, ascending (`rev` false) or descending.
    pub(crate) fn iter_from(&self, rank: usize, rev: bool) -> Iter<'_> {
        Iter {
            big: self,
            at: self.order.cursor_at(rank),
            rev,
        }
    }

    /// The member at position `index` of the element slots (an arbitrary order, stable while
    /// the set is unchanged), with its score.
    pub(crate) fn member_at(&self, index: usize) -> Option<(&[u8], f64)> {
        self.elements
            .get(index)
            .map(|e| (e.member.as_slice(), e.score))
    }

    /// Bytes held on the heap: slots, index buckets, tree nodes and long members.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.elements.capacity() * std::mem::size_of::<Element>()
            + self.index.capacity() * 8 / 7 * (std::mem::size_of::<u32>() + 1)
            + self.order.heap_bytes()
            + self.long_bytes
    }

    /// Checks the index and the tree against the slots (tests only).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        self.order.check(&self.elements);
        assert_eq!(self.order.len(), self.elements.len());
        assert_eq!(self.index.len(), self.elements.len());
        let long: usize = self
            .elements
            .iter()
            .filter(|e| e.member.is_heap())
            .map(|e| e.member.len())
            .sum();
        assert_eq!(self.long_bytes, long);
        for (i, e) in self.elements.iter().enumerate() {
            assert_eq!(self.position(&e.member), Some(i));
        }
    }
}

/// Walks `(member, score)` pairs in one direction; see [`Big::iter_from`].
pub(crate) struct Iter<'a> {
    big: &'a Big,
    at: Option<Cursor>,
    rev: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        let at = self.at?;
        self.at = self.big.order.step(at, self.rev);
        Some(self.big.at(at))
    }
}
