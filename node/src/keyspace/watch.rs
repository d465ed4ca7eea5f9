//! Keys watched by `WATCH`, and the version each has reached: a write to a watched key bumps
//! its version, and a transaction whose watched versions moved is not run (`EXEC` answers a
//! null array). Only watched keys are tracked, so a node nobody watches pays one emptiness
//! check per write. Source of the semantics: Redis's `multi.c` (`touchWatchedKey`,
//! `touchAllWatchedKeysInDb`).

use std::collections::HashMap;

use bytes::Bytes;

#[derive(Debug)]
struct Watched {
    version: u64,
    watchers: u32,
}

/// Watched keys by database and key, with their versions and watcher counts.
#[derive(Debug, Default)]
pub(crate) struct Watches {
    keys: HashMap<(usize, Bytes), Watched>,
    next_version: u64,
}

impl Watches {
    /// True when no client watches any key.
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds a watcher of `key` in `db`; returns the key's current version.
    pub(crate) fn watch(&mut self, db: usize, key: &Bytes) -> u64 {
        let entry = self.keys.entry((db, key.clone())).or_insert(Watched {
            version: 0,
            watchers: 0,
        });
        entry.watchers += 1;
        entry.version
    }

    /// Removes one watcher of `key` in `db`, forgetting the key when nobody watches it.
    pub(crate) fn unwatch(&mut self, db: usize, key: &Bytes) {
        let id = (db, key.clone());
        if let Some(entry) = self.keys.get_mut(&id) {
            entry.watchers = entry.watchers.saturating_sub(1);
            if entry.watchers == 0 {
                self.keys.remove(&id);
            }
        }
    }

    /// The version of a watched key (0 when nobody watches it).
    pub(crate) fn version(&self, db: usize, key: &Bytes) -> u64 {
        self.keys.get(&(db, key.clone())).map_or(0, |w| w.version)
    }

    /// Marks `key` in `db` as modified, if watched.
    pub(crate) fn touch(&mut self, db: usize, key: &[u8]) {
        if self.keys.is_empty() {
            return;
        }
        if let Some(entry) = self.keys.get_mut(&(db, Bytes::copy_from_slice(key))) {
            self.next_version += 1;
            entry.version = self.next_version;
        }
    }

    /// Marks every watched key of `db` for which `exists` holds as modified (`FLUSHDB`,
    /// `FLUSHALL`, `SWAPDB`: only keys that were there count, as in Redis).
    pub(crate) fn touch_db(&mut self, db: usize, mut exists: impl FnMut(&[u8]) -> bool) {
        for ((watched_db, key), entry) in &mut self.keys {
            if *watched_db == db && exists(key) {
                self.next_version += 1;
                entry.version = self.next_version;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touch_moves_only_the_watched_key_and_unwatch_forgets_it() {
        let mut w = Watches::default();
        let a = Bytes::from_static(b"a");
        let b = Bytes::from_static(b"b");
        let v = w.watch(0, &a);
        w.touch(0, b"b");
        w.touch(1, b"a");
        assert_eq!(w.version(0, &a), v);
        w.touch(0, b"a");
        assert_ne!(w.version(0, &a), v);
        w.unwatch(0, &a);
        assert!(w.is_empty());
        w.watch(0, &b);
        w.touch_db(0, |k| k == b"x");
        assert_eq!(w.version(0, &b), 0);
        w.touch_db(0, |k| k == b"b");
        assert_ne!(w.version(0, &b), 0);
    }
}
