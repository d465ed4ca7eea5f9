//! Set values.

use bytes::Bytes;
use foldhash::fast::RandomState;
use indexmap::IndexSet;

/// A set. Insertion-ordered so that a random member is an O(1) pick (`SPOP`, `SRANDMEMBER`)
/// and `SSCAN` can walk it with a stable cursor.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetValue {
    /// The members.
    pub members: IndexSet<Bytes, RandomState>,
}

impl SetValue {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when the set is empty (the key must then be removed).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// `intset` when every member is an integer and there are at most 512, `listpack` when at
    /// most 128 members of at most 64 bytes, else `hashtable` (Redis 7.2's defaults).
    pub fn encoding(&self) -> &'static str {
        let n = self.members.len();
        if n <= 512
            && self
                .members
                .iter()
                .all(|m| super::parse_canonical_i64(m).is_some())
        {
            "intset"
        } else if n <= 128 && self.members.iter().all(|m| m.len() <= 64) {
            "listpack"
        } else {
            "hashtable"
        }
    }
}
