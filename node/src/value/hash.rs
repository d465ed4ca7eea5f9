//! Hash values: field → value.

use bytes::Bytes;
use foldhash::fast::RandomState;
use indexmap::IndexMap;

/// A hash. Insertion-ordered so that a random field is an O(1) pick (`HRANDFIELD`) and `HSCAN`
/// can walk it with a stable cursor.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HashValue {
    /// Fields and their values.
    pub fields: IndexMap<Bytes, Bytes, RandomState>,
}

impl HashValue {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when the hash has no fields (the key must then be removed).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// `listpack` while Redis would keep the compact encoding (at most 128 fields, no field or
    /// value over 64 bytes), else `hashtable`.
    pub fn encoding(&self) -> &'static str {
        let small = self.fields.len() <= 128
            && self
                .fields
                .iter()
                .all(|(f, v)| f.len() <= 64 && v.len() <= 64);
        if small {
            "listpack"
        } else {
            "hashtable"
        }
    }
}
