//! Sorted set values: members ordered by (score, member).

use std::collections::HashMap;

use bytes::Bytes;

/// A sorted set. This first version keeps a vector sorted by (score, member) beside a
/// member → score map: correct, O(n) per insert.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZSetValue {
    sorted: Vec<(f64, Bytes)>,
    scores: HashMap<Bytes, f64>,
}

impl ZSetValue {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// True when empty (the key must then be removed).
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// Sets `member`'s score; true when the member is new.
    pub fn insert(&mut self, member: Bytes, score: f64) -> bool {
        let new = self.remove(&member).is_none();
        let at = self
            .sorted
            .partition_point(|(s, m)| (*s, &m[..]) < (score, &member[..]));
        self.sorted.insert(at, (score, member.clone()));
        self.scores.insert(member, score);
        new
    }

    /// Removes `member`; its score if it was present.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.scores.remove(member)?;
        let at = self
            .sorted
            .partition_point(|(s, m)| (*s, &m[..]) < (score, member));
        self.sorted.remove(at);
        Some(score)
    }

    /// Removes and returns up to `count` members with the lowest scores (`max` false) or the
    /// highest (`max` true), in pop order (`ZPOPMIN`/`ZPOPMAX`, `BZPOPMIN`/`BZPOPMAX`).
    pub fn pop(&mut self, max: bool, count: usize) -> Vec<(Bytes, f64)> {
        let mut out = Vec::with_capacity(count.min(self.len()));
        for _ in 0..count {
            let Some((score, member)) = (if max {
                self.sorted.pop()
            } else {
                (!self.sorted.is_empty()).then(|| self.sorted.remove(0))
            }) else {
                break;
            };
            self.scores.remove(&member);
            out.push((member, score));
        }
        out
    }

    /// `listpack` while small (at most 128 members of at most 64 bytes), else `skiplist`.
    pub fn encoding(&self) -> &'static str {
        if self.len() <= 128 && self.sorted.iter().all(|(_, m)| m.len() <= 64) {
            "listpack"
        } else {
            "skiplist"
        }
    }
}
