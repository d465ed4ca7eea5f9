//! An indexable skip list of `(score, member)` pairs: every forward link records its span (how
//! many ranks it jumps), so finding a position by key or by rank costs O(log n) expected and
//! walking m neighbours from there costs O(m). Nodes live in one arena addressed by `u32`
//! indices (slot 0 is the head), which keeps the structure free of `unsafe` and of `Rc`.

use std::cmp::Ordering;

use bytes::Bytes;

/// Index meaning "no node".
const NIL: u32 = u32::MAX;
/// Arena slot of the head node, which holds no element.
const HEAD: u32 = 0;
/// Highest level a node can have (enough for 4^32 elements).
const MAX_LEVEL: usize = 32;

#[derive(Clone, Copy, Debug)]
struct Link {
    next: u32,
    /// Ranks from this node to `next` (to one past the end when `next` is `NIL`).
    span: u32,
    /// The score of `next`, so that a search step that stops here (most of them, on the way
    /// down) compares without loading the next node.
    score: f64,
}

/// A link to nowhere.
const END: Link = Link {
    next: NIL,
    span: 0,
    score: 0.0,
};

/// Levels kept inside the node; with a 1/4 chance per extra level, 99.6% of nodes need no
/// more, so a search step touches the node itself rather than a separate allocation.
const INLINE_LEVELS: usize = 4;

/// A node's forward links: the first [`INLINE_LEVELS`] inline, the rest on the heap.
#[derive(Clone, Debug)]
struct Links {
    inline: [Link; INLINE_LEVELS],
    more: Vec<Link>,
    len: usize,
}

impl Default for Links {
    fn default() -> Self {
        Links {
            inline: [END; INLINE_LEVELS],
            more: Vec::new(),
            len: 0,
        }
    }
}

impl Links {
    fn filled(levels: usize) -> Links {
        let mut links = Links::default();
        for _ in 0..levels {
            links.push(END);
        }
        links
    }

    fn push(&mut self, link: Link) {
        if self.len < INLINE_LEVELS {
            self.inline[self.len] = link;
        } else {
            self.more.push(link);
        }
        self.len += 1;
    }
}

impl std::ops::Index<usize> for Links {
    type Output = Link;
    fn index(&self, level: usize) -> &Link {
        debug_assert!(level < self.len);
        if level < INLINE_LEVELS {
            &self.inline[level]
        } else {
            &self.more[level - INLINE_LEVELS]
        }
    }
}

impl std::ops::IndexMut<usize> for Links {
    fn index_mut(&mut self, level: usize) -> &mut Link {
        debug_assert!(level < self.len);
        if level < INLINE_LEVELS {
            &mut self.inline[level]
        } else {
            &mut self.more[level - INLINE_LEVELS]
        }
    }
}

#[derive(Clone, Debug)]
struct Node {
    score: f64,
    member: Bytes,
    /// The previous node on level 0; `NIL` for the first element.
    prev: u32,
    links: Links,
}

/// The skip list. Ranks are 0-based; elements are unique `(score, member)` pairs ordered by
/// score, then by member bytes. Scores are never NaN.
#[derive(Clone, Debug)]
pub(crate) struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    tail: u32,
    len: usize,
    level: usize,
    rng: u64,
}

/// Orders `(score, member)` keys; scores compare as IEEE doubles, so `-0` equals `0`.
fn cmp_key(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score
        .partial_cmp(&b_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a_member.cmp(b_member))
}

impl Default for SkipList {
    fn default() -> Self {
        Self::new()
    }
}

impl SkipList {
    /// An empty list.
    pub(crate) fn new() -> Self {
        let head = Node {
            score: 0.0,
            member: Bytes::new(),
            prev: NIL,
            links: Links::filled(MAX_LEVEL),
        };
        SkipList {
            nodes: vec![head],
            free: Vec::new(),
            tail: NIL,
            len: 0,
            level: 1,
            // Seeded per list so that crafted inputs cannot force a degenerate shape.
            rng: rand::random::<u64>() | 1,
        }
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn random_level(&mut self) -> usize {
        // xorshift64; each level up has probability 1/4, as in Redis.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (1 + self.rng.trailing_zeros() as usize / 2).min(MAX_LEVEL)
    }

    fn link(&self, node: u32, level: usize) -> Link {
        self.nodes[node as usize].links[level]
    }

    fn link_mut(&mut self, node: u32, level: usize) -> &mut Link {
        &mut self.nodes[node as usize].links[level]
    }

    /// For each level, the last node before `(score, member)` and its 1-based rank (head = 0).
    fn predecessors(&self, score: f64, member: &[u8]) -> ([u32; MAX_LEVEL], [usize; MAX_LEVEL]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0usize; MAX_LEVEL];
        let mut x = HEAD;
        let mut traversed = 0;
        for i in (0..self.level).rev() {
            loop {
                let link = self.link(x, i);
                if link.next == NIL {
                    break;
                }
                match link.score.partial_cmp(&score) {
                    Some(Ordering::Less) => {}
                    Some(Ordering::Equal)
                        if self.nodes[link.next as usize].member[..] < *member => {}
                    _ => break,
                }
                traversed += link.span as usize;
                x = link.next;
            }
            update[i] = x;
            rank[i] = traversed;
        }
        (update, rank)
    }

    /// Inserts `(score, member)`, which must not be present.
    pub(crate) fn insert(&mut self, score: f64, member: Bytes) {
        let (mut update, mut rank) = self.predecessors(score, &member);
        let level = self.random_level();
        if level > self.level {
            for i in self.level..level {
                update[i] = HEAD;
                rank[i] = 0;
                self.link_mut(HEAD, i).span = self.len as u32;
            }
            self.level = level;
        }
        let node = Node {
            score,
            member,
            prev: if update[0] == HEAD { NIL } else { update[0] },
            links: Links::default(),
        };
        let x = match self.free.pop() {
            Some(slot) => {
                self.nodes[slot as usize] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        for i in 0..level {
            let before = self.link(update[i], i);
            let behind = (rank[0] - rank[i]) as u32;
            self.nodes[x as usize].links.push(Link {
                next: before.next,
                span: before.span - behind,
                score: before.score,
            });
            *self.link_mut(update[i], i) = Link {
                next: x,
                span: behind + 1,
                score,
            };
        }
        for (i, &node) in update.iter().enumerate().take(self.level).skip(level) {
            self.link_mut(node, i).span += 1;
        }
        match self.link(x, 0).next {
            NIL => self.tail = x,
            next => self.nodes[next as usize].prev = x,
        }
        self.len += 1;
    }

    /// Removes `(score, member)`; false when it is not present.
    pub(crate) fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let (update, _) = self.predecessors(score, member);
        let x = self.link(update[0], 0).next;
        if x == NIL {
            return false;
        }
        let n = &self.nodes[x as usize];
        if cmp_key(n.score, &n.member, score, member) != Ordering::Equal {
            return false;
        }
        for (i, &before) in update.iter().enumerate().take(self.level) {
            let link = self.link(before, i);
            if link.next == x {
                let gone = self.link(x, i);
                *self.link_mut(before, i) = Link {
                    next: gone.next,
                    span: link.span + gone.span - 1,
                    score: gone.score,
                };
            } else {
                self.link_mut(before, i).span -= 1;
            }
        }
        let prev = self.nodes[x as usize].prev;
        match self.link(x, 0).next {
            NIL => self.tail = prev,
            next => self.nodes[next as usize].prev = prev,
        }
        while self.level > 1 && self.link(HEAD, self.level - 1).next == NIL {
            self.level -= 1;
        }
        let node = &mut self.nodes[x as usize];
        node.member = Bytes::new();
        node.links = Links::default();
        self.free.push(x);
        self.len -= 1;
        true
    }

    /// How many leading elements satisfy `before`, a predicate that holds for a prefix of the
    /// order and fails for the rest: the rank where that prefix ends.
    pub(crate) fn count_while(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut x = HEAD;
        let mut rank = 0;
        for i in (0..self.level).rev() {
            loop {
                let link = self.link(x, i);
                if link.next == NIL {
                    break;
                }
                let n = &self.nodes[link.next as usize];
                if !before(n.score, &n.member) {
                    break;
                }
                rank += link.span as usize;
                x = link.next;
            }
        }
        rank
    }

    /// The arena slot of the element at `rank`.
    fn slot_at(&self, rank: usize) -> Option<u32> {
        if rank >= self.len {
            return None;
        }
        let target = rank + 1;
        let mut x = HEAD;
        let mut traversed = 0;
        for i in (0..self.level).rev() {
            loop {
                let link = self.link(x, i);
                if link.next == NIL || traversed + link.span as usize > target {
                    break;
                }
                traversed += link.span as usize;
                x = link.next;
            }
            if traversed == target {
                return Some(x);
            }
        }
        None
    }

    /// The element at `rank`.
    pub(crate) fn get(&self, rank: usize) -> Option<(&Bytes, f64)> {
        let n = &self.nodes[self.slot_at(rank)? as usize];
        Some((&n.member, n.score))
    }

    /// Walks the elements from `rank` on, towards the end (`rev` false) or the start (`rev`
    /// true).
    pub(crate) fn iter_from(&self, rank: usize, rev: bool) -> Iter<'_> {
        Iter {
            list: self,
            cur: self.slot_at(rank).unwrap_or(NIL),
            rev,
        }
    }

    /// The first element (lowest key).
    pub(crate) fn first(&self) -> Option<(&Bytes, f64)> {
        self.get(0)
    }

    /// The last element (highest key).
    pub(crate) fn last(&self) -> Option<(&Bytes, f64)> {
        (self.tail != NIL).then(|| {
            let n = &self.nodes[self.tail as usize];
            (&n.member, n.score)
        })
    }
}

/// Iterator over `(member, score)` in one direction; see [`SkipList::iter_from`].
pub(crate) struct Iter<'a> {
    list: &'a SkipList,
    cur: u32,
    rev: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Bytes, f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.cur == NIL {
            return None;
        }
        let n = &self.list.nodes[self.cur as usize];
        self.cur = if self.rev { n.prev } else { n.links[0].next };
        Some((&n.member, n.score))
    }
}
