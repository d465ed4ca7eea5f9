//! Sorted set values: members ordered by (score, member), in one of Redis's two encodings.
//! A small set (`zset-max-listpack-entries` members, none longer than
//! `zset-max-listpack-value`) is a `listpack`: one packed buffer walked linearly
//! ([`pack`]). A bigger one has Redis's `skiplist` encoding name but is built otherwise
//! ([`big`]): a member index answers `ZSCORE` in O(1) and gives random picks and `ZSCAN` a
//! positional index, and a counted B+tree ([`tree`]) keeps the order, so ranks cost O(log n)
//! and a range of m members O(log n + m). A set converts to the `skiplist` encoding when it
//! outgrows the limits and, as in Redis 7.2, stays there.

mod big;
mod pack;
mod tree;

use std::ops::Range;

use bytes::Bytes;

use big::Big;
use pack::Pack;

/// Largest member count Redis keeps in a `listpack` (`zset-max-listpack-entries`).
const LISTPACK_MAX_ENTRIES: usize = 128;
/// Longest member Redis keeps in a `listpack` (`zset-max-listpack-value`).
const LISTPACK_MAX_VALUE: usize = 64;

/// A sorted set.
#[derive(Clone, Debug, Default)]
pub(crate) struct ZSetValue {
    repr: Repr,
}

#[derive(Clone, Debug)]
enum Repr {
    /// `listpack`.
    Pack(Pack),
    /// `skiplist`.
    Big(Box<Big>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Pack(Pack::default())
    }
}

/// Walks `(member, score)` pairs; see [`ZSetValue::range`].
pub(crate) enum Iter<'a> {
    Pack(std::iter::Take<pack::Entries<'a>>),
    Listed(std::vec::IntoIter<(&'a [u8], f64)>),
    Big(std::iter::Take<big::Iter<'a>>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Pack(it) => it.next().map(|e| (e.member, e.score)),
            Iter::Listed(it) => it.next(),
            Iter::Big(it) => it.next(),
        }
    }
}

/// One end of a score interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ScoreBound {
    /// The score (may be infinite).
    pub(crate) value: f64,
    /// True for an exclusive `(` bound.
    pub(crate) exclusive: bool,
}

/// One end of a lexicographic interval (`-`, `+`, `[x`, `(x`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LexBound {
    /// `-`: before every member.
    Min,
    /// `+`: after every member.
    Max,
    /// `[x`: `x` included.
    Inclusive(Bytes),
    /// `(x`: `x` excluded.
    Exclusive(Bytes),
}

impl LexBound {
    /// True when `member` lies before this bound taken as a lower bound.
    fn below_min(&self, member: &[u8]) -> bool {
        match self {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Inclusive(b) => member < &b[..],
            LexBound::Exclusive(b) => member <= &b[..],
        }
    }

    /// True when `member` lies within this bound taken as an upper bound.
    fn within_max(&self, member: &[u8]) -> bool {
        match self {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Inclusive(b) => member <= &b[..],
            LexBound::Exclusive(b) => member < &b[..],
        }
    }
}

impl ZSetValue {
    /// Number of members.
    pub(crate) fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.len(),
            Repr::Big(b) => b.len(),
        }
    }

    /// True when empty (the key must then be removed).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The score of `member`.
    pub(crate) fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Pack(p) => p.find(member).map(|e| e.score),
            Repr::Big(b) => b.score(member),
        }
    }

    /// Moves a `listpack` to the `skiplist` encoding.
    fn convert(&mut self) {
        if let Repr::Pack(p) = &self.repr {
            let mut big = Big::with_capacity(p.len() + 1);
            for e in p.entries() {
                big.insert(e.member, e.score);
            }
            self.repr = Repr::Big(Box::new(big));
        }
    }

    /// Sets `member`'s score (never NaN); true when the member is new. A `listpack` turns into
    /// a `skiplist` when the member is longer than 64 bytes or the set would pass 128 members
    /// (Redis's `zsetAdd`).
    pub(crate) fn insert(&mut self, member: Bytes, score: f64) -> bool {
        debug_assert!(!score.is_nan());
        if let Repr::Pack(p) = &mut self.repr {
            if let Some(e) = p.find(&member) {
                // Redis compares doubles here, so 0 and -0 count as the same score.
                if e.score != score {
                    let (at, end) = (e.at, e.end);
                    p.cut(at, end, 1);
                    p.insert(&member, score);
                }
                return false;
            }
            if member.len() <= LISTPACK_MAX_VALUE && p.len() < LISTPACK_MAX_ENTRIES {
                p.insert(&member, score);
                return true;
            }
            self.convert();
        }
        match &mut self.repr {
            Repr::Big(b) => b.insert(&member, score),
            Repr::Pack(_) => unreachable!("converted above"),
        }
    }

    /// Looks `member` up once and lets `decide` pick its new score from the current one
    /// (`None` in, absent; `None` out, leave the set as it is); returns `decide`'s verdict.
    /// `ZADD`'s path: a `skiplist` hashes the member once.
    pub(crate) fn update<T>(
        &mut self,
        member: &[u8],
        decide: impl FnOnce(Option<f64>) -> (Option<f64>, T),
    ) -> T {
        let Repr::Big(b) = &mut self.repr else {
            let (score, verdict) = decide(self.score(member));
            if let Some(score) = score {
                self.insert(Bytes::copy_from_slice(member), score);
            }
            return verdict;
        };
        b.update(member, decide)
    }

    /// Removes `member`; its score if it was present.
    pub(crate) fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Pack(p) => {
                let e = p.find(member)?;
                let (at, end, score) = (e.at, e.end, e.score);
                p.cut(at, end, 1);
                Some(score)
            }
            Repr::Big(b) => b.remove(member),
        }
    }

    /// Removes and returns up to `count` members with the lowest scores (`max` false) or the
    /// highest (`max` true), in pop order (`ZPOPMIN`/`ZPOPMAX`, `BZPOPMIN`/`BZPOPMAX`).
    pub(crate) fn pop(&mut self, max: bool, count: usize) -> Vec<(Bytes, f64)> {
        let count = count.min(self.len());
        if let Repr::Pack(_) = self.repr {
            let len = self.len();
            let ranks = if max { len - count..len } else { 0..count };
            let out: Vec<(Bytes, f64)> = self
                .range(ranks.clone(), max)
                .map(|(m, s)| (Bytes::copy_from_slice(m), s))
                .collect();
            self.remove_ranks(ranks);
            return out;
        }
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let Repr::Big(b) = &mut self.repr else {
                unreachable!("checked above");
            };
            let end = if max { b.last() } else { b.first() };
            let Some((member, score)) = end.map(|(m, s)| (Bytes::copy_from_slice(m), s)) else {
                break;
            };
            b.remove(&member);
            out.push((member, score));
        }
        out
    }

    /// How many leading members satisfy `before`, which holds for a prefix of the order.
    fn count_while(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Pack(p) => p
                .entries()
                .take_while(|e| before(e.score, e.member))
                .count(),
            Repr::Big(b) => b.count_while(before),
        }
    }

    /// The 0-based rank of `member` in ascending order, with its score.
    pub(crate) fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        match &self.repr {
            Repr::Pack(p) => p
                .entries()
                .enumerate()
                .find(|(_, e)| e.member == member)
                .map(|(rank, e)| (rank, e.score)),
            Repr::Big(b) => b.rank(member),
        }
    }

    /// The member at ascending rank `rank`, with its score (the model check's view).
    #[cfg(test)]
    pub(crate) fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        self.range(rank..rank + 1, false).next()
    }

    /// The ranks of the members whose scores lie between `min` and `max`.
    pub(crate) fn score_ranks(&self, min: ScoreBound, max: ScoreBound) -> Range<usize> {
        let lo = self.count_while(|s, _| s < min.value || min.exclusive && s == min.value);
        let hi = self.count_while(|s, _| s < max.value || !max.exclusive && s == max.value);
        lo..hi.max(lo)
    }

    /// The ranks of the members between `min` and `max` in byte order (meaningful when all
    /// scores are equal, as Redis documents for the `BYLEX` commands).
    pub(crate) fn lex_ranks(&self, min: &LexBound, max: &LexBound) -> Range<usize> {
        let lo = self.count_while(|_, m| min.below_min(m));
        let hi = self.count_while(|_, m| max.within_max(m));
        lo..hi.max(lo)
    }

    /// The members at `ranks` with their scores, ascending, or descending from the end of
    /// `ranks` when `rev`.
    pub(crate) fn range(&self, ranks: Range<usize>, rev: bool) -> Iter<'_> {
        let ranks = ranks.start.min(self.len())..ranks.end.min(self.len());
        let n = ranks.len();
        match &self.repr {
            Repr::Pack(p) if rev => {
                let mut v: Vec<(&[u8], f64)> = p
                    .entries_from(ranks.start)
                    .take(n)
                    .map(|e| (e.member, e.score))
                    .collect();
                v.reverse();
                Iter::Listed(v.into_iter())
            }
            Repr::Pack(p) => Iter::Pack(p.entries_from(ranks.start).take(n)),
            Repr::Big(b) => {
                let start = if n == 0 {
                    usize::MAX
                } else if rev {
                    ranks.end - 1
                } else {
                    ranks.start
                };
                Iter::Big(b.iter_from(start, rev).take(n))
            }
        }
    }

    /// The member at `index` of an arbitrary order, stable while the set is unchanged, with
    /// its score: O(1) random picks for a `skiplist`, a short walk for a `listpack`.
    pub(crate) fn member_at(&self, index: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Pack(p) => p.entries().nth(index).map(|e| (e.member, e.score)),
            Repr::Big(b) => b.member_at(index),
        }
    }

    /// One `ZSCAN` page: visits up to `count` members from `cursor` (0 to start) and returns the
    /// next cursor (0 when done). A `listpack` is returned whole, as Redis does. A `skiplist`
    /// walk goes down the element slots' positions; a removal moves the last entry, already
    /// visited, into the hole, so every member present throughout the scan is returned at
    /// least once.
    pub(crate) fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<(&[u8], f64)>) {
        if let Repr::Pack(_) = self.repr {
            return (0, self.iter().collect());
        }
        let len = self.len() as u64;
        let mut next = if cursor == 0 { len } else { cursor.min(len) };
        let mut out = Vec::new();
        while next > 0 && out.len() < count.max(1) {
            next -= 1;
            out.push(self.member_at(next as usize).expect("index below len"));
        }
        (next, out)
    }

    /// All members with their scores, ascending.
    pub(crate) fn iter(&self) -> Iter<'_> {
        self.range(0..self.len(), false)
    }

    /// Removes the members at `ranks`; how many went.
    pub(crate) fn remove_ranks(&mut self, ranks: Range<usize>) -> usize {
        let ranks = ranks.start.min(self.len())..ranks.end.min(self.len());
        if let Repr::Pack(p) = &mut self.repr {
            let (at, end) = p.offsets(ranks.start, ranks.end);
            p.cut(at, end, ranks.len());
            return ranks.len();
        }
        let gone: Vec<Bytes> = self
            .range(ranks, false)
            .map(|(m, _)| Bytes::copy_from_slice(m))
            .collect();
        for member in &gone {
            self.remove(member);
        }
        gone.len()
    }

    /// Bytes the `skiplist` encoding holds on the heap (slots, index, tree nodes, long
    /// members); `None` for a `listpack`, whose size `MEMORY USAGE` samples.
    pub(crate) fn heap_bytes(&self) -> Option<usize> {
        match &self.repr {
            Repr::Pack(_) => None,
            Repr::Big(b) => Some(std::mem::size_of::<Big>() + b.heap_bytes()),
        }
    }

    /// `listpack` while small (never more than 128 members, none longer than 64 bytes), else
    /// `skiplist`.
    pub(crate) fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Big(_) => "skiplist",
        }
    }
}

impl PartialEq for ZSetValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// Builds a set as Redis 7.2 creates store results and loads snapshots: a `listpack` when
/// the result fits its limits, else a `skiplist`.
impl FromIterator<(Bytes, f64)> for ZSetValue {
    fn from_iter<I: IntoIterator<Item = (Bytes, f64)>>(iter: I) -> Self {
        let mut z = ZSetValue::default();
        for (member, score) in iter {
            z.insert(member, score);
        }
        z
    }
}

#[cfg(test)]
mod tests;
