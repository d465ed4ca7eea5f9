//! Set values.
//!
//! Members live in an insertion-ordered hash set, so a random member is an O(1) index (`SPOP`,
//! `SRANDMEMBER`) and `SSCAN` can walk a large set by index. The set also tracks the encoding
//! Redis would use, because it is visible (`OBJECT ENCODING`) and shapes reply order: an `intset`
//! keeps its integers sorted, a `listpack` keeps insertion order (deleting shifts the rest, as
//! a listpack does), and a `hashtable` makes no promise. Encodings only grow, as in Redis.
//!
//! A large set is scanned as [`crate::keyspace::db::Db::scan`] scans keys: indexes walk down from the end
//! and removal swaps the last member into the hole, so a member present for the whole scan is
//! returned at least once.

use bytes::Bytes;
use foldhash::fast::RandomState;
use indexmap::IndexSet;
use rand::seq::index;
use rand::Rng;

use super::parse_canonical_i64;

/// Most members an `intset` holds (`set-max-intset-entries`).
const MAX_INTSET_ENTRIES: usize = 512;
/// Most members a set `listpack` holds (`set-max-listpack-entries`).
const MAX_LISTPACK_ENTRIES: usize = 128;
/// Longest member a set `listpack` holds (`set-max-listpack-value`).
const MAX_LISTPACK_VALUE: usize = 64;

/// How Redis would store the set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Encoding {
    /// Sorted integers.
    #[default]
    IntSet,
    /// Small set in insertion order.
    Listpack,
    /// Anything else.
    Hashtable,
}

/// A set.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SetValue {
    members: IndexSet<Bytes, RandomState>,
    encoding: Encoding,
}

impl SetValue {
    /// An empty set about to receive `size_hint` members, the first being `first`: it starts
    /// with the encoding Redis's `setTypeCreate` would pick.
    pub(crate) fn with_hint(first: &[u8], size_hint: usize) -> SetValue {
        let encoding = if parse_canonical_i64(first).is_some() && size_hint <= MAX_INTSET_ENTRIES {
            Encoding::IntSet
        } else if size_hint <= MAX_LISTPACK_ENTRIES {
            Encoding::Listpack
        } else {
            Encoding::Hashtable
        };
        SetValue {
            members: IndexSet::default(),
            encoding,
        }
    }

    /// A set of `members` (duplicates collapse), encoded as Redis encodes a computed set.
    pub(crate) fn from_members(members: impl IntoIterator<Item = Bytes>) -> SetValue {
        let mut set = SetValue::default();
        for member in members {
            set.insert(member);
        }
        set
    }

    /// Prepares for `size_hint` more members: a compact set that could not hold that many
    /// becomes a hash table at once (Redis's `setTypeMaybeConvert`).
    pub(crate) fn reserve_hint(&mut self, size_hint: usize) {
        let limit = match self.encoding {
            Encoding::IntSet => MAX_INTSET_ENTRIES,
            Encoding::Listpack => MAX_LISTPACK_ENTRIES,
            Encoding::Hashtable => return,
        };
        if size_hint > limit {
            self.encoding = Encoding::Hashtable;
        }
    }

    /// Number of members.
    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    /// True when the set is empty (the key must then be removed).
    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// True when `member` is in the set.
    pub(crate) fn contains(&self, member: &[u8]) -> bool {
        self.members.contains(member)
    }

    /// The members, in the order Redis's encoding would list them.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Bytes> {
        self.members.iter()
    }

    /// Adds `member`; true when it was not there yet.
    pub(crate) fn insert(&mut self, member: Bytes) -> bool {
        if self.members.contains(&member) {
            return false;
        }
        let len = self.members.len() + 1;
        match self.encoding {
            Encoding::IntSet => match parse_canonical_i64(&member) {
                Some(n) => {
                    let at = self
                        .members
                        .binary_search_by(|m| int_of(m).cmp(&n))
                        .unwrap_or_else(|at| at);
                    self.members.shift_insert(at, member);
                    if len > MAX_INTSET_ENTRIES {
                        self.encoding = Encoding::Hashtable;
                    }
                    return true;
                }
                None if len <= MAX_LISTPACK_ENTRIES && member.len() <= MAX_LISTPACK_VALUE => {
                    self.encoding = Encoding::Listpack;
                }
                None => self.encoding = Encoding::Hashtable,
            },
            Encoding::Listpack => {
                if len > MAX_LISTPACK_ENTRIES || member.len() > MAX_LISTPACK_VALUE {
                    self.encoding = Encoding::Hashtable;
                }
            }
            Encoding::Hashtable => {}
        }
        self.members.insert(member)
    }

    /// Removes `member`; true when it was there.
    pub(crate) fn remove(&mut self, member: &[u8]) -> bool {
        match self.encoding {
            // Compact encodings keep their order, as deleting from an intset or listpack does.
            Encoding::IntSet | Encoding::Listpack => self.members.shift_remove(member),
            // Swapping keeps `scan`'s guarantee (see the module comment).
            Encoding::Hashtable => self.members.swap_remove(member),
        }
    }

    /// Removes and returns `count` distinct random members (all of them when `count` reaches
    /// the size): `SPOP`'s choice, returned so it can be replicated as its effect.
    pub(crate) fn pop_random(&mut self, count: usize) -> Vec<Bytes> {
        if count >= self.members.len() {
            return std::mem::take(&mut self.members).into_iter().collect();
        }
        let picked: Vec<Bytes> = index::sample(&mut rand::thread_rng(), self.len(), count)
            .into_iter()
            .map(|i| self.members[i].clone())
            .collect();
        for member in &picked {
            self.remove(member);
        }
        picked
    }

    /// `SRANDMEMBER`'s choice: for `count >= 0`, up to `count` distinct members (the whole set
    /// when `count` reaches its size); for `count < 0`, `-count` members that may repeat.
    pub(crate) fn random_members(&self, count: i64) -> Vec<Bytes> {
        let mut rng = rand::thread_rng();
        random_indexes(&mut rng, self.len(), count)
            .into_iter()
            .map(|i| self.members[i].clone())
            .collect()
    }

    /// One `SSCAN` step from `cursor`, visiting about `count` members. A compact set is
    /// returned whole with cursor 0, as Redis does.
    pub(crate) fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<Bytes>) {
        if self.encoding != Encoding::Hashtable {
            return (0, self.members.iter().cloned().collect());
        }
        let (next, range) = scan_window(self.len(), cursor, count);
        (next, range.rev().map(|i| self.members[i].clone()).collect())
    }

    /// `intset`, `listpack` or `hashtable`, as `OBJECT ENCODING` prints it (Redis 7.2).
    pub(crate) fn encoding(&self) -> &'static str {
        match self.encoding {
            Encoding::IntSet => "intset",
            Encoding::Listpack => "listpack",
            Encoding::Hashtable => "hashtable",
        }
    }
}

fn int_of(member: &[u8]) -> i64 {
    parse_canonical_i64(member).expect("intset members are integers")
}

/// Indexes for a random pick from a collection of `len` elements: distinct ones (all of them,
/// in order, when `count >= len`) for `count >= 0`, `-count` independent ones for `count < 0`.
/// Shared by `SRANDMEMBER` and `HRANDFIELD`.
pub(crate) fn random_indexes(rng: &mut impl Rng, len: usize, count: i64) -> Vec<usize> {
    if len == 0 {
        return Vec::new();
    }
    if count < 0 {
        return (0..count.unsigned_abs())
            .map(|_| rng.gen_range(0..len))
            .collect();
    }
    let count = count as u64;
    if count >= len as u64 {
        return (0..len).collect();
    }
    index::sample(rng, len, count as usize).into_vec()
}

/// The indexes one scan step visits in a collection of `len` elements: walking down from the
/// end, `cursor` is one past the next index to visit (0 starts a scan). Returns the next cursor
/// (0 when done) and the visited range.
pub(crate) fn scan_window(len: usize, cursor: u64, count: usize) -> (u64, std::ops::Range<usize>) {
    let top = if cursor == 0 {
        len
    } else {
        cursor.min(len as u64) as usize
    };
    let bottom = top.saturating_sub(count.max(1));
    (bottom as u64, bottom..top)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn encodings_grow_and_intsets_stay_sorted() {
        let mut set = SetValue::with_hint(b"3", 3);
        for m in ["3", "-1", "10", "3"] {
            set.insert(b(m));
        }
        assert_eq!(set.encoding(), "intset");
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [&b("-1"), &b("3"), &b("10")]
        );
        set.insert(b("x"));
        assert_eq!(set.encoding(), "listpack");
        set.remove(b"x");
        assert_eq!(set.encoding(), "listpack");
        set.insert(b(&"y".repeat(65)));
        assert_eq!(set.encoding(), "hashtable");

        let mut big = SetValue::with_hint(b"0", 1);
        for i in 0..=MAX_INTSET_ENTRIES {
            big.insert(b(&i.to_string()));
        }
        assert_eq!(big.encoding(), "hashtable");
    }

    #[test]
    fn random_picks() {
        let set = SetValue::from_members((0..10).map(|i| b(&format!("m{i}"))));
        let distinct = set.random_members(5);
        assert_eq!(distinct.len(), 5);
        assert_eq!(
            distinct
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len(),
            5
        );
        assert_eq!(set.random_members(50).len(), 10);
        assert_eq!(set.random_members(-50).len(), 50);
        assert!(set.random_members(0).is_empty());

        let mut popped = set.clone();
        let taken = popped.pop_random(3);
        assert_eq!(popped.len(), 7);
        assert!(taken.iter().all(|m| !popped.contains(m)));
    }

    #[test]
    fn scan_returns_every_member_present_throughout_despite_deletions() {
        let mut set = SetValue::from_members((0..1000).map(|i| b(&format!("m{i}"))));
        assert_eq!(set.encoding(), "hashtable");
        let mut seen = std::collections::HashSet::new();
        let (mut cursor, mut round) = (0, 0);
        loop {
            let (next, members) = set.scan(cursor, 10);
            seen.extend(members);
            for i in (round * 20..round * 20 + 20).filter(|i| i % 2 == 1) {
                set.remove(format!("m{i}").as_bytes());
            }
            round += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        for i in (0..1000).step_by(2) {
            assert!(seen.contains(format!("m{i}").as_bytes()), "m{i} missed");
        }
    }
}
