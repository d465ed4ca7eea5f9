//! List values, in Redis 7.2's two encodings: a small list is a `listpack` (one packed
//! [`Chunk`] sized to the allocator's class of its bytes); one that outgrows `list-max-listpack-size` (default -2: 8 KB) is a
//! `quicklist`, a deque of packed chunks of at most 8 KB each. A `quicklist` left with one
//! chunk of at most half the limit turns back into a `listpack` (`listTypeTryConversion`).
//! Positions are 0-based from the head.

mod chunk;

use std::collections::VecDeque;

use bytes::Bytes;

use chunk::{entry_size, Chunk};

/// Bytes a node may hold under Redis's default `list-max-listpack-size -2`.
const NODE_BYTES: usize = 8 * 1024;
/// Bytes Redis counts for a listpack's header and end mark.
const PACK_OVERHEAD: usize = 7;

/// A list.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ListValue {
    repr: Repr,
}

#[derive(Clone, Debug, PartialEq)]
enum Repr {
    /// `listpack`: one chunk.
    Pack(Chunk),
    /// `quicklist`: chunks head first, none empty, each within [`NODE_BYTES`] unless it holds a
    /// single bigger element.
    Quick(Quick),
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Quick {
    chunks: VecDeque<Chunk>,
    len: usize,
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Pack(Chunk::default())
    }
}

/// True when a node of `bytes` bytes of entries is over the limit.
fn over(bytes: usize) -> bool {
    bytes + PACK_OVERHEAD > NODE_BYTES
}

impl ListValue {
    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(c) => c.len(),
            Repr::Quick(q) => q.len,
        }
    }

    /// True when the list is empty (the key must then be removed).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the heap allocations behind the list: every chunk's buffer and the quicklist's
    /// deque of chunks, at the allocator's size classes (for `MEMORY USAGE`).
    pub(crate) fn heap_bytes(&self) -> usize {
        let chunks: usize = self.slices().map(Chunk::heap_bytes).sum();
        let deque = match &self.repr {
            Repr::Pack(_) => 0,
            Repr::Quick(q) => {
                let bytes = q.chunks.capacity() * std::mem::size_of::<Chunk>();
                std::alloc::Layout::array::<u8>(bytes).map_or(bytes, crate::memory::size_class)
            }
        };
        chunks + deque
    }

    /// `listpack` or `quicklist`.
    pub(crate) fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Quick(_) => "quicklist",
        }
    }

    fn slices(&self) -> impl DoubleEndedIterator<Item = &Chunk> {
        let (a, b): (&[Chunk], &[Chunk]) = match &self.repr {
            Repr::Pack(c) => (std::slice::from_ref(c), &[]),
            Repr::Quick(q) => q.chunks.as_slices(),
        };
        a.iter().chain(b.iter())
    }

    /// Turns a `listpack` grown past the limit into a `quicklist`.
    fn grow(&mut self) {
        if let Repr::Pack(c) = &mut self.repr {
            if !over(c.bytes()) {
                return;
            }
            let mut whole = std::mem::take(c);
            let len = whole.len();
            let mut chunks = VecDeque::new();
            while !whole.is_empty_chunk() {
                let keep = whole.prefix_within(NODE_BYTES - PACK_OVERHEAD).max(1);
                let rest = whole.split_off(keep);
                chunks.push_back(std::mem::replace(&mut whole, rest));
            }
            // Most lists that convert stay at two or three chunks: no spare slots.
            chunks.shrink_to_fit();
            self.repr = Repr::Quick(Quick { chunks, len });
        }
    }

    /// Turns a `quicklist` left with one small chunk back into a `listpack`, and drops empty
    /// chunks.
    fn shrink(&mut self) {
        if let Repr::Quick(q) = &mut self.repr {
            q.chunks.retain(|c| c.len() > 0);
            if q.chunks.len() <= 1 {
                let mut c = q.chunks.pop_front().unwrap_or_default();
                if c.len() == 0 || !over(c.bytes() * 2) {
                    c.shrink();
                    self.repr = Repr::Pack(c);
                } else {
                    q.chunks.push_back(c);
                }
            }
        }
    }

    /// Splits quicklist chunk `ci` if it went over the limit.
    fn split(&mut self, ci: usize) {
        if let Repr::Quick(q) = &mut self.repr {
            let c = &mut q.chunks[ci];
            if over(c.bytes()) && c.len() > 1 {
                let half = c.len() / 2;
                let tail = c.split_off(half);
                q.chunks.insert(ci + 1, tail);
            }
        }
    }

    /// The chunk holding position `at` (< len) and the position inside it.
    fn locate(&self, mut at: usize) -> (usize, usize) {
        for (ci, c) in self.slices().enumerate() {
            if at < c.len() {
                return (ci, at);
            }
            at -= c.len();
        }
        (self.slices().count(), 0)
    }

    fn chunk_mut(&mut self, ci: usize) -> &mut Chunk {
        match &mut self.repr {
            Repr::Pack(c) => c,
            Repr::Quick(q) => &mut q.chunks[ci],
        }
    }

    fn is_listpack(&self) -> bool {
        matches!(self.repr, Repr::Pack(_))
    }

    fn add_len(&mut self, n: isize) {
        if let Repr::Quick(q) = &mut self.repr {
            q.len = q.len.wrapping_add_signed(n);
        }
    }

    /// Adds `item` at the head (`left`) or the tail.
    pub(crate) fn push(&mut self, item: impl AsRef<[u8]>, left: bool) {
        let item = item.as_ref();
        match &mut self.repr {
            Repr::Pack(c) => {
                c.push(item, left);
                self.grow();
            }
            Repr::Quick(q) => {
                let end = if left {
                    q.chunks.front_mut()
                } else {
                    q.chunks.back_mut()
                };
                match end {
                    Some(c) if !over(c.bytes() + entry_size(item.len())) => c.push(item, left),
                    end => {
                        if let Some(c) = end {
                            c.shrink();
                        }
                        let mut c = Chunk::default();
                        c.push(item, left);
                        if left {
                            q.chunks.push_front(c);
                        } else {
                            q.chunks.push_back(c);
                        }
                    }
                }
                q.len += 1;
            }
        }
    }

    /// Removes and returns up to `count` elements from the head (`left`) or the tail, in pop
    /// order.
    pub(crate) fn pop(&mut self, left: bool, count: usize) -> Vec<Bytes> {
        let count = count.min(self.len());
        let mut out = Vec::with_capacity(count);
        match &mut self.repr {
            Repr::Pack(c) => {
                for _ in 0..count {
                    out.extend(c.pop(left).map(Bytes::from));
                }
                c.shrink();
            }
            Repr::Quick(q) => {
                while out.len() < count {
                    let end = if left {
                        q.chunks.front_mut()
                    } else {
                        q.chunks.back_mut()
                    };
                    let Some(c) = end else { break };
                    out.extend(c.pop(left).map(Bytes::from));
                    if c.len() == 0 {
                        if left {
                            q.chunks.pop_front();
                        } else {
                            q.chunks.pop_back();
                        }
                    }
                }
                q.len -= out.len();
                // Emptied end chunks are gone already: only a last chunk may turn back into a
                // listpack, so the walk over every chunk in `shrink` is not needed here.
                if q.chunks.len() <= 1 {
                    self.shrink();
                }
            }
        }
        out
    }

    /// The position of Redis index `index` (negative counts from the tail), if in range.
    pub(crate) fn position(&self, index: i64) -> Option<usize> {
        let len = self.len() as i64;
        let at = if index < 0 { len + index } else { index };
        (0..len).contains(&at).then_some(at as usize)
    }

    /// The inclusive positions a Redis `start..=stop` range (negative indexes count from the
    /// tail) covers, clamped to the list; `None` when the range is empty.
    pub(crate) fn range(&self, start: i64, stop: i64) -> Option<(usize, usize)> {
        let len = self.len() as i64;
        let start = if start < 0 {
            (len + start).max(0)
        } else {
            start
        };
        let stop = if stop < 0 {
            len + stop
        } else {
            stop.min(len - 1)
        };
        (start <= stop && start < len).then_some((start as usize, stop as usize))
    }

    /// The element at position `at`.
    pub(crate) fn get(&self, at: usize) -> Option<&[u8]> {
        let (ci, i) = self.locate(at);
        self.slices().nth(ci)?.get(i)
    }

    /// All elements, head first (reversible).
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> {
        self.slices().flat_map(|c| c.iter_from(0))
    }

    /// Up to `count` elements from position `from` on, head first.
    pub(crate) fn iter_from(&self, from: usize, count: usize) -> impl Iterator<Item = &[u8]> {
        let (ci, i) = self.locate(from);
        self.slices()
            .enumerate()
            .skip(ci)
            .flat_map(move |(n, c)| c.iter_from(if n == ci { i } else { 0 }))
            .take(count)
    }

    /// Replaces the element at position `at` (< len).
    pub(crate) fn set(&mut self, at: usize, item: &[u8]) {
        let (ci, i) = self.locate(at);
        self.chunk_mut(ci).set(i, item);
        self.split(ci);
        self.grow();
        self.shrink();
    }

    /// Inserts `item` before position `at` (`at == len` appends).
    pub(crate) fn insert(&mut self, at: usize, item: &[u8]) {
        if at >= self.len() {
            self.push(item, false);
            return;
        }
        let (ci, i) = self.locate(at);
        self.chunk_mut(ci).insert(i, item);
        self.add_len(1);
        self.split(ci);
        self.grow();
    }

    /// Removes the positions `from..to`.
    pub(crate) fn remove_range(&mut self, from: usize, to: usize) {
        let to = to.min(self.len());
        if from >= to {
            return;
        }
        match &mut self.repr {
            Repr::Pack(c) => {
                c.remove_range(from, to);
                c.shrink();
            }
            Repr::Quick(q) => {
                let mut base = 0;
                for c in q.chunks.iter_mut() {
                    let n = c.len();
                    let (a, b) = (from.max(base) - base, to.min(base + n).saturating_sub(base));
                    if a < b {
                        c.remove_range(a, b);
                    }
                    base += n;
                }
                q.len -= to - from;
                self.shrink();
            }
        }
    }

    /// Keeps only the positions `from..=to` (`LTRIM`).
    pub(crate) fn trim(&mut self, from: usize, to: usize) {
        self.remove_range(to + 1, self.len());
        self.remove_range(0, from);
    }

    /// Removes every element.
    pub(crate) fn clear(&mut self) {
        self.repr = Repr::default();
    }

    /// Removes up to `|count|` elements equal to `element`, from the head when `count > 0`,
    /// from the tail when `count < 0`, all when 0 (`LREM`); how many went.
    pub(crate) fn remove_matching(&mut self, element: &[u8], count: i64) -> usize {
        let len = self.len();
        let limit = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        let mut gone: Vec<usize> = if count >= 0 {
            self.iter()
                .enumerate()
                .filter(|(_, x)| *x == element)
                .map(|(i, _)| i)
                .take(limit)
                .collect()
        } else {
            self.iter()
                .rev()
                .enumerate()
                .filter(|(_, x)| *x == element)
                .map(|(i, _)| len - 1 - i)
                .take(limit)
                .collect()
        };
        if gone.is_empty() {
            return 0;
        }
        gone.sort_unstable();
        let was_quick = !self.is_listpack();
        let mut kept = ListValue::default();
        let mut next = gone.iter().peekable();
        for (i, item) in self.iter().enumerate() {
            if next.peek() == Some(&&i) {
                next.next();
            } else {
                kept.push(item, false);
            }
        }
        if let Repr::Pack(c) = &mut kept.repr {
            // A quicklist stays one unless it shrank to half the limit, as in Redis.
            if was_quick && over(c.bytes() * 2) {
                let c = std::mem::take(c);
                let len = c.len();
                kept.repr = Repr::Quick(Quick {
                    chunks: VecDeque::from([c]),
                    len,
                });
            }
        }
        *self = kept;
        gone.len()
    }
}

impl<T: AsRef<[u8]>> FromIterator<T> for ListValue {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut list = ListValue::default();
        for item in iter {
            list.push(item, false);
        }
        list
    }
}

#[cfg(test)]
mod tests;
