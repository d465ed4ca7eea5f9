//! The `listpack` form of a small sorted set: one exactly-sized byte buffer of
//! `(member, score)` entries in (score, member) order, as Redis keeps sets within
//! `zset-max-listpack-entries` / `zset-max-listpack-value`.
//!
//! A non-empty buffer starts with the entry count (2 bytes, little endian), so the whole set
//! is 16 bytes plus its buffer. An entry is `[member length: 1 byte][member][score]`; members are at most
//! [`MAX_MEMBER`] bytes. A score takes 1 to 9 bytes: an integral score (below 2^53 in
//! magnitude; `-0` becomes 0 as in Redis) is a LEB128 varint of `zigzag(n) << 2`; a score that a `f32` holds
//! exactly is the byte `1` and 4 bytes; any other is the byte `2` and 8 bytes (little endian).
//! Every operation is a linear walk, which for at most a few hundred entries costs less than
//! the cache misses of a tree.

use std::cmp::Ordering;

use crate::value::varint;

/// Longest member an entry can hold (the length is one byte).
pub(crate) const MAX_MEMBER: usize = 255;

/// Bytes of the count before the entries.
const HEADER: usize = 2;

/// A packed sorted set.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pack {
    /// Empty, or the count and the entries.
    buf: Box<[u8]>,
}

/// Orders `(score, member)` keys; scores compare as IEEE doubles, so `-0` equals `0`.
pub(crate) fn cmp_key(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score
        .partial_cmp(&b_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a_member.cmp(b_member))
}

fn encode_score(score: f64, out: &mut Vec<u8>) {
    let integral = score.fract() == 0.0 && score.abs() < (1u64 << 53) as f64;
    // `-0` is stored as the integer 0, as Redis's listpack does (a listpack set answers `0`).
    if integral {
        let n = score as i64;
        varint::put(out, (((n << 1) ^ (n >> 63)) as u64) << 2);
    } else if f64::from(score as f32) == score {
        out.push(1);
        out.extend_from_slice(&(score as f32).to_le_bytes());
    } else {
        out.push(2);
        out.extend_from_slice(&score.to_le_bytes());
    }
}

/// Decodes the score at `at`: the score and the offset after it.
fn decode_score(buf: &[u8], at: usize) -> (f64, usize) {
    match buf[at] & 3 {
        0 => {
            let mut i = at;
            let z = varint::get(buf, &mut i) >> 2;
            let n = ((z >> 1) as i64) ^ -((z & 1) as i64);
            (n as f64, i)
        }
        1 => {
            let b: [u8; 4] = buf[at + 1..at + 5].try_into().expect("4 bytes");
            (f64::from(f32::from_le_bytes(b)), at + 5)
        }
        _ => {
            let b: [u8; 8] = buf[at + 1..at + 9].try_into().expect("8 bytes");
            (f64::from_le_bytes(b), at + 9)
        }
    }
}

/// The entry count a buffer records.
fn count_of(buf: &[u8]) -> usize {
    match *buf {
        [lo, hi, ..] => usize::from(u16::from_le_bytes([lo, hi])),
        _ => 0,
    }
}

/// One decoded entry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry<'a> {
    pub(crate) member: &'a [u8],
    pub(crate) score: f64,
    /// Offset of the entry.
    pub(crate) at: usize,
    /// Offset just past the entry.
    pub(crate) end: usize,
}

fn decode(buf: &[u8], at: usize) -> Entry<'_> {
    let n = buf[at] as usize;
    let member = &buf[at + 1..at + 1 + n];
    let (score, end) = decode_score(buf, at + 1 + n);
    Entry {
        member,
        score,
        at,
        end,
    }
}

/// Walks the entries in order.
#[derive(Clone, Debug)]
pub(crate) struct Entries<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        (self.at < self.buf.len()).then(|| {
            let e = decode(self.buf, self.at);
            self.at = e.end;
            e
        })
    }
}

impl Pack {
    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        count_of(&self.buf)
    }

    fn start(&self) -> usize {
        HEADER.min(self.buf.len())
    }

    /// Rewrites the buffer as `prefix`, then `middle`, then `suffix` with the count `len`.
    fn rebuild(&mut self, len: usize, parts: [&[u8]; 3]) {
        if len == 0 {
            self.buf = Box::default();
            return;
        }
        let size = HEADER + parts.iter().map(|p| p.len()).sum::<usize>();
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(&(len as u16).to_le_bytes());
        for part in parts {
            out.extend_from_slice(part);
        }
        self.buf = out.into_boxed_slice();
    }

    /// The entries in order.
    pub(crate) fn entries(&self) -> Entries<'_> {
        Entries {
            buf: &self.buf,
            at: self.start(),
        }
    }

    /// The entries from `rank` on.
    pub(crate) fn entries_from(&self, rank: usize) -> Entries<'_> {
        let mut it = self.entries();
        if rank > 0 {
            it.nth(rank - 1);
        }
        it
    }

    /// The entry of `member`.
    pub(crate) fn find(&self, member: &[u8]) -> Option<Entry<'_>> {
        self.entries().find(|e| e.member == member)
    }

    /// Inserts `(member, score)`; `member` must be absent and at most [`MAX_MEMBER`] bytes.
    pub(crate) fn insert(&mut self, member: &[u8], score: f64) {
        debug_assert!(member.len() <= MAX_MEMBER);
        let at = self
            .entries()
            .find(|e| cmp_key(e.score, e.member, score, member) == Ordering::Greater)
            .map_or(self.buf.len(), |e| e.at);
        let mut entry = Vec::with_capacity(member.len() + 10);
        entry.push(member.len() as u8);
        entry.extend_from_slice(member);
        encode_score(score, &mut entry);
        let start = self.start();
        let buf = std::mem::take(&mut self.buf);
        self.rebuild(count_of(&buf) + 1, [&buf[start..at], &entry, &buf[at..]]);
    }

    /// Removes the entries between offsets `at..end`, which hold `count` entries.
    pub(crate) fn cut(&mut self, at: usize, end: usize, count: usize) {
        if at == end {
            return;
        }
        let start = self.start();
        let buf = std::mem::take(&mut self.buf);
        self.rebuild(count_of(&buf) - count, [&buf[start..at], &buf[end..], &[]]);
    }

    /// The byte offsets of the entries at ranks `ranks.start..ranks.end`.
    pub(crate) fn offsets(&self, start: usize, end: usize) -> (usize, usize) {
        let mut from = self.buf.len();
        let mut to = self.buf.len();
        for (rank, e) in self.entries().enumerate() {
            if rank == start {
                from = e.at;
            }
            if rank == end {
                to = e.at;
                break;
            }
        }
        (from, to.max(from))
    }
}
