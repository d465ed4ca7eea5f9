//! Hash values: field → value.
//!
//! A small hash is a `listpack` as in Redis: its fields and values alternate in one flat
//! [`Pack`] in insertion order (deleting shifts the rest), searched linearly. Once it holds
//! more than `hash-max-listpack-entries` fields, or a field or value longer than
//! `hash-max-listpack-value` bytes arrives, it becomes a `hashtable` for good (Redis converts
//! hashes only upwards): a [`Table`] of field → value, both [`CompactBytes`] (up to 22 bytes
//! inline, so a short field costs its 48-byte slot and no allocation), insertion-ordered so a
//! random field is an O(1) index (`HRANDFIELD`) and `HSCAN` walks it by index like
//! [`super::SetValue`] (removal swaps the last field into the hole).

use bytes::Bytes;

use super::pack::Pack;
use super::set::{random_indexes, scan_window};
use super::table::{self, Table};
use super::CompactBytes;

/// When a hash leaves the `listpack` encoding (Redis's `hash-max-listpack-*` parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HashLimits {
    /// Most fields a `listpack` holds (`hash-max-listpack-entries`, default 512).
    pub(crate) entries: usize,
    /// Longest field or value a `listpack` holds, in bytes (`hash-max-listpack-value`,
    /// default 64).
    pub(crate) value: usize,
}

impl Default for HashLimits {
    fn default() -> Self {
        HashLimits {
            entries: 512,
            value: 64,
        }
    }
}

/// A hash.
#[derive(Clone, Debug)]
pub(crate) struct HashValue {
    repr: Repr,
}

#[derive(Clone, Debug)]
enum Repr {
    /// Field, value, field, value ... in insertion order; `len` counts fields.
    Listpack { pack: Pack, len: u32 },
    /// Field → value; each kept inline when it has at most 22 bytes.
    Table(Box<Table<CompactBytes>>),
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue {
            repr: Repr::Listpack {
                pack: Pack::default(),
                len: 0,
            },
        }
    }
}

impl PartialEq for HashValue {
    /// Same fields with the same values, whatever the encodings.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

/// Where a field sits in a listpack: the byte ranges of its field and value entries.
struct Slot {
    field: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
}

fn find_in<'a>(pack: &'a Pack, field: &[u8]) -> Option<(Slot, &'a [u8])> {
    let mut spans = pack.spans();
    while let (Some((f_span, f)), Some((v_span, v))) = (spans.next(), spans.next()) {
        if f == field {
            let slot = Slot {
                field: f_span,
                value: v_span,
            };
            return Some((slot, v));
        }
    }
    None
}

impl HashValue {
    /// Number of fields.
    pub(crate) fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack { len, .. } => *len as usize,
            Repr::Table(table) => table.len(),
        }
    }

    /// True when the hash has no fields (the key must then be removed).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `field`.
    pub(crate) fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Listpack { pack, .. } => find_in(pack, field).map(|(_, v)| v),
            Repr::Table(table) => table.get(field).map(|v| v.as_slice()),
        }
    }

    /// True when `field` exists.
    pub(crate) fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Fields and values, in the order Redis's encoding would list them.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let (pack, table) = match &self.repr {
            Repr::Listpack { pack, .. } => (Some(pack.iter()), None),
            Repr::Table(table) => (None, Some(table.iter())),
        };
        let mut pack = pack.into_iter().flatten();
        let from_pack = std::iter::from_fn(move || Some((pack.next()?, pack.next()?)));
        let from_table = table
            .into_iter()
            .flatten()
            .map(|(f, v)| (f.as_slice(), v.as_slice()));
        from_pack.chain(from_table)
    }

    /// Converts to a `hashtable` before a write of `new_fields` pairs whose longest field or
    /// value is `longest` bytes, when that write could not stay a `listpack` (Redis's
    /// `hashTypeTryConversion`, which presumes the fields are new).
    pub(crate) fn prepare(&mut self, new_fields: usize, longest: usize, limits: &HashLimits) {
        if matches!(self.repr, Repr::Listpack { .. })
            && (new_fields > limits.entries || longest > limits.value)
        {
            self.convert(self.len() + new_fields);
        }
    }

    fn convert(&mut self, capacity: usize) {
        let Repr::Listpack { pack, .. } = &self.repr else {
            return;
        };
        let mut table = Table::with_capacity(capacity);
        let mut items = pack.iter();
        while let (Some(f), Some(v)) = (items.next(), items.next()) {
            table.insert(f, CompactBytes::from(v));
        }
        drop(items);
        self.repr = Repr::Table(Box::new(table));
    }

    /// Sets `field` to `value`; true when the field is new. A listpack that would break
    /// `limits` becomes a hash table first.
    pub(crate) fn insert(&mut self, field: &[u8], value: &[u8], limits: &HashLimits) -> bool {
        if let Repr::Listpack { pack, len } = &mut self.repr {
            if field.len() <= limits.value && value.len() <= limits.value {
                match find_in(pack, field) {
                    Some((slot, old)) if old.len() == value.len() => {
                        pack.overwrite(slot.value, value);
                        return false;
                    }
                    Some((slot, _)) => {
                        pack.splice(slot.value, &[value]);
                        return false;
                    }
                    None if (*len as usize) < limits.entries => {
                        pack.push(&[field, value]);
                        *len += 1;
                        return true;
                    }
                    None => {}
                }
            }
            self.convert(self.len() + 1);
        }
        let Repr::Table(table) = &mut self.repr else {
            unreachable!("converted above");
        };
        table.insert(field, CompactBytes::from(value)).is_none()
    }

    /// Removes `field`; true when it was there.
    pub(crate) fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack { pack, len } => match find_in(pack, field) {
                Some((slot, _)) => {
                    // A listpack keeps its order when an entry goes.
                    pack.splice(slot.field.start..slot.value.end, &[]);
                    *len -= 1;
                    true
                }
                None => false,
            },
            // Swapping keeps `scan`'s guarantee.
            Repr::Table(table) => table.swap_remove(field).is_some(),
        }
    }

    /// Every field and value, copied, in iteration order.
    fn pairs(&self) -> Vec<(Bytes, Bytes)> {
        self.iter()
            .map(|(f, v)| (Bytes::copy_from_slice(f), Bytes::copy_from_slice(v)))
            .collect()
    }

    /// `HRANDFIELD`'s choice: for `count >= 0`, up to `count` distinct fields (the whole hash
    /// when `count` reaches its size); for `count < 0`, `-count` fields that may repeat.
    pub(crate) fn random_fields(&self, count: i64) -> Vec<(Bytes, Bytes)> {
        let picked = random_indexes(&mut rand::thread_rng(), self.len(), count);
        match &self.repr {
            Repr::Listpack { .. } => {
                let pairs = self.pairs();
                picked.into_iter().map(|i| pairs[i].clone()).collect()
            }
            Repr::Table(table) => picked
                .into_iter()
                .map(|i| {
                    let (f, v) = table.get_index(i).expect("index below len");
                    (f.to_bytes(), v.to_bytes())
                })
                .collect(),
        }
    }

    /// One `HSCAN` step from `cursor`, visiting about `count` fields. A `listpack` hash is
    /// returned whole with cursor 0, as Redis does.
    pub(crate) fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<(Bytes, Bytes)>) {
        let Repr::Table(table) = &self.repr else {
            return (0, self.pairs());
        };
        let (next, range) = scan_window(self.len(), cursor, count);
        let page = range
            .rev()
            .map(|i| {
                let (f, v) = table.get_index(i).expect("index below len");
                (f.to_bytes(), v.to_bytes())
            })
            .collect();
        (next, page)
    }

    /// Estimated bytes the contents take beyond the [`HashValue`] itself: exact for a
    /// listpack; for a table, its slots and buckets plus the heap buffers of fields and
    /// values over 22 bytes, averaged over the first few fields. O(1).
    pub(crate) fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Listpack { pack, .. } => pack.bytes(),
            Repr::Table(table) => {
                let outside = |s: &CompactBytes| if s.is_heap() { s.len() } else { 0 };
                let sampled = table.iter().take(5).map(|(f, v)| outside(f) + outside(v));
                std::mem::size_of::<Table<CompactBytes>>()
                    + table.allocation_size()
                    + table::sampled_total(table.len(), sampled)
            }
        }
    }

    /// `listpack` while Redis would keep the compact encoding, else `hashtable`.
    pub(crate) fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack { .. } => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HashLimits = HashLimits {
        entries: 512,
        value: 64,
    };

    fn hash_of(pairs: &[(&str, &str)]) -> HashValue {
        let mut h = HashValue::default();
        for (f, v) in pairs {
            h.insert(f.as_bytes(), v.as_bytes(), &LIMITS);
        }
        h
    }

    fn fields(h: &HashValue) -> Vec<String> {
        h.iter()
            .map(|(f, _)| String::from_utf8_lossy(f).into_owned())
            .collect()
    }

    #[test]
    fn listpack_order_updates_and_sticky_conversion() {
        assert_eq!(std::mem::size_of::<HashValue>(), 24);
        let mut h = HashValue::default();
        for f in ["a", "b", "c"] {
            assert!(h.insert(f.as_bytes(), b"1", &LIMITS));
        }
        assert!(!h.insert(b"a", b"2", &LIMITS));
        assert!(!h.insert(b"b", b"longer", &LIMITS));
        assert_eq!(h.get(b"a"), Some(&b"2"[..]));
        assert_eq!(h.get(b"b"), Some(&b"longer"[..]));
        assert_eq!(h.get(b"zz"), None);
        assert!(h.remove(b"a"));
        assert!(!h.remove(b"a"));
        assert_eq!(fields(&h), ["b", "c"]);
        assert_eq!(h.len(), 2);
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"big", "v".repeat(65).as_bytes(), &LIMITS);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(fields(&h), ["b", "c", "big"]);
        h.remove(b"big");
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h, hash_of(&[("b", "longer"), ("c", "1")]));
    }

    #[test]
    fn conversions_follow_the_limits() {
        let tight = HashLimits {
            entries: 2,
            value: 4,
        };
        let mut h = HashValue::default();
        h.insert(b"f1", b"v", &tight);
        h.insert(b"f2", b"v", &tight);
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"f3", b"v", &tight);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(fields(&h), ["f1", "f2", "f3"]);

        let mut long_field = HashValue::default();
        long_field.insert(b"fieldname", b"v", &tight);
        assert_eq!(long_field.encoding(), "hashtable");

        let mut many = hash_of(&[("a", "1")]);
        many.prepare(3, 1, &tight);
        assert_eq!(many.encoding(), "hashtable");
        let mut few = hash_of(&[("a", "1")]);
        few.prepare(2, 4, &tight);
        assert_eq!(few.encoding(), "listpack");

        let mut at_limit = HashValue::default();
        for i in 0..512 {
            at_limit.insert(format!("f{i}").as_bytes(), b"v", &LIMITS);
        }
        assert_eq!(at_limit.encoding(), "listpack");
        at_limit.insert(b"f0", b"w", &LIMITS);
        assert_eq!(at_limit.encoding(), "listpack");
        at_limit.insert(b"f512", b"v", &LIMITS);
        assert_eq!(at_limit.encoding(), "hashtable");
        assert_eq!(at_limit.len(), 513);
        assert_eq!(at_limit.get(b"f0"), Some(&b"w"[..]));
    }

    #[test]
    fn random_and_scan_cover_both_encodings() {
        for n in [5, 600] {
            let mut h = HashValue::default();
            for i in 0..n {
                h.insert(
                    format!("f{i}").as_bytes(),
                    format!("v{i}").as_bytes(),
                    &LIMITS,
                );
            }
            let picked = h.random_fields(3);
            assert_eq!(picked.len(), 3);
            for (f, v) in &picked {
                assert_eq!(h.get(f), Some(&v[..]));
            }
            assert_eq!(h.random_fields(-1000).len(), 1000);
            assert_eq!(h.random_fields(10_000).len(), n);
            let (next, page) = h.scan(0, 10);
            if n == 5 {
                assert_eq!((next, page.len()), (0, 5));
            } else {
                assert_eq!((next, page.len()), (590, 10));
            }
        }
    }

    #[test]
    fn scan_returns_every_field_present_throughout_despite_deletions() {
        let mut h = HashValue::default();
        for i in 0..1000 {
            h.insert(format!("f{i}").as_bytes(), b"v", &LIMITS);
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
