//! Hash values: field → value.
//!
//! Fields live in an insertion-ordered hash map, so a random field is an O(1) index
//! (`HRANDFIELD`) and `HSCAN` can walk a large hash by index. The hash tracks the encoding Redis
//! would use: a `listpack` keeps insertion order (deleting shifts the rest), a `hashtable` makes
//! no promise and is scanned like [`super::SetValue`] (removal swaps the last field into the
//! hole). Encodings only grow, as in Redis.

use bytes::Bytes;
use foldhash::fast::RandomState;
use indexmap::IndexMap;

use super::set::{random_indexes, scan_window};

/// Most fields a hash `listpack` holds (`hash-max-listpack-entries`).
const MAX_LISTPACK_ENTRIES: usize = 512;
/// Longest field or value a hash `listpack` holds (`hash-max-listpack-value`).
const MAX_LISTPACK_VALUE: usize = 64;

/// A hash.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct HashValue {
    fields: IndexMap<Bytes, Bytes, RandomState>,
    /// True once Redis would have converted the hash to a `hashtable`.
    hashtable: bool,
}

impl HashValue {
    /// Number of fields.
    pub(crate) fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when the hash has no fields (the key must then be removed).
    pub(crate) fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value of `field`.
    pub(crate) fn get(&self, field: &[u8]) -> Option<&Bytes> {
        self.fields.get(field)
    }

    /// True when `field` exists.
    pub(crate) fn contains(&self, field: &[u8]) -> bool {
        self.fields.contains_key(field)
    }

    /// Fields and values, in the order Redis's encoding would list them.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.fields.iter()
    }

    /// Sets `field` to `value`; true when the field is new.
    pub(crate) fn insert(&mut self, field: Bytes, value: Bytes) -> bool {
        if field.len() > MAX_LISTPACK_VALUE || value.len() > MAX_LISTPACK_VALUE {
            self.hashtable = true;
        }
        let new = self.fields.insert(field, value).is_none();
        if self.fields.len() > MAX_LISTPACK_ENTRIES {
            self.hashtable = true;
        }
        new
    }

    /// Removes `field`; true when it was there.
    pub(crate) fn remove(&mut self, field: &[u8]) -> bool {
        if self.hashtable {
            // Swapping keeps `scan`'s guarantee.
            self.fields.swap_remove(field).is_some()
        } else {
            // A listpack keeps its order when an entry goes.
            self.fields.shift_remove(field).is_some()
        }
    }

    /// `HRANDFIELD`'s choice: for `count >= 0`, up to `count` distinct fields (the whole hash
    /// when `count` reaches its size); for `count < 0`, `-count` fields that may repeat.
    pub(crate) fn random_fields(&self, count: i64) -> Vec<(Bytes, Bytes)> {
        random_indexes(&mut rand::thread_rng(), self.len(), count)
            .into_iter()
            .map(|i| {
                let (f, v) = self.fields.get_index(i).expect("index below len");
                (f.clone(), v.clone())
            })
            .collect()
    }

    /// One `HSCAN` step from `cursor`, visiting about `count` fields. A `listpack` hash is
    /// returned whole with cursor 0, as Redis does.
    pub(crate) fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<(Bytes, Bytes)>) {
        let pair = |(f, v): (&Bytes, &Bytes)| (f.clone(), v.clone());
        if !self.hashtable {
            return (0, self.fields.iter().map(pair).collect());
        }
        let (next, range) = scan_window(self.len(), cursor, count);
        let page = range
            .rev()
            .map(|i| pair(self.fields.get_index(i).expect("index below len")))
            .collect();
        (next, page)
    }

    /// `listpack` while Redis would keep the compact encoding, else `hashtable`.
    pub(crate) fn encoding(&self) -> &'static str {
        if self.hashtable {
            "hashtable"
        } else {
            "listpack"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn listpack_order_and_sticky_conversion() {
        let mut h = HashValue::default();
        for f in ["a", "b", "c"] {
            assert!(h.insert(b(f), b("1")));
        }
        assert!(!h.insert(b("a"), b("2")));
        h.remove(b"a");
        let order: Vec<_> = h.iter().map(|(f, _)| f.clone()).collect();
        assert_eq!(order, [b("b"), b("c")]);
        assert_eq!(h.encoding(), "listpack");
        h.insert(b("big"), b(&"v".repeat(65)));
        h.remove(b"big");
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn scan_returns_every_field_present_throughout_despite_deletions() {
        let mut h = HashValue::default();
        for i in 0..1000 {
            h.insert(b(&format!("f{i}")), b("v"));
        }
        let mut seen = std::collections::HashSet::new();
        let (mut cursor, mut round) = (0, 0);
        loop {
            let (next, page) = h.scan(cursor, 7);
            seen.extend(page.into_iter().map(|(f, _)| f));
            for i in (round * 14..round * 14 + 14).filter(|i| i % 2 == 1) {
                h.remove(format!("f{i}").as_bytes());
            }
            round += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        for i in (0..1000).step_by(2) {
            assert!(seen.contains(format!("f{i}").as_bytes()), "f{i} missed");
        }
    }
}
