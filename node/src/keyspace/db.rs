//! One logical database (Redis `SELECT`s 0-15): keys, their values and their expiry times.
//!
//! Keys live in a [`KeyTable`], an insertion-ordered hash map, so that a uniformly random key
//! is an O(1) index (`RANDOMKEY`, active expiry sampling) and `SCAN` can walk it with a stable
//! cursor. Expiry times (Unix milliseconds) live apart, in `expires`, the table the active
//! expiry cycle samples from, as Redis samples its `expires` dict; an entry carries only a flag
//! saying it has one, so a key without a time to live pays nothing for expiry and its lookups
//! stay one probe.
//!
//! Memory per key is what this module is shaped by: a key is a [`CompactBytes`] (short keys
//! inline), an [`Entry`] is 32 bytes, and a table slot is the key and the entry (56 bytes) plus
//! a 4-byte position in the hash table (see `keyspace::table`).
//!
//! `SCAN` walks indexes from the end towards 0. Removal swaps the last entry into the hole, and
//! the last entry is always at or above the cursor (already returned) or the hole is below the
//! cursor too, so every key present for the whole scan is returned at least once, which is
//! Redis's `SCAN` guarantee; keys added during a scan may or may not be returned.

use bytes::Bytes;
use rand::Rng;

use super::evict::Touch;
use super::table::{KeyTable, UnindexedKeys};
use crate::glob::glob_match;
use crate::value::{CompactBytes, Value};

/// The bit of [`Entry`]'s stamp saying the key has a time to live (in `Db::expires`).
const TTL_FLAG: u32 = 1 << 31;

/// A stored value with its eviction and snapshot bookkeeping (32 bytes). Its expiry time, if
/// any, is in the database's `expires` map ([`Db::get_with_expiry`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    /// The value.
    pub(crate) value: Value,
    /// Last access (LRU clock) or access frequency (LFU counter), see `keyspace::evict`.
    pub(crate) access: u32,
    /// Low 31 bits: the snapshot generation this entry already belongs to (see [`Capture`]);
    /// top bit ([`TTL_FLAG`]): the key has a time to live.
    stamp: u32,
}

const _: () = assert!(std::mem::size_of::<Entry>() <= 32);
// A key's slot in the table: the key inline (up to 22 bytes) and its entry.
const _: () = assert!(std::mem::size_of::<(CompactBytes, Entry)>() <= 56);

impl Entry {
    fn new(value: Value, access: u32, generation: u32, has_ttl: bool) -> Entry {
        let flag = if has_ttl { TTL_FLAG } else { 0 };
        Entry {
            value,
            access,
            stamp: generation | flag,
        }
    }

    /// An entry with no time to live and no snapshot generation (for tests elsewhere).
    #[cfg(test)]
    pub(crate) fn test_new(value: Value, access: u32) -> Entry {
        Entry::new(value, access, 0, false)
    }

    /// True when the key has a time to live.
    pub(crate) fn has_ttl(&self) -> bool {
        self.stamp & TTL_FLAG != 0
    }

    fn set_ttl_flag(&mut self, on: bool) {
        self.stamp = if on {
            self.stamp | TTL_FLAG
        } else {
            self.stamp & !TTL_FLAG
        };
    }

    fn generation(&self) -> u32 {
        self.stamp & !TTL_FLAG
    }

    fn set_generation(&mut self, generation: u32) {
        self.stamp = (self.stamp & TTL_FLAG) | generation;
    }
}

/// A key's value with its expiry time (Unix ms; `None`: no time to live), as it leaves the
/// database ([`Db::remove`], a snapshot's capture) or as [`Db::iter`] shows it (`V = &Value`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Item<V = Value> {
    /// The value.
    pub(crate) value: V,
    /// When the key expires, in Unix milliseconds; `None` for no time to live.
    pub(crate) expires_at: Option<u64>,
}

/// How lookups treat keys whose time to live has passed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ExpiryMode {
    /// A primary: remove them (and log them, so the removal is streamed as a `DEL`).
    #[default]
    Delete,
    /// A standby serving a client: hide them but keep them; the primary's `DEL` removes them.
    Hide,
    /// A standby applying its primary's stream: treat them as live, as the primary did.
    Ignore,
}

/// One database.
#[derive(Clone, Debug, Default)]
pub(crate) struct Db {
    entries: KeyTable<Entry>,
    /// Expiry time (Unix ms) of each key that has one; exactly the entries flagged
    /// [`Entry::has_ttl`].
    expires: KeyTable<u64>,
    /// Keys removed because their time to live passed (INFO `expired_keys`).
    pub(crate) expired_keys: u64,
    /// How expired keys are treated now.
    pub(crate) mode: ExpiryMode,
    /// Keys removed by expiry since the log was last drained (streamed as `DEL`s).
    pub(crate) expired_log: Vec<Bytes>,
    /// How reads and writes update a key's access word (the eviction policy's bookkeeping).
    pub(crate) touch: Touch,
    /// Reads and writes leave access words alone (`CLIENT NO-TOUCH on`, for one command).
    pub(crate) no_touch: bool,
    /// Generation of the latest snapshot begun (31 bits); entries stamped with it need no
    /// saving.
    generation: u32,
    /// The snapshot being taken, if any.
    capture: Option<Capture>,
}

/// Milliseconds since the Unix epoch (a new key's access time).
fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A point-in-time snapshot of one database taken while clients keep writing, without fork.
///
/// [`Db::begin_capture`] starts generation `g` in O(1). A saver then walks the entries with
/// [`Db::capture_chunk`], a few hundred at a time under the store lock, copying each entry not
/// yet stamped `g` and stamping it. Before any change to an entry not yet stamped (modify,
/// re-expire, overwrite, remove, expire, flush), the database first copies it as it was into
/// `preserved` and stamps it, so the saver receives every key exactly once with its value at
/// the instant the capture began; keys created after it are stamped `g` at birth and left out.
/// Only keys written during the save are copied twice, as a fork's copy-on-write pages would be.
#[derive(Clone, Debug, Default)]
pub(crate) struct Capture {
    /// Entries changed before the saver reached them, as they were when the capture began.
    preserved: Vec<(Bytes, Item)>,
}

/// A database being filled from a snapshot: keys are appended as they are read and indexed
/// once at the end ([`DbLoader::finish`]), a cache-friendly pass instead of a random probe
/// per key (see `value::table::bulk`). Nothing can be looked up before then.
#[derive(Default)]
pub(crate) struct DbLoader {
    entries: UnindexedKeys<Entry>,
    /// The expiry times of the keys that have one, in the same order as their entries.
    expires: UnindexedKeys<u64>,
    touch: Touch,
}

impl DbLoader {
    /// Makes room for `keys` more keys, `expires` of them with a time to live (the snapshot's
    /// `RESIZEDB` record).
    pub(crate) fn reserve(&mut self, keys: usize, expires: usize) {
        self.entries.reserve(keys);
        self.expires.reserve(expires);
    }

    /// The access word of a key loaded at `now_ms` (the same for a batch of keys: the LRU
    /// clock counts seconds, the LFU clock minutes).
    pub(crate) fn fresh_access(&self, now_ms: u64) -> u32 {
        self.touch.fresh(now_ms)
    }

    /// Appends `key` → `value` with expiry `expires_at` (Unix ms) and access word `access`.
    pub(crate) fn insert(
        &mut self,
        key: CompactBytes,
        value: Value,
        expires_at: Option<u64>,
        access: u32,
    ) {
        if let Some(at) = expires_at {
            self.expires.push(key.clone(), at);
        }
        let entry = Entry::new(value, access, 0, expires_at.is_some());
        self.entries.push(key, entry);
    }

    /// The database. A key that came twice (a file Redis would refuse) ends with its last
    /// value and time to live, as when each replaces the one before ([`Db::insert_loaded`]).
    pub(crate) fn finish(self) -> Db {
        let DbLoader {
            entries, expires, ..
        } = self;
        match entries.index() {
            Ok(entries) => match expires.index() {
                Ok(expires) => Db {
                    entries,
                    expires,
                    ..Db::default()
                },
                // Impossible with unique keys; rebuilt one by one all the same.
                Err(expires) => replay(entries.into_iter(), expires),
            },
            Err(entries) => replay(entries.into_entries(), expires),
        }
    }
}

/// A database of `entries` in order, each key replacing an earlier one; the expiry times of
/// those flagged with a time to live come in the same order from `expires`.
fn replay(entries: impl Iterator<Item = (CompactBytes, Entry)>, expires: UnindexedKeys<u64>) -> Db {
    let mut db = Db::default();
    let mut times = expires.into_entries().map(|(_, at)| at);
    for (key, entry) in entries {
        let expires_at = if entry.has_ttl() { times.next() } else { None };
        db.insert_loaded(key, entry.value, expires_at, entry.access);
    }
    db
}

/// What `SCAN` returns: the next cursor (0 when done) and the keys of this step.
pub(crate) type ScanPage = (u64, Vec<Bytes>);

/// The expiry time of `entry` stored under `key` (a lookup in `expires` only when flagged).
fn expiry_in(expires: &KeyTable<u64>, key: &[u8], entry: &Entry) -> Option<u64> {
    if entry.has_ttl() {
        expires.get(key).copied()
    } else {
        None
    }
}

impl Db {
    /// Number of keys, counting expired keys not yet removed (as Redis's `DBSIZE` does).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the database holds no keys.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes the key table and the expiry table have allocated (their slots and buckets, not
    /// the keys' and values' own heap buffers): the tables' share of INFO
    /// `used_memory_overhead`.
    pub(crate) fn tables_memory(&self) -> (u64, u64) {
        (
            self.entries.allocation_size() as u64,
            self.expires.allocation_size() as u64,
        )
    }

    /// Number of keys with a time to live.
    pub(crate) fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// Average remaining time to live of the keys that have one, in ms (INFO `avg_ttl`),
    /// estimated from a sample as Redis estimates it.
    pub(crate) fn avg_ttl_ms(&self, now_ms: u64) -> u64 {
        let sample = self.expires.len().min(64);
        if sample == 0 {
            return 0;
        }
        let total: u64 = (0..sample)
            .filter_map(|i| self.expires.get_index(i))
            .map(|(_, at)| at.saturating_sub(now_ms))
            .sum();
        total / sample as u64
    }

    /// The live entry under `key`, removing it first if it has expired (lazy expiry).
    /// Counts as an access for eviction (see `keyspace::evict`).
    pub(crate) fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        let index = self.live_index(key, now_ms)?;
        self.touch_index(index, now_ms);
        self.entries.get_index(index).map(|(_, e)| e)
    }

    /// The live entry under `key` with its expiry time (Unix ms; `None` for no time to live),
    /// as [`Db::get`].
    pub(crate) fn get_with_expiry(
        &mut self,
        key: &[u8],
        now_ms: u64,
    ) -> Option<(&Entry, Option<u64>)> {
        let index = self.live_index(key, now_ms)?;
        self.touch_index(index, now_ms);
        let (key, entry) = self.entries.get_index(index)?;
        Some((entry, expiry_in(&self.expires, key, entry)))
    }

    /// The live entry under `key`, for modification (lazy expiry and access as
    /// [`Db::get`]).
    pub(crate) fn get_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        let index = self.live_index(key, now_ms)?;
        self.preserve(index);
        self.touch_index(index, now_ms);
        self.entries.get_index_mut(index).map(|(_, e)| e)
    }

    /// Updates the access word of the entry at `index` (unless `no_touch`).
    fn touch_index(&mut self, index: usize, now_ms: u64) {
        if self.no_touch {
            return;
        }
        let touch = self.touch;
        if let Some((_, e)) = self.entries.get_index_mut(index) {
            e.access = touch.touched(e.access, now_ms);
        }
    }

    /// The entry under `key`, expired or not, without counting an access (`OBJECT`).
    pub(crate) fn peek_entry(&self, key: &[u8]) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// True when `key` is stored, expired or not.
    pub(crate) fn contains_raw(&self, key: &[u8]) -> bool {
        self.entries.contains_key(key)
    }

    /// True when `key` is stored with a time to live.
    pub(crate) fn has_expiry(&self, key: &[u8]) -> bool {
        self.expires.contains_key(key)
    }

    /// Calls `f(key, entry, expires_at)` on up to `n` random entries, from the keys with a
    /// time to live when `volatile`; returns how many it visited (for eviction sampling).
    pub(crate) fn sample(
        &self,
        n: usize,
        volatile: bool,
        rng: &mut impl Rng,
        mut f: impl FnMut(&[u8], &Entry, Option<u64>),
    ) -> usize {
        let len = if volatile {
            self.expires.len()
        } else {
            self.entries.len()
        };
        let n = n.min(len);
        for _ in 0..n {
            let i = rng.gen_range(0..len);
            if volatile {
                let (key, &at) = self.expires.get_index(i).expect("index below len");
                if let Some(entry) = self.entries.get(&key[..]) {
                    f(key, entry, Some(at));
                }
            } else if let Some((key, entry)) = self.entries.get_index(i) {
                f(key, entry, expiry_in(&self.expires, key, entry));
            }
        }
        n
    }

    /// A random key, among those with a time to live when `volatile`.
    pub(crate) fn sample_key(&self, volatile: bool, rng: &mut impl Rng) -> Option<Bytes> {
        if volatile {
            if self.expires.is_empty() {
                return None;
            }
            let i = rng.gen_range(0..self.expires.len());
            return self.expires.get_index(i).map(|(k, _)| k.to_bytes());
        }
        if self.entries.is_empty() {
            return None;
        }
        let i = rng.gen_range(0..self.entries.len());
        self.entries.get_index(i).map(|(k, _)| k.to_bytes())
    }

    /// True when `key` exists and has not expired.
    pub(crate) fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.live_index(key, now_ms).is_some()
    }

    /// True when the entry at `index` has a time to live that has passed.
    fn is_expired(&self, index: usize, now_ms: u64) -> bool {
        let (key, entry) = self.entries.get_index(index).expect("index in range");
        expiry_in(&self.expires, key, entry).is_some_and(|at| at <= now_ms)
    }

    fn live_index(&mut self, key: &[u8], now_ms: u64) -> Option<usize> {
        let index = self.entries.get_index_of(key)?;
        if self.mode != ExpiryMode::Ignore && self.is_expired(index, now_ms) {
            if self.mode == ExpiryMode::Delete {
                self.expire_index(index);
            }
            return None;
        }
        Some(index)
    }

    fn expire_index(&mut self, index: usize) {
        let key = self.entries.get_index(index).map(|(k, _)| k.to_bytes());
        self.remove_index(index);
        self.expired_keys += 1;
        self.expired_log.extend(key);
    }

    /// Gives the entry at `index` expiry `expires_at`, keeping `expires` and the entry's flag
    /// in step.
    fn put_expiry(&mut self, index: usize, expires_at: Option<u64>) {
        let (key, entry) = self.entries.get_index_mut(index).expect("index in range");
        match expires_at {
            Some(at) => {
                if let Some(old) = self.expires.get_mut(&key[..]) {
                    *old = at;
                } else {
                    self.expires.insert(key.clone(), at);
                }
                entry.set_ttl_flag(true);
            }
            None if entry.has_ttl() => {
                self.expires.swap_remove(&key[..]);
                entry.set_ttl_flag(false);
            }
            None => {}
        }
    }

    /// Stores `value` under `key` with expiry `expires_at`, replacing any old value and TTL.
    pub(crate) fn set(&mut self, key: &[u8], value: Value, expires_at: Option<u64>) {
        match self.entries.get_index_of(key) {
            Some(index) => {
                self.preserve(index);
                self.put_expiry(index, expires_at);
                let generation = self.generation;
                let (_, entry) = self.entries.get_index_mut(index).expect("index in range");
                entry.value = value;
                entry.set_generation(generation);
            }
            None => {
                let key = CompactBytes::from(key);
                if let Some(at) = expires_at {
                    self.expires.insert(key.clone(), at);
                }
                let access = self.touch.fresh(now_unix_ms());
                let entry = Entry::new(value, access, self.generation, expires_at.is_some());
                self.entries.insert(key, entry);
            }
        }
    }

    /// Stores a key read from a snapshot: `value` under `key` with expiry `expires_at` and
    /// access word `access` (the loader's clock, read once per batch of keys, not per key).
    /// One probe of the key table for a new key; a key already present (a file Redis would
    /// refuse) is replaced, value and time to live, as [`Db::set`] replaces it.
    pub(crate) fn insert_loaded(
        &mut self,
        key: CompactBytes,
        value: Value,
        expires_at: Option<u64>,
        access: u32,
    ) {
        let entry = Entry::new(value, access, self.generation, expires_at.is_some());
        if let Some(at) = expires_at {
            self.expires.insert(key.clone(), at);
        }
        let (index, old) = self.entries.insert_full(key, entry);
        let Some(old) = old else {
            return;
        };
        // Replaced: the old entry's time to live goes unless the new one has its own.
        if old.has_ttl() && expires_at.is_none() {
            let (key, _) = self.entries.get_index(index).expect("index in range");
            let key = key.clone();
            self.expires.swap_remove(&key[..]);
        }
    }

    /// Sets or clears the expiry of an existing key; false when the key does not exist.
    pub(crate) fn set_expiry(&mut self, key: &[u8], expires_at: Option<u64>) -> bool {
        let Some(index) = self.entries.get_index_of(key) else {
            return false;
        };
        self.preserve(index);
        self.put_expiry(index, expires_at);
        true
    }

    /// Removes `key` whatever its state; its value and expiry if it was live.
    pub(crate) fn remove(&mut self, key: &[u8], now_ms: u64) -> Option<Item> {
        let index = self.entries.get_index_of(key)?;
        if self.mode != ExpiryMode::Ignore && self.is_expired(index, now_ms) {
            if self.mode == ExpiryMode::Delete {
                self.expire_index(index);
            }
            return None;
        }
        Some(self.remove_index(index))
    }

    fn remove_index(&mut self, index: usize) -> Item {
        self.preserve(index);
        let (key, entry) = self
            .entries
            .swap_remove_index(index)
            .expect("index in range");
        let expires_at = if entry.has_ttl() {
            self.expires.swap_remove(&key[..])
        } else {
            None
        };
        Item {
            value: entry.value,
            expires_at,
        }
    }

    /// Removes every key.
    pub(crate) fn clear(&mut self) {
        let entries = std::mem::take(&mut self.entries);
        let expires = std::mem::take(&mut self.expires);
        if let Some(capture) = &mut self.capture {
            let generation = self.generation;
            capture.preserved.extend(
                entries
                    .into_iter()
                    .filter(|(_, e)| e.generation() != generation)
                    .map(|(k, e)| {
                        let expires_at = expiry_in(&expires, &k, &e);
                        let item = Item {
                            value: e.value,
                            expires_at,
                        };
                        (k.to_bytes(), item)
                    }),
            );
        }
    }

    /// Replaces every key with those of `other` (a loaded snapshot), as [`Db::clear`] then
    /// the new keys: a capture under way keeps the old keys and ignores the new ones.
    pub(crate) fn replace_with(&mut self, mut other: Db) {
        self.clear();
        if self.capture.is_some() {
            for entry in other.entries.values_mut() {
                entry.set_generation(self.generation);
            }
        }
        self.entries = other.entries;
        self.expires = other.expires;
    }

    /// Live keys matching the glob `pattern` (`KEYS`).
    pub(crate) fn keys(&self, pattern: &[u8], now_ms: u64) -> Vec<Bytes> {
        let all = pattern == b"*";
        self.entries
            .iter()
            .filter(|(k, e)| {
                expiry_in(&self.expires, k, e).is_none_or(|at| at > now_ms)
                    && (all || glob_match(pattern, k, false))
            })
            .map(|(k, _)| k.to_bytes())
            .collect()
    }

    /// One `SCAN` step from `cursor`, visiting about `count` keys, keeping the live ones for
    /// which `keep` holds. Cursor 0 starts a scan; a returned cursor of 0 ends it.
    pub(crate) fn scan(
        &self,
        cursor: u64,
        count: usize,
        now_ms: u64,
        mut keep: impl FnMut(&[u8], &Entry) -> bool,
    ) -> ScanPage {
        let len = self.entries.len() as u64;
        // The cursor is one past the next index to visit, walking down.
        let mut next = if cursor == 0 { len } else { cursor.min(len) };
        let mut keys = Vec::new();
        let mut visited = 0;
        while next > 0 && visited < count.max(1) {
            next -= 1;
            visited += 1;
            if self.is_expired(next as usize, now_ms) {
                continue;
            }
            let (key, entry) = self
                .entries
                .get_index(next as usize)
                .expect("index below len");
            if keep(key, entry) {
                keys.push(key.to_bytes());
            }
        }
        (next, keys)
    }

    /// A uniformly random live key, removing expired keys met on the way (`RANDOMKEY`).
    pub(crate) fn random_key(&mut self, now_ms: u64) -> Option<Bytes> {
        let mut rng = rand::thread_rng();
        // Bounded like Redis: if nearly everything is expired, give up after many tries.
        for _ in 0..100 {
            if self.entries.is_empty() {
                return None;
            }
            let index = rng.gen_range(0..self.entries.len());
            if self.is_expired(index, now_ms) {
                if self.mode == ExpiryMode::Delete {
                    self.expire_index(index);
                }
                continue;
            }
            return self.entries.get_index(index).map(|(k, _)| k.to_bytes());
        }
        None
    }

    /// One round of active expiry: samples up to `sample` keys that have a time to live and
    /// removes the expired ones. Returns (sampled, removed); callers repeat while more than a
    /// quarter of a sample was expired, as Redis's `activeExpireCycle` does.
    pub(crate) fn expire_sample(&mut self, sample: usize, now_ms: u64) -> (usize, usize) {
        let mut rng = rand::thread_rng();
        let mut removed = 0;
        let sampled = sample.min(self.expires.len());
        for _ in 0..sampled {
            if self.expires.is_empty() {
                break;
            }
            let i = rng.gen_range(0..self.expires.len());
            let (key, &at) = self.expires.get_index(i).expect("index below len");
            if at > now_ms {
                continue;
            }
            if let Some(index) = self.entries.get_index_of(&key[..]) {
                self.expire_index(index);
                removed += 1;
            }
        }
        (sampled, removed)
    }

    /// Copies the entry at `index` for the snapshot under way before it changes, unless the
    /// snapshot already has it.
    fn preserve(&mut self, index: usize) {
        let Some(capture) = &mut self.capture else {
            return;
        };
        let (key, entry) = self.entries.get_index_mut(index).expect("index in range");
        if entry.generation() != self.generation {
            entry.set_generation(self.generation);
            let item = Item {
                value: entry.value.clone(),
                expires_at: expiry_in(&self.expires, key, entry),
            };
            capture.preserved.push((key.to_bytes(), item));
        }
    }

    /// Begins a point-in-time capture of this database (see [`Capture`]); O(1). Returns the
    /// cursor for the first [`Db::capture_chunk`]. A capture already under way is abandoned.
    pub(crate) fn begin_capture(&mut self) -> usize {
        self.generation = self.generation.wrapping_add(1) & !TTL_FLAG;
        self.capture = Some(Capture::default());
        self.entries.len()
    }

    /// Moves the next part of the capture into `out`: the entries preserved since the last
    /// call, then up to `max` entries below `cursor` (walking down, as `SCAN` does, so the
    /// swap-removal of a key never hides another) that the capture does not have yet. Returns
    /// the next cursor; 0 when the walk is over (then call [`Db::end_capture`]).
    pub(crate) fn capture_chunk(
        &mut self,
        cursor: usize,
        max: usize,
        out: &mut Vec<(Bytes, Item)>,
    ) -> usize {
        let Some(capture) = &mut self.capture else {
            return 0;
        };
        out.append(&mut capture.preserved);
        let mut next = cursor.min(self.entries.len());
        let mut visited = 0;
        while next > 0 && visited < max {
            next -= 1;
            visited += 1;
            let (key, entry) = self.entries.get_index_mut(next).expect("index below len");
            if entry.generation() != self.generation {
                entry.set_generation(self.generation);
                let item = Item {
                    value: entry.value.clone(),
                    expires_at: expiry_in(&self.expires, key, entry),
                };
                out.push((key.to_bytes(), item));
            }
        }
        next
    }

    /// Ends the capture, moving its last preserved entries into `out`.
    pub(crate) fn end_capture(&mut self, out: &mut Vec<(Bytes, Item)>) {
        if let Some(mut capture) = self.capture.take() {
            out.append(&mut capture.preserved);
        }
    }

    /// Iterates over every key with its value and expiry, expired or not (for snapshots and
    /// memory estimates).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&CompactBytes, Item<&Value>)> {
        self.entries.iter().map(|(key, entry)| {
            let item = Item {
                value: &entry.value,
                expires_at: expiry_in(&self.expires, key, entry),
            };
            (key, item)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::RString;

    fn s(v: &'static str) -> Value {
        Value::Str(RString::new(v.as_bytes()))
    }

    #[test]
    fn lazy_expiry_and_ttl_bookkeeping() {
        let mut db = Db::default();
        db.set(b"a", s("1"), Some(100));
        db.set(b"b", s("2"), None);
        assert_eq!(db.expires_len(), 1);
        assert!(db.get(b"a", 99).is_some());
        assert!(db.get(b"a", 100).is_none());
        assert_eq!(db.len(), 1);
        assert_eq!(db.expires_len(), 0);
        assert_eq!(db.expired_keys, 1);
        db.set(b"b", s("3"), Some(50));
        assert_eq!(db.expires_len(), 1);
        db.set(b"b", s("4"), None);
        assert_eq!(db.expires_len(), 0);
    }

    #[test]
    fn expiry_lives_in_expires_and_is_flagged_on_the_entry() {
        assert_eq!(std::mem::size_of::<Entry>(), 32);
        let mut db = Db::default();
        db.set(b"plain", s("1"), None);
        db.set(b"timed", s("2"), Some(500));
        assert!(!db.peek_entry(b"plain").unwrap().has_ttl());
        assert!(db.peek_entry(b"timed").unwrap().has_ttl());
        assert_eq!(
            db.get_with_expiry(b"plain", 0).map(|(_, at)| at),
            Some(None)
        );
        assert_eq!(
            db.get_with_expiry(b"timed", 0).map(|(_, at)| at),
            Some(Some(500))
        );
        // Re-expire, clear, set again: flag and map stay in step.
        assert!(db.set_expiry(b"timed", Some(700)));
        assert_eq!(
            db.get_with_expiry(b"timed", 0).map(|(_, at)| at),
            Some(Some(700))
        );
        assert!(db.set_expiry(b"timed", None));
        assert!(!db.peek_entry(b"timed").unwrap().has_ttl());
        assert_eq!(db.expires_len(), 0);
        db.set_expiry(b"plain", Some(900));
        let removed = db.remove(b"plain", 0).unwrap();
        assert_eq!((removed.value, removed.expires_at), (s("1"), Some(900)));
        assert_eq!(db.expires_len(), 0);
        // A long key goes to the heap and is found by its bytes like a short one.
        let long = [b'k'; 100];
        db.set(&long, s("3"), Some(5));
        assert_eq!(db.keys(b"k*", 0), vec![Bytes::copy_from_slice(&long)]);
        assert!(db.keys(b"*", 5).iter().all(|k| k[..] != long[..]));
        let items: Vec<_> = db
            .iter()
            .map(|(k, i)| (k.to_bytes(), i.expires_at))
            .collect();
        assert!(items.contains(&(Bytes::copy_from_slice(&long), Some(5))));
    }

    /// Keys loaded in bulk keep their values, expiry times and access words; a key that comes
    /// twice ends as its last record says, time to live included.
    #[test]
    fn loader_indexes_keys_once_and_a_repeated_key_keeps_its_last_record() {
        let mut loader = DbLoader::default();
        loader.reserve(4, 2);
        let key = |k: &str| CompactBytes::from(k.as_bytes());
        loader.insert(key("a"), s("1"), Some(100), 7);
        loader.insert(key("b"), s("2"), None, 8);
        loader.insert(key("c"), s("3"), Some(300), 9);
        let mut db = loader.finish();
        assert_eq!((db.len(), db.expires_len()), (3, 2));
        assert_eq!(db.peek_entry(b"b").map(|e| e.access), Some(8));
        assert_eq!(
            db.get_with_expiry(b"c", 0)
                .map(|(e, at)| (e.value.clone(), at)),
            Some((s("3"), Some(300)))
        );
        assert!(db.get(b"a", 100).is_none(), "expired at 100");

        let mut loader = DbLoader::default();
        loader.insert(key("a"), s("1"), Some(100), 0);
        loader.insert(key("b"), s("2"), Some(200), 0);
        loader.insert(key("a"), s("3"), None, 0);
        loader.insert(key("b"), s("4"), Some(400), 0);
        let mut db = loader.finish();
        assert_eq!((db.len(), db.expires_len()), (2, 1));
        assert_eq!(
            db.get_with_expiry(b"a", 0)
                .map(|(e, at)| (e.value.clone(), at)),
            Some((s("3"), None))
        );
        assert_eq!(
            db.get_with_expiry(b"b", 0)
                .map(|(e, at)| (e.value.clone(), at)),
            Some((s("4"), Some(400)))
        );
    }

    #[test]
    fn scan_returns_every_key_present_throughout_despite_deletions() {
        let mut db = Db::default();
        for i in 0..1000 {
            db.set(format!("k{i}").as_bytes(), s("v"), None);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            let (next, keys) = db.scan(cursor, 10, 0, |_, _| true);
            seen.extend(keys);
            // Delete keys with odd numbers as the scan goes; even ones stay throughout.
            for i in (round * 20..round * 20 + 20).filter(|i| i % 2 == 1) {
                db.remove(format!("k{i}").as_bytes(), 0);
            }
            round += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        for i in (0..1000).step_by(2) {
            assert!(seen.contains(format!("k{i}").as_bytes()), "k{i} missed");
        }
    }

    #[test]
    fn active_expiry_sampling_removes_expired_keys() {
        let mut db = Db::default();
        for i in 0..100 {
            db.set(format!("k{i}").as_bytes(), s("v"), Some(10));
        }
        let mut rounds = 0;
        while db.expires_len() > 0 && rounds < 1000 {
            db.expire_sample(20, 11);
            rounds += 1;
        }
        assert_eq!(db.len(), 0);
        assert_eq!(db.expired_keys, 100);
    }

    #[test]
    fn capture_sees_the_database_as_it_was_when_it_began() {
        let mut db = Db::default();
        for i in 0..500 {
            db.set(
                format!("k{i}").as_bytes(),
                s("old"),
                (i % 2 == 0).then_some(1_000 + i),
            );
        }
        let mut out = Vec::new();
        let mut cursor = db.begin_capture();
        let mut round = 0;
        while cursor > 0 {
            cursor = db.capture_chunk(cursor, 7, &mut out);
            // Writes between chunks: overwrite, delete, create, modify in place, expire.
            let k = |n: usize| format!("k{}", (n * 37) % 500);
            db.set(k(round).as_bytes(), s("new"), None);
            db.remove(k(round + 1).as_bytes(), 0);
            db.set(format!("fresh{round}").as_bytes(), s("new"), None);
            db.set_expiry(k(round + 2).as_bytes(), Some(1));
            db.set_expiry(k(round + 4).as_bytes(), None);
            if let Some(e) = db.get_mut(k(round + 3).as_bytes(), 0) {
                e.value = s("changed");
            }
            round += 1;
        }
        db.end_capture(&mut out);
        let mut keys: Vec<&Bytes> = out.iter().map(|(k, _)| k).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 500, "every key once");
        assert_eq!(out.len(), 500);
        for (key, entry) in &out {
            assert!(
                key.starts_with(b"k"),
                "{key:?} was created after the capture began"
            );
            assert_eq!(entry.value, s("old"));
            let n: u64 = std::str::from_utf8(&key[1..]).unwrap().parse().unwrap();
            assert_eq!(entry.expires_at, (n % 2 == 0).then_some(1_000 + n));
        }
        // A flush during a capture hands over what was not saved yet.
        let mut out = Vec::new();
        let cursor = db.begin_capture();
        let live = db.len();
        db.capture_chunk(cursor, 10, &mut out);
        db.clear();
        db.end_capture(&mut out);
        assert_eq!(out.len(), live);
    }
}
