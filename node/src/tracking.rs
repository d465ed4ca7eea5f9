//! Client-side caching (`CLIENT TRACKING`): which clients cache which keys, and the
//! invalidation messages they receive when those keys change.
//!
//! Default mode keeps a table from key name to the ids of the clients that read it (the
//! database is ignored, as in Redis); a change to a key sends `invalidate [key]` to each and
//! forgets the key, so a client is told once per read. The table holds at most
//! `tracking-table-max-keys` keys: past that, keys are dropped at random and their readers
//! told, when the command that filled it ends. `BCAST` mode keeps no table: each prefix collects the
//! keys changed under it, and the collected keys go to its clients as one message when the
//! command ends. `FLUSHDB` / `FLUSHALL` tell every tracking client "all keys" (a null).
//!
//! Messages travel through the client's pub/sub [`Outbox`](crate::pubsub::Outbox), within the
//! `client-output-buffer-limit pubsub`: a RESP3 client gets a `>` push `invalidate keys`; with
//! `REDIRECT id`, the message goes to client `id` instead, as a push when it speaks RESP3, or
//! as a `message` on `__redis__:invalidate` when it is a RESP2 subscriber. Invalidations for
//! the client whose command is running wait until that command (a whole `EXEC` or script)
//! ends, so they follow its reply. Source of the semantics: Redis 7.2's `tracking.c` and
//! `CLIENT TRACKING` in `networking.c`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use foldhash::fast::RandomState;
use indexmap::{IndexMap, IndexSet};
use redoubt_protocol::{Protocol, Reply};

use crate::client::ClientHandle;
use crate::pubsub::{Message, OutputLimit};

/// The channel a RESP2 client redirected to receives invalidations on.
pub(crate) const INVALIDATE_CHANNEL: &str = "__redis__:invalidate";

/// `CLIENT CACHING` while tracking is off.
pub(crate) const NOT_TRACKING: &str = "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled";

/// Keys dropped from a full table per command, times the runs that found it still full
/// (Redis's effort in `trackingLimitUsedSlots`).
const EVICTION_EFFORT: usize = 100;

/// `CLIENT TRACKING ON` options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Mode {
    /// `BCAST`: told of every change under its prefixes, nothing remembered.
    pub(crate) bcast: bool,
    /// `OPTIN`: only reads after `CLIENT CACHING yes` are remembered.
    pub(crate) optin: bool,
    /// `OPTOUT`: reads after `CLIENT CACHING no` are not remembered.
    pub(crate) optout: bool,
    /// `NOLOOP`: not told of its own changes.
    pub(crate) noloop: bool,
}

#[derive(Debug)]
struct Tracker {
    handle: Arc<ClientHandle>,
    mode: Mode,
    /// `CLIENT CACHING yes|no` given for the next command.
    caching: bool,
    /// `REDIRECT` id (0: none).
    redirect: u64,
    /// The redirect target while it is connected.
    redirect_to: Option<Arc<ClientHandle>>,
    /// A message could not be redirected because the target had gone.
    broken: bool,
    /// `BCAST` prefixes.
    prefixes: BTreeSet<Bytes>,
}

#[derive(Debug, Default)]
struct Prefix {
    clients: IndexSet<u64, RandomState>,
    /// Keys changed since the last broadcast, with the client that last changed each (0:
    /// none, such as expiry).
    changed: IndexMap<Bytes, u64, RandomState>,
}

/// What an invalidation names: some keys, or every key (a flush).
#[derive(Clone, Debug)]
enum Keys {
    Some(Vec<Bytes>),
    All,
}

/// What `CLIENT TRACKINGINFO` shows of a client.
#[derive(Clone, Debug, Default)]
pub(crate) struct TrackerInfo {
    /// Its options.
    pub(crate) mode: Mode,
    /// `CLIENT CACHING` given for the next command.
    pub(crate) caching: bool,
    /// `REDIRECT` id (0: none).
    pub(crate) redirect: u64,
    /// The redirect target went away.
    pub(crate) broken: bool,
    /// `BCAST` prefixes, in byte order.
    pub(crate) prefixes: Vec<Bytes>,
}

/// Every tracking client, the default mode's table and the `BCAST` prefixes.
#[derive(Debug, Default)]
pub(crate) struct Tracking {
    clients: HashMap<u64, Tracker, RandomState>,
    /// Key → ids of the clients that read it.
    table: IndexMap<Bytes, IndexSet<u64, RandomState>, RandomState>,
    /// Sum of the table's id sets (INFO `tracking_total_items`).
    items: usize,
    prefixes: BTreeMap<Bytes, Prefix>,
    /// The client whose command is running, with its protocol.
    current: Option<(u64, Protocol)>,
    /// Invalidations for the running client, sent when its command ends.
    pending: Vec<Keys>,
    /// Commands that found the table still over its limit after dropping keys.
    over_limit_runs: usize,
}

impl Tracking {
    /// True when no client tracks and nothing is remembered: requests then skip tracking.
    pub(crate) fn is_idle(&self) -> bool {
        self.clients.is_empty() && self.table.is_empty()
    }

    /// True when a change to a key may concern someone.
    fn watches_changes(&self) -> bool {
        !self.table.is_empty() || !self.prefixes.is_empty()
    }

    /// True while a command runs between [`Tracking::begin_command`] and
    /// [`Tracking::end_command`].
    pub(crate) fn in_command(&self) -> bool {
        self.current.is_some()
    }

    /// Clients with tracking on (INFO `tracking_clients`).
    pub(crate) fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// Keys in the table (INFO `tracking_total_keys`).
    pub(crate) fn key_count(&self) -> usize {
        self.table.len()
    }

    /// Client ids in the table (INFO `tracking_total_items`).
    pub(crate) fn item_count(&self) -> usize {
        self.items
    }

    /// `BCAST` prefixes in use (INFO `tracking_total_prefixes`).
    pub(crate) fn prefix_count(&self) -> usize {
        self.prefixes.len()
    }

    /// The tracking state of client `id`; `None` when tracking is off for it.
    pub(crate) fn info(&self, id: u64) -> Option<TrackerInfo> {
        self.clients.get(&id).map(|t| TrackerInfo {
            mode: t.mode,
            caching: t.caching,
            redirect: t.redirect,
            broken: t.broken,
            prefixes: t.prefixes.iter().cloned().collect(),
        })
    }

    /// Turns tracking on for `handle`'s client (`CLIENT TRACKING ON`), or changes its options
    /// when it is on: the options and redirection are replaced, `BCAST` prefixes are added to
    /// those it has (none given: the empty prefix, every key). The caller checked the options.
    pub(crate) fn enable(
        &mut self,
        handle: &Arc<ClientHandle>,
        mode: Mode,
        redirect: Option<Arc<ClientHandle>>,
        prefixes: &[Bytes],
    ) {
        let id = handle.id;
        let tracker = self.clients.entry(id).or_insert_with(|| Tracker {
            handle: handle.clone(),
            mode,
            caching: false,
            redirect: 0,
            redirect_to: None,
            broken: false,
            prefixes: BTreeSet::new(),
        });
        tracker.mode = mode;
        tracker.broken = false;
        tracker.redirect = redirect.as_ref().map_or(0, |r| r.id);
        tracker.redirect_to = redirect;
        show(tracker);
        if !mode.bcast {
            return;
        }
        let empty = [Bytes::new()];
        let prefixes = if prefixes.is_empty() {
            &empty[..]
        } else {
            prefixes
        };
        for prefix in prefixes {
            tracker.prefixes.insert(prefix.clone());
            self.prefixes
                .entry(prefix.clone())
                .or_default()
                .clients
                .insert(id);
        }
    }

    /// Turns tracking off for client `id` (`CLIENT TRACKING OFF`, `RESET`). Keys it read stay
    /// in the table until they change, as in Redis.
    pub(crate) fn disable(&mut self, id: u64) {
        let Some(tracker) = self.clients.remove(&id) else {
            return;
        };
        tracker.handle.view.lock().tracking = None;
        for prefix in tracker.prefixes {
            if let Some(entry) = self.prefixes.get_mut(&prefix) {
                entry.clients.swap_remove(&id);
                if entry.clients.is_empty() {
                    self.prefixes.remove(&prefix);
                }
            }
        }
    }

    /// Client `id` disconnected: its tracking ends, and clients redirecting to it find the
    /// redirection broken from now on. When the last tracking client has gone, the table is
    /// emptied (nobody is left to tell), so requests are free of tracking again.
    pub(crate) fn disconnected(&mut self, id: u64) {
        if self.clients.is_empty() {
            return;
        }
        self.disable(id);
        if self.clients.is_empty() {
            self.table = IndexMap::default();
            self.items = 0;
            return;
        }
        for tracker in self.clients.values_mut() {
            if tracker.redirect == id {
                tracker.redirect_to = None;
            }
        }
    }

    /// `CLIENT CACHING yes|no` for client `id`.
    ///
    /// # Errors
    /// Redis's error text when tracking is off, or the client is not in the matching
    /// `OPTIN` (`yes`) / `OPTOUT` (`no`) mode.
    pub(crate) fn caching(&mut self, id: u64, yes: bool) -> Result<(), &'static str> {
        let Some(tracker) = self.clients.get_mut(&id) else {
            return Err(NOT_TRACKING);
        };
        if yes && !tracker.mode.optin {
            return Err(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            );
        }
        if !yes && !tracker.mode.optout {
            return Err(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            );
        }
        tracker.caching = true;
        Ok(())
    }

    /// A command of client `id` (speaking `protocol`) starts: the client's own invalidations
    /// wait for [`Tracking::end_command`].
    pub(crate) fn begin_command(&mut self, id: u64, protocol: Protocol) {
        self.current = Some((id, protocol));
    }

    /// The running command ended: the client's own invalidations go out, `BCAST` clients get
    /// what changed under their prefixes, a `CLIENT CACHING` choice is spent unless
    /// `keep_caching` (inside `MULTI`, or a `CLIENT` command), and the table is brought back
    /// under `max_keys` (0: no limit) by telling the readers of keys dropped at random.
    pub(crate) fn end_command(&mut self, keep_caching: bool, max_keys: usize, limit: OutputLimit) {
        let Some((id, _)) = self.current else {
            return;
        };
        let now = Instant::now();
        for keys in std::mem::take(&mut self.pending) {
            self.send(id, &keys, limit, now);
        }
        self.current = None;
        if !keep_caching {
            if let Some(tracker) = self.clients.get_mut(&id) {
                tracker.caching = false;
            }
        }
        self.broadcast(limit);
        if max_keys > 0 && self.table.len() > max_keys {
            self.shrink(max_keys, limit);
        }
    }

    /// Remembers that client `id` read `keys`, unless it tracks in `BCAST` mode or its
    /// `OPTIN`/`OPTOUT` choice excludes this read.
    pub(crate) fn remember<'a>(&mut self, id: u64, keys: impl IntoIterator<Item = &'a Bytes>) {
        let Some(tracker) = self.clients.get(&id) else {
            return;
        };
        let mode = tracker.mode;
        if mode.bcast || mode.optin && !tracker.caching || mode.optout && tracker.caching {
            return;
        }
        for key in keys {
            if self.table.entry(key.clone()).or_default().insert(id) {
                self.items += 1;
            }
        }
    }

    /// `key` changed (in any database): its readers are told and forgotten, and `BCAST`
    /// prefixes matching it collect it.
    pub(crate) fn invalidate(&mut self, key: &[u8], limit: OutputLimit) {
        if !self.watches_changes() {
            return;
        }
        if !self.prefixes.is_empty() {
            let writer = self.current.map_or(0, |(id, _)| id);
            for (prefix, entry) in &mut self.prefixes {
                if key.starts_with(prefix) {
                    entry.changed.insert(Bytes::copy_from_slice(key), writer);
                }
            }
        }
        self.tell_readers(key, limit);
    }

    /// Tells the readers of `key` it changed and forgets it.
    fn tell_readers(&mut self, key: &[u8], limit: OutputLimit) {
        let Some(ids) = self.table.swap_remove(key) else {
            return;
        };
        self.items -= ids.len();
        let now = Instant::now();
        let keys = Keys::Some(vec![Bytes::copy_from_slice(key)]);
        for id in ids {
            let Some(tracker) = self.clients.get(&id) else {
                continue;
            };
            if tracker.mode.bcast {
                continue;
            }
            if self.current.is_some_and(|(current, _)| current == id) {
                if !tracker.mode.noloop {
                    self.pending.push(keys.clone());
                }
                continue;
            }
            self.send(id, &keys, limit, now);
        }
    }

    /// Every key changed (`FLUSHDB`, `FLUSHALL`): every tracking client is told so with a
    /// null, and the table is emptied.
    pub(crate) fn invalidate_all(&mut self, limit: OutputLimit) {
        let now = Instant::now();
        let ids: Vec<u64> = self.clients.keys().copied().collect();
        for id in ids {
            if self.current.is_some_and(|(current, _)| current == id) {
                self.pending.push(Keys::All);
            } else {
                self.send(id, &Keys::All, limit, now);
            }
        }
        self.table = IndexMap::default();
        self.items = 0;
    }

    /// Sends what changed under each `BCAST` prefix since the last call to its clients (a
    /// `NOLOOP` client is not told of its own changes). Waits for the end of a running
    /// command.
    pub(crate) fn broadcast(&mut self, limit: OutputLimit) {
        if self.current.is_some() {
            return;
        }
        let mut messages = Vec::new();
        for entry in self.prefixes.values_mut() {
            if entry.changed.is_empty() {
                continue;
            }
            let changed = std::mem::take(&mut entry.changed);
            for &id in &entry.clients {
                let noloop = self.clients.get(&id).is_some_and(|t| t.mode.noloop);
                let keys: Vec<Bytes> = changed
                    .iter()
                    .filter(|(_, writer)| !noloop || **writer != id)
                    .map(|(key, _)| key.clone())
                    .collect();
                if !keys.is_empty() {
                    messages.push((id, keys));
                }
            }
        }
        let now = Instant::now();
        for (id, keys) in messages {
            self.send(id, &Keys::Some(keys), limit, now);
        }
    }

    /// Drops random keys from the table, telling their readers, until it holds `max_keys`
    /// or the effort of this run is spent.
    fn shrink(&mut self, max_keys: usize, limit: OutputLimit) {
        let mut effort = EVICTION_EFFORT * (self.over_limit_runs + 1);
        while self.table.len() > max_keys && effort > 0 {
            effort -= 1;
            let index = rand::random::<usize>() % self.table.len();
            let key = self.table.get_index(index).map(|(k, _)| k.clone());
            if let Some(key) = key {
                self.tell_readers(&key, limit);
            }
        }
        if self.table.len() > max_keys {
            self.over_limit_runs += 1;
        } else {
            self.over_limit_runs = 0;
        }
    }

    /// Sends `keys` to tracking client `id`, or to its redirect target (see the module doc).
    fn send(&mut self, id: u64, keys: &Keys, limit: OutputLimit, now: Instant) {
        let current = self.current;
        let protocol_of = |handle: &ClientHandle| match current {
            Some((running, protocol)) if running == handle.id => protocol,
            _ if handle.view.lock().resp == 3 => Protocol::Resp3,
            _ => Protocol::Resp2,
        };
        let Some(tracker) = self.clients.get_mut(&id) else {
            return;
        };
        let (target, redirected) = match (tracker.redirect, &tracker.redirect_to) {
            (0, _) => (tracker.handle.clone(), false),
            (_, Some(to)) => (to.clone(), true),
            (redirect, None) => {
                if !tracker.broken {
                    tracker.broken = true;
                    show(tracker);
                }
                if protocol_of(&tracker.handle) == Protocol::Resp3 {
                    let frame = Reply::Push(vec![
                        Reply::bulk_static("tracking-redir-broken"),
                        Reply::Int(redirect as i64),
                    ]);
                    tracker
                        .handle
                        .outbox
                        .push(Message::ready(frame), limit, now);
                }
                return;
            }
        };
        let payload = match keys {
            Keys::Some(keys) => Reply::Array(keys.iter().cloned().map(Reply::Bulk).collect()),
            Keys::All => Reply::Null,
        };
        let frame = if protocol_of(&target) == Protocol::Resp3 {
            Reply::Push(vec![Reply::bulk_static("invalidate"), payload])
        } else if redirected && is_subscribed(&target) {
            Reply::Push(vec![
                Reply::bulk_static("message"),
                Reply::bulk_static(INVALIDATE_CHANNEL),
                payload,
            ])
        } else {
            // A RESP2 connection cannot take pushes between replies.
            return;
        };
        target.outbox.push(Message::ready(frame), limit, now);
    }
}

/// Shows `tracker`'s state in its client's `CLIENT LIST` line (`flags`, `redir`).
fn show(tracker: &Tracker) {
    let flags = match (tracker.broken, tracker.mode.bcast) {
        (false, false) => "t",
        (false, true) => "tB",
        (true, false) => "tR",
        (true, true) => "tRB",
    };
    tracker.handle.view.lock().tracking = Some((tracker.redirect, flags));
}

/// True when `client` subscribes to anything (a RESP2 client in subscribed mode).
fn is_subscribed(client: &ClientHandle) -> bool {
    let subs = client.view.lock().subs;
    subs.0 + subs.1 + subs.2 > 0
}

#[cfg(test)]
mod tests;
