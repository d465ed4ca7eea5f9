//! Property tests of [`Tree`] against a model: a `Vec` sorted by (score, member). The tests
//! build with small nodes (4 elements a leaf, 6 children an inner node), so a hundred
//! elements already make a tree of several levels with every split and merge path.

use std::cmp::Ordering;

use proptest::prelude::*;

use super::{cmp_key, Element, Tree};
use crate::value::CompactBytes;

/// The tree with its elements, kept as the sorted set keeps them: removal moves the last
/// element into the hole and relabels it in the tree.
#[derive(Default)]
struct Harness {
    tree: Tree,
    elements: Vec<Element>,
    /// The model: `(score, member)` sorted.
    model: Vec<(f64, Vec<u8>)>,
}

fn model_cmp(a: &(f64, Vec<u8>), b: &(f64, Vec<u8>)) -> Ordering {
    cmp_key(a.0, &a.1, b.0, &b.1)
}

impl Harness {
    fn insert(&mut self, member: &[u8], score: f64) {
        if let Some(i) = self.elements.iter().position(|e| &e.member[..] == member) {
            let old = self.elements[i].score;
            if old != score {
                assert!(self.tree.rescore(old, score, member, &self.elements));
                self.elements[i].score = score;
                let at = self.model.iter().position(|(_, m)| m == member).unwrap();
                self.model.remove(at);
                let key = (score, member.to_vec());
                let at = self
                    .model
                    .partition_point(|x| model_cmp(x, &key) == Ordering::Less);
                self.model.insert(at, key);
            }
            return;
        }
        let id = self.elements.len() as u32;
        self.elements.push(Element {
            member: CompactBytes::from(member),
            score,
        });
        self.tree.insert(score, id, &self.elements);
        let rank = self.tree.rank(score, member, &self.elements);
        let key = (score, member.to_vec());
        let at = self
            .model
            .partition_point(|x| model_cmp(x, &key) == Ordering::Less);
        self.model.insert(at, key);
        assert_eq!(rank, Some(at), "rank of an inserted element");
    }

    fn remove(&mut self, member: &[u8]) {
        let Some(gone) = self.elements.iter().position(|e| &e.member[..] == member) else {
            assert!(!self.tree.remove(0.0, member, &self.elements));
            return;
        };
        let score = self.elements[gone].score;
        let at = self
            .model
            .iter()
            .position(|(_, m)| m == member)
            .expect("in the model");
        self.model.remove(at);
        assert_eq!(self.tree.rank(score, member, &self.elements), Some(at));
        assert!(self.tree.remove(score, member, &self.elements));
        assert!(!self.tree.remove(score, member, &self.elements));
        let last = self.elements.len() - 1;
        if gone != last {
            let moved = self.elements[last].clone();
            assert!(self
                .tree
                .relabel(moved.score, &moved.member, gone as u32, &self.elements));
        }
        self.elements.swap_remove(gone);
    }

    /// The elements from rank `rank`, `n` of them, ascending or descending.
    fn walk(&self, rank: usize, rev: bool, n: usize) -> Vec<(f64, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = self.tree.cursor_at(rank);
        while let Some(c) = at.filter(|_| out.len() < n) {
            let (score, id) = self.tree.get(c);
            out.push((score, self.elements[id as usize].member.to_vec()));
            at = self.tree.step(c, rev);
        }
        out
    }

    fn check(&self) {
        self.tree.check(&self.elements);
        assert_eq!(self.tree.len(), self.model.len());
        assert_eq!(self.walk(0, false, usize::MAX), self.model);
        if let Some(last) = self.model.len().checked_sub(1) {
            let mut back = self.model.clone();
            back.reverse();
            assert_eq!(self.walk(last, true, usize::MAX), back);
        }
        let first = self.tree.first().map(|c| self.tree.get(c).0);
        let last = self.tree.last().map(|c| self.tree.get(c).0);
        assert_eq!(first, self.model.first().map(|x| x.0));
        assert_eq!(last, self.model.last().map(|x| x.0));
    }
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u8, i8),
    Remove(u8),
    Rank(u8),
    Walk(u8, bool, u8),
    Below(i8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..120, -6i8..6).prop_map(|(m, s)| Op::Insert(m, s)),
        3 => (0u8..120).prop_map(Op::Remove),
        1 => (0u8..120).prop_map(Op::Rank),
        1 => (any::<u8>(), any::<bool>(), 0u8..20).prop_map(|(r, rev, n)| Op::Walk(r, rev, n)),
        1 => (-7i8..7, 0u8..120).prop_map(|(s, m)| Op::Below(s, m)),
    ]
}

/// Members of varying lengths, some longer than the 22 bytes kept inline.
fn member(m: u8) -> Vec<u8> {
    let mut v = format!("m{m:03}").into_bytes();
    if m % 7 == 0 {
        v.extend_from_slice(&[b'x'; 30]);
    }
    v
}

/// Small integral scores, with `-6` drawn as `-0`, which must order as `0`.
fn score(s: i8) -> f64 {
    if s == -6 {
        -0.0
    } else {
        f64::from(s)
    }
}

proptest! {
    #[test]
    fn matches_sorted_vec(ops in proptest::collection::vec(op(), 0..400)) {
        let mut h = Harness::default();
        for op in ops {
            match op {
                Op::Insert(m, s) => h.insert(&member(m), score(s)),
                Op::Remove(m) => h.remove(&member(m)),
                Op::Rank(m) => {
                    let m = member(m);
                    let want = h.model.iter().position(|(_, x)| *x == m);
                    let s = h.elements.iter().find(|e| e.member[..] == m[..]).map(|e| e.score);
                    let got = s.and_then(|s| h.tree.rank(s, &m, &h.elements));
                    prop_assert_eq!(got, want);
                    // A score that is not the member's finds nothing.
                    prop_assert_eq!(h.tree.rank(99.0, &m, &h.elements), None);
                }
                Op::Walk(r, rev, n) => {
                    let r = r as usize;
                    let want: Vec<_> = if rev {
                        h.model.iter().take(r + 1).rev().take(n as usize).cloned().collect()
                    } else {
                        h.model.iter().skip(r).take(n as usize).cloned().collect()
                    };
                    let want = if r < h.model.len() { want } else { Vec::new() };
                    prop_assert_eq!(h.walk(r, rev, n as usize), want);
                }
                Op::Below(s, m) => {
                    let key = (f64::from(s), member(m));
                    let want = h.model.partition_point(|x| model_cmp(x, &key) == Ordering::Less);
                    let got = h.tree.count_while(&h.elements, |score, member| {
                        cmp_key(score, member, key.0, &key.1) == Ordering::Less
                    });
                    prop_assert_eq!(got, want);
                    let by_score = h.model.partition_point(|x| x.0 <= key.0);
                    prop_assert_eq!(h.tree.count_while(&h.elements, |score, _| score <= key.0), by_score);
                }
            }
            h.check();
        }
    }
}

#[test]
fn ascending_inserts_fill_the_leaves_and_removals_empty_the_tree() {
    let mut h = Harness::default();
    for i in 0..600u32 {
        h.insert(format!("e{i:05}").as_bytes(), f64::from(i));
    }
    h.check();
    // Every leaf but the last is full.
    let used: usize = h.tree.leaves.len() - h.tree.free_leaves.len();
    assert_eq!(used, 600usize.div_ceil(super::LEAF_CAP));
    // Remove in a scattered order, checking as the tree shrinks back to one leaf.
    for k in 0..600u32 {
        let i = (k * 7919) % 600;
        h.remove(format!("e{i:05}").as_bytes());
        if k % 37 == 0 {
            h.check();
        }
    }
    h.check();
    assert_eq!(h.tree.len(), 0);
    assert_eq!(h.tree.height, 0);
}

#[test]
fn descending_and_equal_score_inserts() {
    let mut h = Harness::default();
    for i in (0..300u32).rev() {
        h.insert(format!("d{i:04}").as_bytes(), f64::from(i % 3));
    }
    h.check();
    for i in 0..300u32 {
        h.insert(format!("d{i:04}").as_bytes(), 0.0);
    }
    h.check();
    // All scores equal: the order is the members' bytes.
    let members: Vec<Vec<u8>> = h
        .walk(0, false, usize::MAX)
        .into_iter()
        .map(|x| x.1)
        .collect();
    let mut sorted = members.clone();
    sorted.sort();
    assert_eq!(members, sorted);
}

#[test]
fn score_changes_within_a_leaf_and_across_leaves() {
    let mut h = Harness::default();
    for (i, m) in ["a", "b", "c", "d"].iter().enumerate() {
        h.insert(m.as_bytes(), i as f64);
    }
    assert_eq!(h.tree.height, 0, "one leaf holds four elements");
    // b slides between c and d: the same leaf, no split.
    h.insert(b"b", 2.5);
    h.check();
    let order: Vec<Vec<u8>> = h.walk(0, false, 9).into_iter().map(|x| x.1).collect();
    assert_eq!(order, [&b"a"[..], b"c", b"b", b"d"]);
    // a moves past the end: removed and inserted again.
    h.insert(b"a", 9.0);
    h.check();
    assert_eq!(h.walk(3, false, 1), [(9.0, b"a".to_vec())]);
    // Across a deeper tree, every change keeps the order.
    for i in 0..200u32 {
        h.insert(format!("k{i:03}").as_bytes(), f64::from(i % 17));
    }
    for i in 0..200u32 {
        h.insert(format!("k{i:03}").as_bytes(), f64::from(i % 17) + 0.5);
        h.insert(format!("k{i:03}").as_bytes(), -f64::from(i));
    }
    h.check();
}
