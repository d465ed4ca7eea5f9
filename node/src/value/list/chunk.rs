//! A packed run of list elements: the body of a `listpack`, and one node of a `quicklist`.
//!
//! An entry is `[length][bytes][length again, bytes reversed]`, the length a LEB128 varint
//! (1 byte up to 127 bytes of element). The trailing copy lets a walk run backwards from the
//! end, as Redis's listpack `backlen` does, so both ends pop in O(1) plus the shift.

use std::alloc::Layout;

use crate::memory::size_class;
use crate::value::varint;

/// A chunk of entries.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Chunk {
    buf: Vec<u8>,
    count: u32,
}

fn varint_len(n: usize) -> usize {
    varint::len(n as u64)
}

/// Bytes an element of `n` bytes takes in a chunk.
pub(crate) fn entry_size(n: usize) -> usize {
    n + 2 * varint_len(n)
}

fn write_entry(out: &mut Vec<u8>, item: &[u8]) {
    let start = out.len();
    varint::put(out, item.len() as u64);
    let head = out.len() - start;
    out.extend_from_slice(item);
    for i in (0..head).rev() {
        let byte = out[start + i];
        out.push(byte);
    }
}

/// Reads the element of the entry at `at`: `(element start, element end, entry end)`.
fn read_forward(buf: &[u8], at: usize) -> (usize, usize, usize) {
    let mut i = at;
    let n = varint::get(buf, &mut i) as usize;
    let head = i - at;
    (i, i + n, i + n + head)
}

/// Reads the entry ending at `end`: `(entry start, element start, element end)`.
fn read_backward(buf: &[u8], end: usize) -> (usize, usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = end;
    loop {
        i -= 1;
        let byte = buf[i];
        n |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let head = end - i;
    let item_end = i;
    let item_start = item_end - n;
    (item_start - head, item_start, item_end)
}

impl Chunk {
    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.count as usize
    }

    /// True when the chunk holds no element.
    pub(crate) fn is_empty_chunk(&self) -> bool {
        self.count == 0
    }

    /// How many leading entries fit in `limit` bytes.
    pub(crate) fn prefix_within(&self, limit: usize) -> usize {
        let (mut at, mut n) = (0, 0);
        while n < self.len() {
            let end = read_forward(&self.buf, at).2;
            if end > limit {
                break;
            }
            at = end;
            n += 1;
        }
        n
    }

    /// Bytes of entries.
    pub(crate) fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Drops spare capacity.
    pub(crate) fn shrink(&mut self) {
        self.buf.shrink_to_fit();
    }

    /// Makes room for `extra` more bytes, growing the buffer to the allocator's size class of
    /// the bytes needed (as Redis's listpack `lpInsert` reallocs to the new size): no doubling,
    /// and no realloc while a push still fits the class.
    fn reserve(&mut self, extra: usize) {
        let need = self.buf.len() + extra;
        if need > self.buf.capacity() {
            let class = Layout::array::<u8>(need).map_or(need, size_class);
            self.buf.reserve_exact(class - self.buf.len());
        }
    }

    /// Bytes of the buffer's allocation (its size class).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self.buf.capacity() {
            0 => 0,
            n => Layout::array::<u8>(n).map_or(n, size_class),
        }
    }

    /// Adds `item` at the front (`left`) or the back.
    pub(crate) fn push(&mut self, item: &[u8], left: bool) {
        self.reserve(entry_size(item.len()));
        if left {
            let old = self.buf.len();
            write_entry(&mut self.buf, item);
            let added = self.buf.len() - old;
            self.buf.rotate_right(added);
        } else {
            write_entry(&mut self.buf, item);
        }
        self.count += 1;
    }

    /// Removes the front (`left`) or back element.
    pub(crate) fn pop(&mut self, left: bool) -> Option<Vec<u8>> {
        if self.count == 0 {
            return None;
        }
        let item = if left {
            let (s, e, end) = read_forward(&self.buf, 0);
            let item = self.buf[s..e].to_vec();
            self.buf.drain(..end);
            item
        } else {
            let (start, s, e) = read_backward(&self.buf, self.buf.len());
            let item = self.buf[s..e].to_vec();
            self.buf.truncate(start);
            item
        };
        self.count -= 1;
        Some(item)
    }

    /// Byte offset of entry `index` (the end when `index == len`).
    fn offset(&self, index: usize) -> usize {
        if index >= self.len() {
            return self.buf.len();
        }
        if index <= self.len() / 2 {
            let mut at = 0;
            for _ in 0..index {
                at = read_forward(&self.buf, at).2;
            }
            at
        } else {
            let mut end = self.buf.len();
            for _ in index..self.len() {
                end = read_backward(&self.buf, end).0;
            }
            end
        }
    }

    /// The element at `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&[u8]> {
        (index < self.len()).then(|| {
            let (s, e, _) = read_forward(&self.buf, self.offset(index));
            &self.buf[s..e]
        })
    }

    /// Inserts `item` before entry `index` (`index == len` appends).
    pub(crate) fn insert(&mut self, index: usize, item: &[u8]) {
        let at = self.offset(index);
        let mut entry = Vec::with_capacity(entry_size(item.len()));
        write_entry(&mut entry, item);
        self.reserve(entry.len());
        self.buf.splice(at..at, entry);
        self.count += 1;
    }

    /// Removes the entries `from..to`.
    pub(crate) fn remove_range(&mut self, from: usize, to: usize) {
        if from >= to {
            return;
        }
        let (a, b) = (self.offset(from), self.offset(to));
        self.buf.drain(a..b);
        self.count -= (to - from) as u32;
    }

    /// Replaces entry `index` with `item`.
    pub(crate) fn set(&mut self, index: usize, item: &[u8]) {
        self.remove_range(index, index + 1);
        self.insert(index, item);
    }

    /// Splits off the entries from `index` on into a new chunk.
    pub(crate) fn split_off(&mut self, index: usize) -> Chunk {
        let at = self.offset(index);
        let tail = self.buf.split_off(at);
        let moved = (self.len() - index) as u32;
        self.count -= moved;
        self.buf.shrink_to_fit();
        Chunk {
            buf: tail,
            count: moved,
        }
    }

    /// The elements from `index` on, front to back.
    pub(crate) fn iter_from(&self, index: usize) -> Iter<'_> {
        Iter {
            buf: &self.buf,
            front: self.offset(index),
            back: self.buf.len(),
        }
    }
}

/// Walks a chunk's elements in either direction.
#[derive(Clone, Debug)]
pub(crate) struct Iter<'a> {
    buf: &'a [u8],
    front: usize,
    back: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        (self.front < self.back).then(|| {
            let (s, e, end) = read_forward(self.buf, self.front);
            self.front = end;
            &self.buf[s..e]
        })
    }
}

impl<'a> DoubleEndedIterator for Iter<'a> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        (self.front < self.back).then(|| {
            let (start, s, e) = read_backward(self.buf, self.back);
            self.back = start;
            &self.buf[s..e]
        })
    }
}
