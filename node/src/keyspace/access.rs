//! Typed key access, in one place: read, write, write-or-create and remove-if-empty over the
//! kinds of value a key can hold ([`Kind`]). A read counts a keyspace hit or miss
//! (`INFO keyspace_hits`/`_misses`); a key holding another kind answers `WRONGTYPE`. Source:
//! Redis's `lookupKeyRead`/`lookupKeyWrite` with `checkType`.

use redoubt_protocol::Reply;

use super::Store;
use crate::value::{HashValue, ListValue, RString, SetValue, StreamValue, Value, ZSetValue};

/// `WRONGTYPE` error text.
pub(crate) const WRONGTYPE: &str =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

/// A kind of value a key can hold: its view in a [`Value`], and how a new one is made.
pub(crate) trait Kind: Sized {
    /// The value as this kind, `None` when it holds another.
    fn of(value: &Value) -> Option<&Self>;
    /// The value as this kind, for modification.
    fn of_mut(value: &mut Value) -> Option<&mut Self>;
    /// An empty value of this kind, as a write-or-create makes it.
    fn empty() -> Value;
    /// True when the value holds nothing: a collection key never outlives its last element.
    fn is_empty(&self) -> bool;
}

macro_rules! collection_kind {
    ($type:ty, $variant:ident) => {
        impl Kind for $type {
            fn of(value: &Value) -> Option<&Self> {
                match value {
                    Value::$variant(v) => Some(v),
                    _ => None,
                }
            }

            fn of_mut(value: &mut Value) -> Option<&mut Self> {
                match value {
                    Value::$variant(v) => Some(v),
                    _ => None,
                }
            }

            fn empty() -> Value {
                Value::$variant(Box::default())
            }

            fn is_empty(&self) -> bool {
                <$type>::is_empty(self)
            }
        }
    };
}

collection_kind!(HashValue, Hash);
collection_kind!(ListValue, List);
collection_kind!(SetValue, Set);
collection_kind!(ZSetValue, ZSet);

impl Kind for StreamValue {
    fn of(value: &Value) -> Option<&Self> {
        match value {
            Value::Stream(v) => Some(v),
            _ => None,
        }
    }

    fn of_mut(value: &mut Value) -> Option<&mut Self> {
        match value {
            Value::Stream(v) => Some(v),
            _ => None,
        }
    }

    fn empty() -> Value {
        Value::Stream(Box::default())
    }

    /// A stream key stays when its last entry goes (Redis keeps empty streams, with their
    /// groups and last ID).
    fn is_empty(&self) -> bool {
        false
    }
}

impl Kind for RString {
    fn of(value: &Value) -> Option<&Self> {
        match value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn of_mut(value: &mut Value) -> Option<&mut Self> {
        match value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn empty() -> Value {
        Value::Str(RString::new(b""))
    }

    /// An empty string is a value like any other: its key stays.
    fn is_empty(&self) -> bool {
        false
    }
}

fn wrongtype() -> Reply {
    Reply::error(WRONGTYPE)
}

impl Store {
    /// The value of kind `K` under `key` in database `db`, counting a keyspace hit or miss:
    /// `Ok(None)` when absent.
    ///
    /// # Errors
    /// `WRONGTYPE` when `key` holds another kind.
    pub(crate) fn read<K: Kind>(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: u64,
    ) -> Result<Option<&K>, Reply> {
        let found = self.dbs[db].get(key, now_ms);
        if found.is_some() {
            self.keyspace_hits += 1;
        } else {
            self.keyspace_misses += 1;
        }
        match found {
            None => Ok(None),
            Some(entry) => K::of(&entry.value).map(Some).ok_or_else(wrongtype),
        }
    }

    /// As [`Store::read`], for modification (a list pop, which Redis counts as a lookup).
    ///
    /// # Errors
    /// `WRONGTYPE` when `key` holds another kind.
    pub(crate) fn read_mut<K: Kind>(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: u64,
    ) -> Result<Option<&mut K>, Reply> {
        let found = self.dbs[db].get_mut(key, now_ms);
        if found.is_some() {
            self.keyspace_hits += 1;
        } else {
            self.keyspace_misses += 1;
        }
        match found {
            None => Ok(None),
            Some(entry) => K::of_mut(&mut entry.value).map(Some).ok_or_else(wrongtype),
        }
    }

    /// The value of kind `K` under `key`, without counting a lookup: `Ok(None)` when absent.
    ///
    /// # Errors
    /// `WRONGTYPE` when `key` holds another kind.
    pub(crate) fn peek<K: Kind>(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: u64,
    ) -> Result<Option<&K>, Reply> {
        match self.dbs[db].get(key, now_ms) {
            None => Ok(None),
            Some(entry) => K::of(&entry.value).map(Some).ok_or_else(wrongtype),
        }
    }

    /// The value of kind `K` under `key` for modification, without counting a lookup (as
    /// Redis's `lookupKeyWrite`): `Ok(None)` when absent.
    ///
    /// # Errors
    /// `WRONGTYPE` when `key` holds another kind.
    pub(crate) fn write<K: Kind>(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: u64,
    ) -> Result<Option<&mut K>, Reply> {
        match self.dbs[db].get_mut(key, now_ms) {
            None => Ok(None),
            Some(entry) => K::of_mut(&mut entry.value).map(Some).ok_or_else(wrongtype),
        }
    }

    /// The value of kind `K` under `key` for modification, created empty (without expiry)
    /// when absent: a caller that creates a collection must add to it before returning.
    ///
    /// # Errors
    /// `WRONGTYPE` when `key` holds another kind.
    pub(crate) fn write_or_create<K: Kind>(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: u64,
    ) -> Result<&mut K, Reply> {
        let db = &mut self.dbs[db];
        if !db.contains(key, now_ms) {
            db.set(key, K::empty(), None);
        }
        let entry = db.get_mut(key, now_ms).expect("present: created above");
        K::of_mut(&mut entry.value).ok_or_else(wrongtype)
    }

    /// Removes `key` when it holds an empty value of kind `K`; true when it did.
    pub(crate) fn remove_if_empty<K: Kind>(&mut self, db: usize, key: &[u8], now_ms: u64) -> bool {
        let empty = matches!(self.write::<K>(db, key, now_ms), Ok(Some(v)) if v.is_empty());
        if empty {
            self.dbs[db].remove(key, now_ms);
        }
        empty
    }

    /// Counts `changes` to the dataset (keys or elements written): what replication and
    /// `INFO` read to know a write changed something.
    pub(crate) fn changed(&mut self, changes: u64) {
        self.dirty += changes;
    }

    /// Changes to the dataset so far.
    pub(crate) fn dirty(&self) -> u64 {
        self.dirty
    }
}
