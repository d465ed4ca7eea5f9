//! Sorted set values: members ordered by (score, member). A member → score map answers
//! `ZSCORE` in O(1) and gives random picks and `ZSCAN` a positional index; an indexable skip list
//! keeps the order, so ranks cost O(log n) and a range of m members O(log n + m).

mod skiplist;

use std::ops::Range;

use bytes::Bytes;
use foldhash::fast::RandomState;
use indexmap::IndexMap;

use skiplist::SkipList;

/// Largest member count Redis keeps in a `listpack` (`zset-max-listpack-entries`).
const LISTPACK_MAX_ENTRIES: usize = 128;
/// Longest member Redis keeps in a `listpack` (`zset-max-listpack-value`).
const LISTPACK_MAX_VALUE: usize = 64;

/// A sorted set.
#[derive(Clone, Debug, Default)]
pub(crate) struct ZSetValue {
    /// Member → score. Removal swaps the last entry into the hole, which `scan` relies on.
    scores: IndexMap<Bytes, f64, RandomState>,
    order: SkipList,
    /// Set once the set outgrows a listpack: Redis then keeps the `skiplist` encoding even if
    /// members go.
    big: bool,
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
        self.order.len()
    }

    /// True when empty (the key must then be removed).
    pub(crate) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The score of `member`.
    pub(crate) fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// Sets `member`'s score (never NaN); true when the member is new.
    pub(crate) fn insert(&mut self, member: Bytes, score: f64) -> bool {
        debug_assert!(!score.is_nan());
        match self.scores.get_mut(&member) {
            Some(old) => {
                // Redis compares doubles here, so 0 and -0 count as the same score.
                if *old != score {
                    self.order.remove(*old, &member);
                    self.order.insert(score, member);
                    *old = score;
                }
                false
            }
            None => {
                self.big |= member.len() > LISTPACK_MAX_VALUE;
                self.order.insert(score, member.clone());
                self.scores.insert(member, score);
                self.big |= self.len() > LISTPACK_MAX_ENTRIES;
                true
            }
        }
    }

    /// Removes `member`; its score if it was present.
    pub(crate) fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.scores.swap_remove(member)?;
        self.order.remove(score, member);
        Some(score)
    }

    /// Removes and returns up to `count` members with the lowest scores (`max` false) or the
    /// highest (`max` true), in pop order (`ZPOPMIN`/`ZPOPMAX`, `BZPOPMIN`/`BZPOPMAX`).
    pub(crate) fn pop(&mut self, max: bool, count: usize) -> Vec<(Bytes, f64)> {
        let mut out = Vec::with_capacity(count.min(self.len()));
        while out.len() < count {
            let end = if max {
                self.order.last()
            } else {
                self.order.first()
            };
            let Some((member, score)) = end.map(|(m, s)| (m.clone(), s)) else {
                break;
            };
            self.remove(&member);
            out.push((member, score));
        }
        out
    }

    /// The 0-based rank of `member` in ascending order, with its score.
    pub(crate) fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        let score = self.score(member)?;
        let rank = self
            .order
            .count_while(|s, m| s < score || s == score && m < member);
        Some((rank, score))
    }

    /// The member at ascending rank `rank`, with its score (the model check's view).
    #[cfg(test)]
    pub(crate) fn get(&self, rank: usize) -> Option<(&Bytes, f64)> {
        self.order.get(rank)
    }

    /// The ranks of the members whose scores lie between `min` and `max`.
    pub(crate) fn score_ranks(&self, min: ScoreBound, max: ScoreBound) -> Range<usize> {
        let lo = self
            .order
            .count_while(|s, _| s < min.value || min.exclusive && s == min.value);
        let hi = self
            .order
            .count_while(|s, _| s < max.value || !max.exclusive && s == max.value);
        lo..hi.max(lo)
    }

    /// The ranks of the members between `min` and `max` in byte order (meaningful when all
    /// scores are equal, as Redis documents for the `BYLEX` commands).
    pub(crate) fn lex_ranks(&self, min: &LexBound, max: &LexBound) -> Range<usize> {
        let lo = self.order.count_while(|_, m| min.below_min(m));
        let hi = self.order.count_while(|_, m| max.within_max(m));
        lo..hi.max(lo)
    }

    /// The members at `ranks` with their scores, ascending, or descending from the end of
    /// `ranks` when `rev`.
    pub(crate) fn range(
        &self,
        ranks: Range<usize>,
        rev: bool,
    ) -> impl Iterator<Item = (&Bytes, f64)> {
        let n = ranks.len();
        let start = if rev {
            ranks.end.wrapping_sub(1)
        } else {
            ranks.start
        };
        let iter = if n == 0 {
            self.order.iter_from(usize::MAX, rev)
        } else {
            self.order.iter_from(start, rev)
        };
        iter.take(n)
    }

    /// The member at `index` of the member map (an arbitrary order, stable while the set is
    /// unchanged), with its score: O(1) random picks.
    pub(crate) fn member_at(&self, index: usize) -> Option<(&Bytes, f64)> {
        self.scores.get_index(index).map(|(m, s)| (m, *s))
    }

    /// One `ZSCAN` page: visits up to `count` members from `cursor` (0 to start) and returns the
    /// next cursor (0 when done). The walk goes down the member map's positions; a removal
    /// moves the last entry, already visited, into the hole, so every member present
    /// throughout the scan is returned at least once.
    pub(crate) fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<(&Bytes, f64)>) {
        let len = self.scores.len() as u64;
        let mut next = if cursor == 0 { len } else { cursor.min(len) };
        let mut out = Vec::new();
        while next > 0 && out.len() < count.max(1) {
            next -= 1;
            out.push(self.member_at(next as usize).expect("index below len"));
        }
        (next, out)
    }

    /// All members with their scores, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Bytes, f64)> {
        self.order.iter_from(0, false)
    }

    /// Removes the members at `ranks`; how many went.
    pub(crate) fn remove_ranks(&mut self, ranks: Range<usize>) -> usize {
        let gone: Vec<Bytes> = self.range(ranks, false).map(|(m, _)| m.clone()).collect();
        for member in &gone {
            self.remove(member);
        }
        gone.len()
    }

    /// `listpack` while small (never more than 128 members, none longer than 64 bytes), else
    /// `skiplist`.
    pub(crate) fn encoding(&self) -> &'static str {
        if self.big {
            "skiplist"
        } else {
            "listpack"
        }
    }
}

impl PartialEq for ZSetValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

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
