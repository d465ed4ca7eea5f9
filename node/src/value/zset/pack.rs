//! The `listpack` form of a small sorted set: one exactly-sized byte buffer of
//! `(member, score)` entries in (score, member) order, as Redis keeps sets within
//! `zset-max-listpack-entries` / `zset-max-listpack-value`.
//!
//! An entry is `[member length: 1 byte][member][score]`; members are at most
//! [`MAX_MEMBER`] bytes. A score takes 1 to 9 bytes: an integral score (below 2^53 in
//! magnitude, not `-0`) is a LEB128 varint of `zigzag(n) << 2`; a score that a `f32` holds
//! exactly is the byte `1` and 4 bytes; any other is the byte `2` and 8 bytes (little endian).
//! Every operation is a linear walk, which for at most a few hundred entries costs less than
//! the cache misses of a tree.

use std::cmp::Ordering;

/// Longest member an entry can hold (the length is one byte).
pub(crate) const MAX_MEMBER: usize = 255;

/// A packed sorted set.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pack {
    buf: Box<[u8]>,
    len: u32,
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
    if integral && !(score == 0.0 && score.is_sign_negative()) {
        let n = score as i64;
        let mut v = (((n << 1) ^ (n >> 63)) as u64) << 2;
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
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
            let mut v = 0u64;
            let mut shift = 0;
            let mut i = at;
            loop {
                let byte = buf[i];
                v |= u64::from(byte & 0x7f) << shift;
                i += 1;
                if byte & 0x80 == 0 {
                    break;
                }
                shift += 7;
            }
            let z = v >> 2;
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
        self.len as usize
    }

    /// The entries in order.
    pub(crate) fn entries(&self) -> Entries<'_> {
        Entries {
            buf: &self.buf,
            at: 0,
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
        let mut out = Vec::with_capacity(self.buf.len() + member.len() + 10);
        out.extend_from_slice(&self.buf[..at]);
        out.push(member.len() as u8);
        out.extend_from_slice(member);
        encode_score(score, &mut out);
        out.extend_from_slice(&self.buf[at..]);
        self.buf = out.into_boxed_slice();
        self.len += 1;
    }

    /// Removes the entries between offsets `at..end`, which hold `count` entries.
    pub(crate) fn cut(&mut self, at: usize, end: usize, count: usize) {
        if at == end {
            return;
        }
        let mut out = Vec::with_capacity(self.buf.len() - (end - at));
        out.extend_from_slice(&self.buf[..at]);
        out.extend_from_slice(&self.buf[end..]);
        self.buf = out.into_boxed_slice();
        self.len -= count as u32;
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
