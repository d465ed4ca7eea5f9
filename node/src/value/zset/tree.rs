//! An order-statistic (counted) B+tree of sorted-set elements, ordered by (score, member).
//!
//! The tree holds element ids (`u32` positions in the caller's [`Element`] slice) with their
//! scores; a tie in score is broken by the members' bytes, read from that slice. Leaves are
//! sorted arrays of up to [`LEAF_CAP`] `(score, id)` pairs, chained both ways for walks. An
//! inner node keeps, for each child, the number of elements below it, so finding the rank of a
//! key or the element at a rank costs O(log n), and separator keys of its own (a score and a
//! copy of the member: inline for members of up to 22 bytes), so the way down to a leaf reads
//! no element.
//! Separators are bounds, not elements: removing an element leaves them in place.
//!
//! Nodes live in two arenas addressed by `u32` (a child is a leaf when its parent sits just
//! above the leaves), which keeps the structure free of `unsafe`. Compared with a skip list
//! a search touches one node per level (about 4 for a million elements) instead of one per
//! step, and an element costs 12 bytes in a leaf instead of a node of its own.

#[cfg(test)]
use std::cmp::Ordering;

mod node;

use crate::value::CompactBytes;

use node::{Inner, Key, Leaf};

/// Most elements a leaf holds.
#[cfg(not(test))]
const LEAF_CAP: usize = 32;
/// Small nodes in tests, so that a few hundred elements build a deep tree.
#[cfg(test)]
const LEAF_CAP: usize = 4;
/// Most children an inner node holds.
#[cfg(not(test))]
const FANOUT: usize = 32;
#[cfg(test)]
const FANOUT: usize = 6;
/// A leaf below this size (but the root) is merged with or refilled from a neighbour.
const LEAF_MIN: usize = LEAF_CAP / 3;
/// An inner node with fewer children (but the root) is merged with or refilled from a
/// neighbour; so a tree of n elements is at most about `log_(FANOUT/3)(n)` levels deep.
const INNER_MIN: usize = FANOUT / 3;
/// Deepest tree the fixed path arrays allow: far beyond 2^32 elements at the minimum fanout.
const MAX_HEIGHT: usize = 40;
/// Index meaning "no node".
const NIL: u32 = u32::MAX;

/// One element as the tree's owner stores it: the tree reads `member` to break ties.
#[derive(Clone, Debug)]
pub(crate) struct Element {
    pub(crate) member: CompactBytes,
    pub(crate) score: f64,
}

/// Orders `(score, member)` keys; scores compare as IEEE doubles, so `-0` equals `0`. The
/// searches inline this order, comparing members only on equal scores.
#[cfg(test)]
fn cmp_key(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score
        .partial_cmp(&b_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a_member.cmp(b_member))
}

/// The way down from the root: each inner node passed and the child taken.
struct Path {
    nodes: [u32; MAX_HEIGHT],
    slots: [usize; MAX_HEIGHT],
    len: usize,
}

impl Path {
    fn new() -> Path {
        Path {
            nodes: [NIL; MAX_HEIGHT],
            slots: [0; MAX_HEIGHT],
            len: 0,
        }
    }

    fn push(&mut self, node: u32, slot: usize) {
        self.nodes[self.len] = node;
        self.slots[self.len] = slot;
        self.len += 1;
    }

    fn pop(&mut self) -> Option<(u32, usize)> {
        self.len = self.len.checked_sub(1)?;
        Some((self.nodes[self.len], self.slots[self.len]))
    }
}

/// Where an element sits: its leaf and its position there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Cursor {
    leaf: u32,
    pos: usize,
}

/// The tree. Ranks are 0-based. Scores are never NaN; every `(score, member)` is unique.
#[derive(Clone, Debug)]
pub(crate) struct Tree {
    leaves: Vec<Leaf>,
    inners: Vec<Inner>,
    free_leaves: Vec<u32>,
    free_inners: Vec<u32>,
    root: u32,
    /// Inner levels above the leaves (0: the root is a leaf).
    height: usize,
    len: usize,
    first: u32,
    last: u32,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            leaves: vec![Leaf::empty()],
            inners: Vec::new(),
            free_leaves: Vec::new(),
            free_inners: Vec::new(),
            root: 0,
            height: 0,
            len: 0,
            first: 0,
            last: 0,
        }
    }
}

impl Tree {
    /// Number of elements (the owner counts its own; the checks compare).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes held on the heap by the nodes (not by the elements' members).
    pub(crate) fn heap_bytes(&self) -> usize {
        let keys: usize = self
            .inners
            .iter()
            .flat_map(|n| &n.key_members[..n.len.saturating_sub(1)])
            .filter(|m| m.is_heap())
            .map(|m| m.len())
            .sum();
        self.leaves.capacity() * std::mem::size_of::<Leaf>()
            + self.inners.capacity() * std::mem::size_of::<Inner>()
            + (self.free_leaves.capacity() + self.free_inners.capacity()) * 4
            + keys
    }

    fn new_leaf(&mut self) -> u32 {
        match self.free_leaves.pop() {
            Some(id) => id,
            None => {
                self.leaves.push(Leaf::empty());
                (self.leaves.len() - 1) as u32
            }
        }
    }

    fn new_inner(&mut self) -> u32 {
        match self.free_inners.pop() {
            Some(id) => id,
            None => {
                self.inners.push(Inner::empty());
                (self.inners.len() - 1) as u32
            }
        }
    }

    fn free_leaf(&mut self, leaf: u32) {
        self.leaves[leaf as usize] = Leaf::empty();
        self.free_leaves.push(leaf);
    }

    fn free_inner(&mut self, inner: u32) {
        self.inners[inner as usize] = Inner::empty();
        self.free_inners.push(inner);
    }

    /// The separator naming the first element of `leaf`.
    fn first_key(&self, leaf: u32, elements: &[Element]) -> Key {
        let l = &self.leaves[leaf as usize];
        Key {
            score: l.scores[0],
            member: elements[l.ids[0] as usize].member.clone(),
        }
    }

    /// Walks down to the leaf whose range holds `(score, member)`, recording the way.
    fn descend(&self, score: f64, member: &[u8], path: &mut Path) -> u32 {
        let mut node = self.root;
        for _ in 0..self.height {
            let inner = &self.inners[node as usize];
            let c = inner.child_for(score, member);
            path.push(node, c);
            node = inner.children[c];
        }
        node
    }

    /// Inserts element `id` (present in `elements`, not yet in the tree) with `score`.
    pub(crate) fn insert(&mut self, score: f64, id: u32, elements: &[Element]) {
        let member = elements[id as usize].member.as_slice();
        let mut path = Path::new();
        let leaf = self.descend(score, member, &mut path);
        for i in 0..path.len {
            self.inners[path.nodes[i] as usize].counts[path.slots[i]] += 1;
        }
        self.len += 1;
        let l = &mut self.leaves[leaf as usize];
        let pos = l.lower_bound(score, member, elements);
        if l.len() < LEAF_CAP {
            l.insert_at(pos, score, id);
            return;
        }
        // Split the full leaf. An append at the very end (ascending inserts, a loaded
        // snapshot) leaves the old leaf full and starts a new one, so such sets fill every
        // leaf; any other split shares the elements evenly.
        let mut all = [(0.0, 0u32); LEAF_CAP + 1];
        for (slot, pair) in all.iter_mut().zip(l.pairs()) {
            *slot = pair;
        }
        all.copy_within(pos..LEAF_CAP, pos + 1);
        all[pos] = (score, id);
        let keep = if pos == LEAF_CAP && l.next == NIL {
            LEAF_CAP
        } else {
            all.len() / 2
        };
        let old_next = l.next;
        l.fill(&all[..keep]);
        let right = self.new_leaf();
        let r = &mut self.leaves[right as usize];
        r.fill(&all[keep..]);
        r.prev = leaf;
        r.next = old_next;
        self.leaves[leaf as usize].next = right;
        match old_next {
            NIL => self.last = right,
            next => self.leaves[next as usize].prev = right,
        }
        let key = self.first_key(right, elements);
        let appended = keep == LEAF_CAP;
        self.push_up(
            &mut path,
            leaf,
            right,
            key,
            keep,
            all.len() - keep,
            appended,
        );
    }

    /// After `left` split off `right` (with `key` between them), links `right` into the parents,
    /// splitting them in turn while they are full. `appended` says the split added at the end.
    #[allow(clippy::too_many_arguments)]
    fn push_up(
        &mut self,
        path: &mut Path,
        mut left: u32,
        mut right: u32,
        mut key: Key,
        mut left_count: usize,
        mut right_count: usize,
        mut appended: bool,
    ) {
        // Whether each node on the path is the last at its level.
        let mut rightmost = [false; MAX_HEIGHT];
        let mut edge = true;
        for (i, last) in rightmost.iter_mut().enumerate().take(path.len) {
            *last = edge;
            edge &= path.slots[i] + 1 == self.inners[path.nodes[i] as usize].len;
        }
        while let Some((parent, c)) = path.pop() {
            let p = &mut self.inners[parent as usize];
            p.counts[c] = left_count as u32;
            if p.len < FANOUT {
                p.insert_child(c + 1, key, right, right_count as u32);
                return;
            }
            let (mut keys, mut children, mut counts) = p.take();
            keys.insert(c, key);
            children.insert(c + 1, right);
            counts.insert(c + 1, right_count as u32);
            let at_end = appended && c + 1 == FANOUT && rightmost[path.len];
            // At the end, the new node takes the last two children: one would leave a leaf
            // with no neighbour to mend it with.
            let keep = if at_end {
                FANOUT - 1
            } else {
                children.len() / 2
            };
            let right_keys = keys.split_off(keep);
            key = keys.pop().expect("a separator before the right half");
            let (right_children, right_counts) = (children.split_off(keep), counts.split_off(keep));
            left_count = counts.iter().map(|&n| n as usize).sum();
            right_count = right_counts.iter().map(|&n| n as usize).sum();
            self.inners[parent as usize].fill(keys, &children, &counts);
            let new = self.new_inner();
            self.inners[new as usize].fill(right_keys, &right_children, &right_counts);
            left = parent;
            right = new;
            appended = at_end;
        }
        let root = self.new_inner();
        let r = &mut self.inners[root as usize];
        r.fill(
            vec![key],
            &[left, right],
            &[left_count as u32, right_count as u32],
        );
        self.root = root;
        self.height += 1;
    }

    /// Finds `(score, member)`: its place, and the way down to it.
    fn find(
        &self,
        score: f64,
        member: &[u8],
        elements: &[Element],
        path: &mut Path,
    ) -> Option<Cursor> {
        let leaf = self.descend(score, member, path);
        let l = &self.leaves[leaf as usize];
        let pos = l.lower_bound(score, member, elements);
        let found = pos < l.len()
            && l.scores[pos] == score
            && elements[l.ids[pos] as usize].member.as_slice() == member;
        found.then_some(Cursor { leaf, pos })
    }

    /// The rank of `(score, member)`, if present.
    pub(crate) fn rank(&self, score: f64, member: &[u8], elements: &[Element]) -> Option<usize> {
        let mut path = Path::new();
        let at = self.find(score, member, elements, &mut path)?;
        let above: usize = (0..path.len)
            .map(|i| self.inners[path.nodes[i] as usize].count_before(path.slots[i]))
            .sum();
        Some(above + at.pos)
    }

    /// Gives element `(score, member)` the id `id` (its owner moved it); false when absent.
    pub(crate) fn relabel(
        &mut self,
        score: f64,
        member: &[u8],
        id: u32,
        elements: &[Element],
    ) -> bool {
        let Some(at) = self.find(score, member, elements, &mut Path::new()) else {
            return false;
        };
        self.leaves[at.leaf as usize].ids[at.pos] = id;
        true
    }

    /// Removes `(score, member)`; false when absent.
    pub(crate) fn remove(&mut self, score: f64, member: &[u8], elements: &[Element]) -> bool {
        let mut path = Path::new();
        let Some(at) = self.find(score, member, elements, &mut path) else {
            return false;
        };
        self.remove_found(at, &mut path, elements);
        true
    }

    /// Removes the element at `at`, reached by `path`.
    fn remove_found(&mut self, at: Cursor, path: &mut Path, elements: &[Element]) {
        for i in 0..path.len {
            self.inners[path.nodes[i] as usize].counts[path.slots[i]] -= 1;
        }
        self.len -= 1;
        self.leaves[at.leaf as usize].remove_at(at.pos);
        if self.leaves[at.leaf as usize].len() < LEAF_MIN {
            self.rebalance(path, elements);
        }
    }

    /// Moves element `(old, member)` to score `new` (a different score). When the new place
    /// lies between two other elements of the same leaf (a small `ZINCRBY`), the element
    /// slides within the leaf and nothing above it changes; otherwise it is removed and
    /// inserted again. False when the element is absent.
    pub(crate) fn rescore(
        &mut self,
        old: f64,
        new: f64,
        member: &[u8],
        elements: &[Element],
    ) -> bool {
        let mut path = Path::new();
        let Some(at) = self.find(old, member, elements, &mut path) else {
            return false;
        };
        let l = &mut self.leaves[at.leaf as usize];
        let id = l.ids[at.pos];
        // The new place among the leaf's other elements.
        let pos = l.lower_bound(new, member, elements);
        let to = if pos > at.pos { pos - 1 } else { pos };
        if to > 0 && to + 1 < l.len() {
            l.remove_at(at.pos);
            l.insert_at(to, new, id);
            return true;
        }
        self.remove_found(at, &mut path, elements);
        self.insert(new, id, elements);
        true
    }

    /// Mends an underfull node at the end of `path` (a leaf, then inner nodes up the path) by
    /// merging it with a neighbour or sharing the neighbour's elements.
    fn rebalance(&mut self, path: &mut Path, elements: &[Element]) {
        let mut leaves = true;
        while let Some((parent, c)) = path.pop() {
            // Pair the node with its left neighbour, or its right one when it is the first.
            let i = if c > 0 { c - 1 } else { c };
            if self.inners[parent as usize].len < 2 {
                break;
            }
            if leaves {
                self.mend_leaves(parent, i, elements);
            } else {
                self.mend_inners(parent, i);
            }
            leaves = false;
            let p = &self.inners[parent as usize];
            if path.len > 0 && p.len >= INNER_MIN {
                return;
            }
        }
        // The root: an inner node with one child gives way to that child.
        while self.height > 0 && self.inners[self.root as usize].len == 1 {
            let old = self.root;
            self.root = self.inners[old as usize].children[0];
            self.free_inner(old);
            self.height -= 1;
        }
    }

    /// Merges leaf children `i` and `i + 1` of `parent`, or evens them out when both do not
    /// fit in one leaf.
    fn mend_leaves(&mut self, parent: u32, i: usize, elements: &[Element]) {
        let p = &self.inners[parent as usize];
        let (a, b) = (p.children[i], p.children[i + 1]);
        let mut all: Vec<(f64, u32)> = Vec::with_capacity(2 * LEAF_CAP);
        all.extend(self.leaves[a as usize].pairs());
        all.extend(self.leaves[b as usize].pairs());
        if all.len() <= LEAF_CAP {
            let next = self.leaves[b as usize].next;
            let l = &mut self.leaves[a as usize];
            l.fill(&all);
            l.next = next;
            match next {
                NIL => self.last = a,
                next => self.leaves[next as usize].prev = a,
            }
            self.free_leaf(b);
            let p = &mut self.inners[parent as usize];
            p.counts[i] = all.len() as u32;
            p.remove_child(i + 1);
            return;
        }
        let half = all.len() / 2;
        self.leaves[a as usize].fill(&all[..half]);
        self.leaves[b as usize].fill(&all[half..]);
        let key = self.first_key(b, elements);
        let p = &mut self.inners[parent as usize];
        p.set_key(i, key);
        p.counts[i] = half as u32;
        p.counts[i + 1] = (all.len() - half) as u32;
    }

    /// Merges inner children `i` and `i + 1` of `parent`, or evens them out.
    fn mend_inners(&mut self, parent: u32, i: usize) {
        let (a, b) = {
            let p = &self.inners[parent as usize];
            (p.children[i], p.children[i + 1])
        };
        let (mut keys, mut children, mut counts) = self.inners[a as usize].take();
        let (right_keys, right_children, right_counts) = self.inners[b as usize].take();
        keys.push(self.inners[parent as usize].take_key(i));
        keys.extend(right_keys);
        children.extend(right_children);
        counts.extend(right_counts);
        if children.len() <= FANOUT {
            let total = counts.iter().sum();
            self.inners[a as usize].fill(keys, &children, &counts);
            self.free_inner(b);
            let p = &mut self.inners[parent as usize];
            p.counts[i] = total;
            p.remove_child(i + 1);
            return;
        }
        let half = children.len() / 2;
        let right_keys = keys.split_off(half);
        let key = keys.pop().expect("a separator between the halves");
        let (right_children, right_counts) = (children.split_off(half), counts.split_off(half));
        let (left_total, right_total) = (counts.iter().sum(), right_counts.iter().sum());
        self.inners[a as usize].fill(keys, &children, &counts);
        self.inners[b as usize].fill(right_keys, &right_children, &right_counts);
        let p = &mut self.inners[parent as usize];
        p.set_key(i, key);
        p.counts[i] = left_total;
        p.counts[i + 1] = right_total;
    }

    /// How many leading elements satisfy `before`, a predicate that holds for a prefix of the
    /// (score, member) order and fails after it: the rank where that prefix ends.
    pub(crate) fn count_while(
        &self,
        elements: &[Element],
        before: impl Fn(f64, &[u8]) -> bool,
    ) -> usize {
        let mut node = self.root;
        let mut rank = 0;
        for _ in 0..self.height {
            let inner = &self.inners[node as usize];
            // A separator is a bound of the keys on either side, so `before` holding for it
            // means it holds for every element left of it.
            let (mut c, mut hi) = (0, inner.len - 1);
            while c < hi {
                let mid = (c + hi) / 2;
                if before(inner.key_scores[mid], &inner.key_members[mid]) {
                    c = mid + 1;
                } else {
                    hi = mid;
                }
            }
            rank += inner.count_before(c);
            node = inner.children[c];
        }
        let l = &self.leaves[node as usize];
        let (mut lo, mut hi) = (0, l.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if before(l.scores[mid], &elements[l.ids[mid] as usize].member) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        rank + lo
    }

    /// Where the element at `rank` sits, if `rank` is below the length.
    pub(crate) fn cursor_at(&self, rank: usize) -> Option<Cursor> {
        if rank >= self.len {
            return None;
        }
        let mut node = self.root;
        let mut rest = rank;
        for _ in 0..self.height {
            let inner = &self.inners[node as usize];
            let mut c = 0;
            while rest >= inner.counts[c] as usize {
                rest -= inner.counts[c] as usize;
                c += 1;
            }
            node = inner.children[c];
        }
        Some(Cursor {
            leaf: node,
            pos: rest,
        })
    }

    /// The first element's place.
    pub(crate) fn first(&self) -> Option<Cursor> {
        (self.len > 0).then_some(Cursor {
            leaf: self.first,
            pos: 0,
        })
    }

    /// The last element's place.
    pub(crate) fn last(&self) -> Option<Cursor> {
        (self.len > 0).then(|| Cursor {
            leaf: self.last,
            pos: self.leaves[self.last as usize].len() - 1,
        })
    }

    /// The `(score, id)` at `at`.
    pub(crate) fn get(&self, at: Cursor) -> (f64, u32) {
        let l = &self.leaves[at.leaf as usize];
        (l.scores[at.pos], l.ids[at.pos])
    }

    /// The place after `at` (`rev` false) or before it (`rev` true), if any.
    pub(crate) fn step(&self, at: Cursor, rev: bool) -> Option<Cursor> {
        let l = &self.leaves[at.leaf as usize];
        if rev {
            if at.pos > 0 {
                return Some(Cursor {
                    leaf: at.leaf,
                    pos: at.pos - 1,
                });
            }
            (l.prev != NIL).then(|| Cursor {
                leaf: l.prev,
                pos: self.leaves[l.prev as usize].len() - 1,
            })
        } else if at.pos + 1 < l.len() {
            Some(Cursor {
                leaf: at.leaf,
                pos: at.pos + 1,
            })
        } else {
            (l.next != NIL).then_some(Cursor {
                leaf: l.next,
                pos: 0,
            })
        }
    }
}

#[cfg(test)]
mod check;
#[cfg(test)]
mod tests;
