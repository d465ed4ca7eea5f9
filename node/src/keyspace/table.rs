//! `KeyTable`: the map from keys to entries a database keeps, the generic
//! [`crate::value::table::Table`] keyed by the key's bytes (a dense `Vec` of `(key, entry)`
//! slots in insertion order and a hash table of positions; see that module for the layout and
//! what a key costs). Removal swaps the last key into the hole, which keeps `SCAN`'s guarantee.

/// Keys mapped to values of type `V` (database entries, expiry times).
pub(crate) type KeyTable<V> = crate::value::table::Table<V>;

/// A key table's entries appended in bulk and indexed once (loading a snapshot).
pub(crate) type UnindexedKeys<V> = crate::value::table::Unindexed<V>;
