//! Every client connected to this proxy, across workers: what `CLIENT LIST`, `CLIENT INFO`,
//! `CLIENT KILL` and `CLIENT UNBLOCK` read and act on. Each session registers a
//! [`ClientHandle`] when it starts and removes it when it ends; the handle carries what the
//! listing shows and the signals other clients send it (kill, unblock).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use redoubt_protocol::command_table::Resolved;
use tokio::sync::Notify;

/// How `CLIENT UNBLOCK` ends a wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unblock {
    /// As if the timeout passed (the command's nil reply).
    Timeout,
    /// With `-UNBLOCKED client unblocked via CLIENT UNBLOCK`.
    Error,
}

/// What a client's `CLIENT LIST` line shows, changed as it runs.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientView {
    /// `CLIENT SETNAME` / `HELLO SETNAME`.
    pub(crate) name: String,
    /// The selected database.
    pub(crate) db: usize,
    /// The last command (shown `client|list` style).
    pub(crate) last_command: Option<Resolved>,
    /// When the last command arrived.
    pub(crate) last_active: Option<Instant>,
    /// Protocol version (2 or 3).
    pub(crate) resp: i64,
    /// `CLIENT SETINFO LIB-NAME`.
    pub(crate) lib_name: String,
    /// `CLIENT SETINFO LIB-VER`.
    pub(crate) lib_ver: String,
    /// Channels, patterns and shard channels subscribed to (`sub`, `psub`, `ssub`).
    pub(crate) subscriptions: [usize; 3],
    /// Inside `MULTI`: the commands queued so far (`multi`; -1 outside).
    pub(crate) multi: Option<usize>,
}

/// One connected client, as others see it.
#[derive(Debug)]
pub(crate) struct ClientHandle {
    /// Client id.
    pub(crate) id: u64,
    /// The client's address.
    pub(crate) addr: SocketAddr,
    /// The proxy's address it connected to.
    pub(crate) laddr: SocketAddr,
    created: Instant,
    /// What the listing shows.
    pub(crate) view: Mutex<ClientView>,
    /// Set by `CLIENT KILL`: the session ends.
    pub(crate) kill: Notify,
    /// True while the client waits in a blocking command.
    pub(crate) blocked: AtomicBool,
    /// Set by `CLIENT UNBLOCK`: 0 none, 1 timeout, 2 error.
    unblock: AtomicU8,
    /// Wakes the blocked wait after `CLIENT UNBLOCK`.
    pub(crate) unblocked: Notify,
}

impl ClientHandle {
    /// The `CLIENT LIST` / `CLIENT INFO` line (Redis 7.2's fields; buffers not tracked: 0).
    /// `flags` as Redis orders them: `P` subscribed, `x` inside `MULTI`, `b` blocked, else
    /// `N`.
    pub(crate) fn info_line(&self) -> String {
        let view = self.view.lock().clone();
        let now = Instant::now();
        let idle = view
            .last_active
            .map_or(0, |t| now.duration_since(t).as_secs());
        let mut flags = String::new();
        if view.subscriptions.iter().any(|&n| n > 0) {
            flags.push('P');
        }
        if view.multi.is_some() {
            flags.push('x');
        }
        if self.blocked.load(Ordering::Relaxed) {
            flags.push('b');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let [sub, psub, ssub] = view.subscriptions;
        let multi = view.multi.map_or(-1, |n| n as i64);
        format!(
            "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={flags} db={} sub={sub} \
             psub={psub} ssub={ssub} multi={multi} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 \
             rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} \
             lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            view.name,
            now.duration_since(self.created).as_secs(),
            idle,
            view.db,
            view.last_command
                .map_or("NULL".to_string(), |c| c.to_string()),
            view.resp,
            view.lib_name,
            view.lib_ver,
        )
    }

    /// Asks the client's blocked wait to end; false when it is not blocked.
    pub(crate) fn unblock(&self, how: Unblock) -> bool {
        if !self.blocked.load(Ordering::SeqCst) {
            return false;
        }
        let code = match how {
            Unblock::Timeout => 1,
            Unblock::Error => 2,
        };
        self.unblock.store(code, Ordering::SeqCst);
        self.unblocked.notify_one();
        true
    }

    /// How `CLIENT UNBLOCK` asked the wait to end, taken once.
    pub(crate) fn take_unblock(&self) -> Option<Unblock> {
        match self.unblock.swap(0, Ordering::SeqCst) {
            1 => Some(Unblock::Timeout),
            2 => Some(Unblock::Error),
            _ => None,
        }
    }
}

/// Every connected client, by id.
#[derive(Debug, Default)]
pub(crate) struct ClientRegistry {
    clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
}

impl ClientRegistry {
    /// Registers client `id`; remove it with [`ClientRegistry::remove`] when it ends.
    pub(crate) fn add(&self, id: u64, addr: SocketAddr, laddr: SocketAddr) -> Arc<ClientHandle> {
        let handle = Arc::new(ClientHandle {
            id,
            addr,
            laddr,
            created: Instant::now(),
            view: Mutex::new(ClientView {
                resp: 2,
                ..ClientView::default()
            }),
            kill: Notify::new(),
            blocked: AtomicBool::new(false),
            unblock: AtomicU8::new(0),
            unblocked: Notify::new(),
        });
        self.clients.lock().insert(id, handle.clone());
        handle
    }

    /// Forgets client `id`.
    pub(crate) fn remove(&self, id: u64) {
        self.clients.lock().remove(&id);
    }

    /// Client `id`, if connected.
    pub(crate) fn get(&self, id: u64) -> Option<Arc<ClientHandle>> {
        self.clients.lock().get(&id).cloned()
    }

    /// Every client, by id.
    pub(crate) fn all(&self) -> Vec<Arc<ClientHandle>> {
        self.clients.lock().values().cloned().collect()
    }
}
