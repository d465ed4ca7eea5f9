//! Clients blocked on keys (`BLPOP`, `BLMOVE`, `BZPOPMIN`...): who waits on which key, in
//! which order, and the hand-over of the reply once a key has elements.
//!
//! Flow: a blocking command that finds nothing registers its client here (under the store
//! lock) and the client's connection waits on its [`BlockSlot`] without the lock. Commands that
//! add elements mark the key ready ([`BlockingRegistry::signal`]); after each command the
//! connection that ran it serves the ready keys (`crate::connection`), which, for every ready key and in the order
//! the clients blocked, runs the first waiter's command again on its behalf and hands the reply
//! to its slot, until the key is empty or nobody waits on it. Serving, timing out and
//! disconnecting all take the store lock, so an element is popped only for a client still in
//! the registry, and a client leaves no trace once removed. Source of the semantics: Redis's
//! `blocked.c` (clients served first come, first served, per key).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use redoubt_protocol::command_table::Resolved;
use redoubt_protocol::Reply;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::client::ClientHandle;

/// Where a blocked client's reply is delivered.
#[derive(Debug, Default)]
pub(crate) struct BlockSlot {
    reply: Mutex<Option<Reply>>,
    notify: Notify,
}

impl BlockSlot {
    /// Stores the reply and wakes the waiting connection (a wake-up sent before it waits is
    /// kept).
    pub(crate) fn deliver(&self, reply: Reply) {
        *self.reply.lock() = Some(reply);
        self.notify.notify_one();
    }

    /// The delivered reply, if any.
    pub(crate) fn take(&self) -> Option<Reply> {
        self.reply.lock().take()
    }

    /// Waits until a reply has been delivered.
    pub(crate) async fn delivered(&self) {
        self.notify.notified().await;
    }
}

/// What a blocked connection waits for: its slot and its deadline (`None`: forever).
#[derive(Clone, Debug)]
pub(crate) struct BlockWait {
    /// Where the reply arrives.
    pub(crate) slot: Arc<BlockSlot>,
    /// When the client gives up with a nil reply.
    pub(crate) deadline: Option<Instant>,
}

/// The type of value a blocked command waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlockKind {
    /// `BLPOP`, `BRPOP`, `BLMOVE`, `BRPOPLPUSH`, `BLMPOP`.
    List,
    /// `BZPOPMIN`, `BZPOPMAX`, `BZMPOP`.
    ZSet,
    /// `XREAD`, `XREADGROUP`: every waiter of a ready key gets a chance (reading does not
    /// consume), and an `XREADGROUP` waiter learns when its key or group is gone.
    Stream,
}

impl BlockKind {
    /// The type name (`TYPE`) of the values waited for.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            BlockKind::List => "list",
            BlockKind::ZSet => "zset",
            BlockKind::Stream => "stream",
        }
    }
}

/// A blocked client's request, kept to run it again when one of its keys gets elements.
#[derive(Debug)]
pub(crate) struct Blocked {
    /// The client.
    pub(crate) handle: Arc<ClientHandle>,
    /// Database the command ran in.
    pub(crate) db: usize,
    /// Keys waited on.
    pub(crate) keys: Vec<Bytes>,
    /// The command, as resolved when it first ran.
    pub(crate) command: Resolved,
    /// The command and its arguments.
    pub(crate) args: Vec<Bytes>,
    /// Type of value waited for.
    pub(crate) kind: BlockKind,
    /// Reply hand-over and deadline.
    pub(crate) wait: BlockWait,
}

/// Every blocked client and, per database and key, the clients waiting on it in blocking order.
#[derive(Debug, Default)]
pub(crate) struct BlockingRegistry {
    clients: HashMap<u64, Blocked>,
    waiters: HashMap<usize, HashMap<Bytes, VecDeque<u64>>>,
    ready: VecDeque<(usize, Bytes)>,
    ready_set: HashSet<(usize, Bytes)>,
    no_block: bool,
}

impl BlockingRegistry {
    /// Number of blocked clients (INFO `blocked_clients`).
    pub(crate) fn len(&self) -> usize {
        self.clients.len()
    }

    /// True when no client is blocked.
    pub(crate) fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// True when a blocking command may block now. While false (set by whoever runs commands
    /// that must not wait, as `EXEC` does in Redis), blocking forms answer like their
    /// non-blocking forms: a timeout reply at once.
    pub(crate) fn may_block(&self) -> bool {
        !self.no_block
    }

    /// Forbids (`true`) or allows again (`false`) blocking; see [`BlockingRegistry::may_block`].
    #[allow(dead_code)] // The entry point for `EXEC`, which runs queued commands.
    pub(crate) fn forbid_blocking(&mut self, forbid: bool) {
        self.no_block = forbid;
    }

    /// Registers a blocked client, behind every client already waiting on its keys.
    pub(crate) fn block(&mut self, blocked: Blocked) {
        let id = blocked.handle.id;
        let queues = self.waiters.entry(blocked.db).or_default();
        let mut seen = HashSet::new();
        for key in &blocked.keys {
            if seen.insert(key.clone()) {
                queues.entry(key.clone()).or_default().push_back(id);
            }
        }
        self.clients.insert(id, blocked);
    }

    /// How client `id` waits, if it is blocked.
    pub(crate) fn wait_of(&self, id: u64) -> Option<BlockWait> {
        self.clients.get(&id).map(|b| b.wait.clone())
    }

    /// Removes client `id` from the registry (served, timed out or gone).
    pub(crate) fn remove(&mut self, id: u64) -> Option<Blocked> {
        let blocked = self.clients.remove(&id)?;
        if let Some(queues) = self.waiters.get_mut(&blocked.db) {
            for key in &blocked.keys {
                if let Some(queue) = queues.get_mut(key) {
                    queue.retain(|waiter| *waiter != id);
                    if queue.is_empty() {
                        queues.remove(key);
                    }
                }
            }
            if queues.is_empty() {
                self.waiters.remove(&blocked.db);
            }
        }
        Some(blocked)
    }

    /// Marks `key` of database `db` ready if a client waits on it.
    pub(crate) fn signal(&mut self, db: usize, key: &[u8]) {
        if self.clients.is_empty() {
            return;
        }
        let waited = self
            .waiters
            .get(&db)
            .is_some_and(|queues| queues.contains_key(key));
        if waited {
            let ready = (db, Bytes::copy_from_slice(key));
            if self.ready_set.insert(ready.clone()) {
                self.ready.push_back(ready);
            }
        }
    }

    /// Marks ready every key of database `db` a client waits on: the database was emptied
    /// (`FLUSHDB`, `FLUSHALL`), so a blocked `XREADGROUP` learns its stream is gone.
    pub(crate) fn signal_db(&mut self, db: usize) {
        let Some(queues) = self.waiters.get(&db) else {
            return;
        };
        for key in queues.keys() {
            let ready = (db, key.clone());
            if self.ready_set.insert(ready.clone()) {
                self.ready.push_back(ready);
            }
        }
    }

    /// True when some key is ready to serve.
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    pub(crate) fn next_ready(&mut self) -> Option<(usize, Bytes)> {
        let ready = self.ready.pop_front()?;
        self.ready_set.remove(&ready);
        Some(ready)
    }

    /// The clients waiting on `key` of database `db`, in blocking order.
    pub(crate) fn waiters_of(&self, db: usize, key: &[u8]) -> Vec<u64> {
        self.waiters
            .get(&db)
            .and_then(|queues| queues.get(key))
            .map_or_else(Vec::new, |queue| queue.iter().copied().collect())
    }

    /// Blocked client `id`.
    pub(crate) fn get(&self, id: u64) -> Option<&Blocked> {
        self.clients.get(&id)
    }
}
