//! One worker's cache of idle transaction connections: a [`HeldConnection`] left clean by its
//! transaction (no `MULTI` open, nothing watched, same database and protocol as when it was
//! opened) is [parked](HeldConnection::park) here instead of closed, and the next transaction
//! of that worker for the same group, database and protocol resumes it, saving a connect and
//! its greeting (`AUTH`, `HELLO`, `EPOCH`, `SELECT`, `CLIENT ID`).
//!
//! An entry is reused only while its group's primary and epoch are those it was opened with;
//! entries of a failed-over group, entries idle longer than [`IDLE_TIMEOUT`] and entries past
//! [`MAX_IDLE_PER_GROUP`] are closed whenever the cache is touched, so it stays small and
//! never hands out a connection to a demoted primary. Parked connections do not count in
//! `redoubt_proxy_pinned_connections`.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use redoubt_protocol::Protocol;
use tokio::time::Instant;

use super::held::{HeldConnection, HoldReason, ParkedConnection, PinnedConnections};

/// Idle connections kept per group (all databases and protocols together), at most.
pub(crate) const MAX_IDLE_PER_GROUP: usize = 16;
/// An idle connection is closed after this long unused.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a connection was opened for: it is reused only for the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IdleKey {
    /// The group's index.
    pub(crate) group: usize,
    /// The primary it is connected to.
    pub(crate) addr: SocketAddr,
    /// The group's epoch when it was opened.
    pub(crate) epoch: u64,
    /// Its database.
    pub(crate) db: usize,
    /// Its protocol.
    pub(crate) protocol: Protocol,
}

#[derive(Debug)]
struct Entry {
    key: IdleKey,
    since: Instant,
    connection: ParkedConnection,
}

/// The cache (see the module docs); one per worker.
#[derive(Debug, Default)]
pub(crate) struct IdleConnections {
    /// Oldest first.
    entries: Mutex<Vec<Entry>>,
}

impl IdleConnections {
    /// A connection parked for `key`, held again for `reason`; `None` when there is none.
    /// `current` tells, per group, its primary and epoch now; entries that no longer match
    /// are closed.
    pub(crate) fn take(
        &self,
        key: IdleKey,
        current: impl Fn(usize) -> (SocketAddr, u64),
        reason: HoldReason,
        pinned: &PinnedConnections,
    ) -> Option<HeldConnection> {
        let mut entries = self.lock();
        prune(&mut entries, &current);
        while let Some(at) = entries.iter().rposition(|e| e.key == key) {
            let mut entry = entries.remove(at);
            if entry.connection.looks_usable() {
                return Some(entry.connection.resume(reason, pinned));
            }
        }
        None
    }

    /// Parks `connection`, opened for `key` and left clean; the oldest of its group is closed
    /// past [`MAX_IDLE_PER_GROUP`].
    pub(crate) fn put(
        &self,
        key: IdleKey,
        connection: HeldConnection,
        current: impl Fn(usize) -> (SocketAddr, u64),
    ) {
        let mut entries = self.lock();
        prune(&mut entries, &current);
        if current(key.group) != (key.addr, key.epoch) {
            return;
        }
        let mut of_group = entries.iter().filter(|e| e.key.group == key.group).count();
        while of_group >= MAX_IDLE_PER_GROUP {
            if let Some(at) = entries.iter().position(|e| e.key.group == key.group) {
                entries.remove(at);
            }
            of_group -= 1;
        }
        entries.push(Entry {
            key,
            since: Instant::now(),
            connection: connection.park(),
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Closes the entries idle too long or whose group failed over since they were opened.
fn prune(entries: &mut Vec<Entry>, current: &impl Fn(usize) -> (SocketAddr, u64)) {
    let now = Instant::now();
    entries.retain(|e| {
        now.duration_since(e.since) < IDLE_TIMEOUT
            && current(e.key.group) == (e.key.addr, e.key.epoch)
    });
}
