//! The tree's nodes: sorted leaves of `(score, id)` pairs and inner nodes of separators,
//! children and per-child element counts, each in fixed arrays so a node is one allocation
//! slot in its arena.

use super::{Element, FANOUT, LEAF_CAP, NIL};
use crate::value::CompactBytes;

/// A separator: every element left of it is smaller, every element right of it not smaller.
#[derive(Clone, Debug, Default)]
pub(super) struct Key {
    pub(super) score: f64,
    pub(super) member: CompactBytes,
}

/// A leaf: up to `LEAF_CAP` elements in order, linked to its neighbours at the bottom level.
#[derive(Clone, Debug)]
pub(super) struct Leaf {
    pub(super) len: u32,
    pub(super) prev: u32,
    pub(super) next: u32,
    pub(super) scores: [f64; LEAF_CAP],
    pub(super) ids: [u32; LEAF_CAP],
}

impl Leaf {
    pub(super) fn empty() -> Leaf {
        Leaf {
            len: 0,
            prev: NIL,
            next: NIL,
            scores: [0.0; LEAF_CAP],
            ids: [0; LEAF_CAP],
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    /// The first position whose element is not below `(score, member)`.
    pub(super) fn lower_bound(&self, score: f64, member: &[u8], elements: &[Element]) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let s = self.scores[mid];
            let below = s < score
                || s == score && elements[self.ids[mid] as usize].member.as_slice() < member;
            if below {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    pub(super) fn insert_at(&mut self, pos: usize, score: f64, id: u32) {
        let len = self.len();
        self.scores.copy_within(pos..len, pos + 1);
        self.ids.copy_within(pos..len, pos + 1);
        self.scores[pos] = score;
        self.ids[pos] = id;
        self.len += 1;
    }

    pub(super) fn remove_at(&mut self, pos: usize) {
        let len = self.len();
        self.scores.copy_within(pos + 1..len, pos);
        self.ids.copy_within(pos + 1..len, pos);
        self.len -= 1;
    }

    /// Replaces the contents with `pairs` (at most `LEAF_CAP`).
    pub(super) fn fill(&mut self, pairs: &[(f64, u32)]) {
        for (i, &(score, id)) in pairs.iter().enumerate() {
            self.scores[i] = score;
            self.ids[i] = id;
        }
        self.len = pairs.len() as u32;
    }

    pub(super) fn pairs(&self) -> impl Iterator<Item = (f64, u32)> + '_ {
        (0..self.len()).map(|i| (self.scores[i], self.ids[i]))
    }
}

/// An inner node: up to `FANOUT` children with their element counts, and the separators
/// between them.
#[derive(Clone, Debug)]
pub(super) struct Inner {
    /// Number of children.
    pub(super) len: usize,
    /// Separator `i` (score, member) stands between `children[i]` and `children[i + 1]`;
    /// the scores apart, so a search by score reads a few cache lines.
    pub(super) key_scores: [f64; FANOUT - 1],
    pub(super) key_members: [CompactBytes; FANOUT - 1],
    pub(super) children: [u32; FANOUT],
    /// Elements below each child.
    pub(super) counts: [u32; FANOUT],
}

impl Inner {
    pub(super) fn empty() -> Inner {
        Inner {
            len: 0,
            key_scores: [0.0; FANOUT - 1],
            key_members: std::array::from_fn(|_| CompactBytes::new()),
            children: [NIL; FANOUT],
            counts: [0; FANOUT],
        }
    }

    /// The child whose range holds `(score, member)`: the number of separators not above it.
    pub(super) fn child_for(&self, score: f64, member: &[u8]) -> usize {
        let (mut lo, mut hi) = (0, self.len - 1);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let s = self.key_scores[mid];
            let not_above = s < score || s == score && self.key_members[mid].as_slice() <= member;
            if not_above {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    pub(super) fn set_key(&mut self, i: usize, key: Key) {
        self.key_scores[i] = key.score;
        self.key_members[i] = key.member;
    }

    pub(super) fn take_key(&mut self, i: usize) -> Key {
        Key {
            score: self.key_scores[i],
            member: std::mem::take(&mut self.key_members[i]),
        }
    }

    /// A copy of separator `i` (tests only).
    #[cfg(test)]
    pub(super) fn key(&self, i: usize) -> Key {
        Key {
            score: self.key_scores[i],
            member: self.key_members[i].clone(),
        }
    }

    /// Elements below children `..c`.
    pub(super) fn count_before(&self, c: usize) -> usize {
        self.counts[..c].iter().map(|&n| n as usize).sum()
    }

    /// Inserts child `child` with `count` elements at position `at` (at least 1), with the
    /// separator `key` before it.
    pub(super) fn insert_child(&mut self, at: usize, key: Key, child: u32, count: u32) {
        let len = self.len;
        self.children.copy_within(at..len, at + 1);
        self.counts.copy_within(at..len, at + 1);
        self.key_scores.copy_within(at - 1..len - 1, at);
        self.key_members[at - 1..len].rotate_right(1);
        self.set_key(at - 1, key);
        self.children[at] = child;
        self.counts[at] = count;
        self.len += 1;
    }

    /// Removes child `at` (at least 1) and the separator before it.
    pub(super) fn remove_child(&mut self, at: usize) {
        let len = self.len;
        self.children.copy_within(at + 1..len, at);
        self.counts.copy_within(at + 1..len, at);
        self.key_scores.copy_within(at..len - 1, at - 1);
        self.key_members[at - 1..len - 1].rotate_left(1);
        self.key_members[len - 2] = CompactBytes::new();
        self.len -= 1;
    }

    /// Moves the contents out: separators, children, counts.
    pub(super) fn take(&mut self) -> (Vec<Key>, Vec<u32>, Vec<u32>) {
        let len = self.len;
        let keys = (0..len.saturating_sub(1))
            .map(|i| self.take_key(i))
            .collect();
        let out = (
            keys,
            self.children[..len].to_vec(),
            self.counts[..len].to_vec(),
        );
        self.len = 0;
        out
    }

    /// Replaces the contents (one separator fewer than children).
    pub(super) fn fill(&mut self, keys: Vec<Key>, children: &[u32], counts: &[u32]) {
        debug_assert_eq!(keys.len() + 1, children.len());
        for (i, key) in keys.into_iter().enumerate() {
            self.set_key(i, key);
        }
        self.children[..children.len()].copy_from_slice(children);
        self.counts[..counts.len()].copy_from_slice(counts);
        self.len = children.len();
    }
}
